"""Writing datasets: files read back agree, any worker count gives the same bytes, all-or-nothing."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from clothgan.cutpaste.synthetic import garment_folder
from clothgan.cli import main
from clothgan.config import CLASSES
from clothgan.cutpaste import dataset as ds
from clothgan.cutpaste.annotations import read_coco, read_scene, read_yolo, segmentation_to_mask
from clothgan.cutpaste.config import ComposeConfig
from clothgan.cutpaste.dataset import compose
from clothgan.errors import ClothganError
from clothgan.labelled import MANIFEST_COLUMNS


@pytest.fixture(scope="module")
def _photos_and_home(tmp_path_factory) -> tuple[Path, Path]:
    return garment_folder(tmp_path_factory.mktemp("photos"), per_class=2), tmp_path_factory.mktemp("home")


@pytest.fixture
def photos(_photos_and_home, monkeypatch) -> Path:
    """The test photos, with one mask cache for this module: each test need not re-extract."""
    folder, home = _photos_and_home
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    return folder


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_written_annotations_agree_across_formats(photos, tmp_path):
    cfg = ComposeConfig(size=160, objects=(1, 3), segmentation="rle")
    res = compose(tmp_path / "out", 12, cfg, dataset=str(photos), per_class=2, split=None,
                  workers=1, progress=False)
    out = res.out
    coco = read_coco(out / "annotations.json")
    assert [c["name"] for c in coco["categories"]] == list(CLASSES)
    scene = read_scene(out, 1, coco)
    assert scene.image.shape == (160, 160, 3) and len(scene.masks) == len(scene.yolo) >= 1
    assert all(np.array_equal(a, b) for a, b in zip(scene.masks, scene.mask_files))
    assert len(coco["images"]) == 12 and len(coco["annotations"]) == res.instances >= 12
    assert (out / "data.yaml").read_text().count("\n  ") == 10
    for im in coco["images"]:
        img = cv2.imread(str(out / "images" / im["file_name"]))
        h, w = img.shape[:2]
        assert (w, h) == (im["width"], im["height"]) == (160, 160)
        anns = coco["per_image"][im["file_name"]]
        yolo = read_yolo(out / "labels" / (Path(im["file_name"]).stem + ".txt"), w, h)
        assert len(yolo) == len(anns) >= 1
        for a, (cls, ybox) in zip(anns, yolo):
            mask = cv2.imread(str(out / a["mask_file"]), cv2.IMREAD_UNCHANGED) > 0
            rle = segmentation_to_mask(a["segmentation"], h, w)
            assert np.array_equal(mask, rle) and a["area"] == int(mask.sum())
            x, y, bw, bh = a["bbox"]
            ys, xs = np.nonzero(mask)
            # Tight: the mask touches all four sides of its box; inside the image.
            assert (x, y, x + bw - 1, y + bh - 1) == (xs.min(), ys.min(), xs.max(), ys.max())
            assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
            assert cls == a["category_id"] - 1 and np.allclose(ybox, a["bbox"], atol=1e-3)


def test_polygon_segmentation_matches_the_masks(photos, tmp_path):
    cfg = ComposeConfig(size=128, objects=(1, 2), segmentation="polygon", image_format="png")
    res = compose(tmp_path / "poly", 4, cfg, dataset=str(photos), per_class=2, split=None,
                  workers=1, progress=False)
    coco = read_coco(res.out / "annotations.json")
    assert all(p.suffix == ".png" for p in (res.out / "images").iterdir())
    gray = compose(tmp_path / "gray", 2, cfg.replace(channels=1), dataset=str(photos),
                   per_class=2, split=None, workers=1, progress=False)
    assert cv2.imread(str(gray.out / "images" / "000000.png"), cv2.IMREAD_UNCHANGED).ndim == 2
    for a in coco["annotations"]:
        mask = cv2.imread(str(res.out / a["mask_file"]), cv2.IMREAD_UNCHANGED) > 0
        poly = segmentation_to_mask(a["segmentation"], 128, 128)
        inter, union = (mask & poly).sum(), (mask | poly).sum()
        assert isinstance(a["segmentation"], list) and inter / union > 0.8


def test_same_seed_same_bytes_for_any_number_of_workers(photos, tmp_path):
    cfg = ComposeConfig(size=96, objects=(1, 3))
    one = compose(tmp_path / "w1", 10, cfg, dataset=str(photos), per_class=2, split=None,
                  seed=7, workers=1, progress=False)
    two = compose(tmp_path / "w2", 10, cfg, dataset=str(photos), per_class=2, split=None,
                  seed=7, workers=2, progress=False)
    a, b = _digest(one.out), _digest(two.out)
    assert len(a) > 25 and a == b
    other = compose(tmp_path / "s8", 10, cfg, dataset=str(photos), per_class=2, split=None,
                    seed=8, workers=1, progress=False)
    assert _digest(other.out)["images/000000.jpg"] != a["images/000000.jpg"]


def test_classification_mode_writes_the_image_folder_layout(photos, tmp_path):
    cfg = ComposeConfig.for_classification(size=28, channels=1)
    res = compose(tmp_path / "cls", 30, cfg, dataset=str(photos), per_class=2, split=None,
                  workers=1, progress=False)
    with open(res.out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(MANIFEST_COLUMNS) and len(rows) == 30   # as `generate` writes
    assert {r["method"] for r in rows} == {"cutpaste"} and all(r["source"] for r in rows)
    for r in rows:
        img = cv2.imread(str(res.out / r["file"]), cv2.IMREAD_UNCHANGED)
        assert img.shape == (28, 28) and r["file"].startswith(r["class"] + "/")
        assert CLASSES[int(r["label"])] == r["class"]
    present = {r["class"] for r in rows}
    assert {n for n in res.per_class.values() if n} == {30 // len(present)}   # balanced
    meta = json.loads((res.out / "dataset.json").read_text())
    assert meta["config"]["mode"] == "classification" and meta["seed"] == 0
    # What `clothgan evaluate` reads to pick the real data: the photos the garments came from.
    assert meta["run_config"]["data"]["dataset"] == str(photos.resolve())


def test_an_interrupted_run_leaves_nothing(photos, tmp_path, monkeypatch):
    real = ds.compose_scene
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ds, "compose_scene", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compose(tmp_path / "out", 10, ComposeConfig(size=64), dataset=str(photos),
                per_class=2, split=None, workers=1, progress=False)
    assert len(calls) == 4 and os.listdir(tmp_path) == []


def test_existing_output_needs_overwrite_and_is_replaced_whole(photos, tmp_path):
    out = tmp_path / "out"
    cfg = ComposeConfig(size=64)
    compose(out, 2, cfg, dataset=str(photos), per_class=2, split=None, workers=1,
            progress=False)
    (out / "old.txt").write_text("keep me unless told")
    with pytest.raises(ClothganError, match="overwrite"):
        compose(out, 2, cfg, dataset=str(photos), per_class=2, split=None, workers=1,
                progress=False)
    assert (out / "old.txt").exists()
    compose(out, 2, cfg, dataset=str(photos), per_class=2, split=None, workers=1,
            progress=False, overwrite=True)
    assert not (out / "old.txt").exists() and (out / "annotations.json").is_file()
    assert sorted(os.listdir(tmp_path)) == ["out"]       # no temporary or old folder left
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("not a clothgan output")
    with pytest.raises(ClothganError, match="not written by this command"):
        compose(foreign, 2, cfg, dataset=str(photos), per_class=2, split=None, workers=1,
                progress=False, overwrite=True)
    assert (foreign / "mine.txt").exists()


def test_cli_compose(photos, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["compose", "--count", "3", "--out", str(out), "--dataset", str(photos),
               "--split", "all", "--per-class", "2", "--size", "96", "--objects", "2",
               "--blend", "hard", "--workers", "1", "--seed", "3", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0 and summary["images"] == 3 and summary["instances"] >= 3
    assert len(list((out / "images").iterdir())) == 3
    rc = main(["compose", "--count", "3", "--out", str(out), "--dataset", str(photos)])
    assert rc == 2 and "overwrite" in capsys.readouterr().err
    rc = main(["compose", "--count", "2", "--out", str(tmp_path / "x"), "--dataset", str(photos),
               "--backgrounds", str(tmp_path / "missing")])
    assert rc == 2 and "backgrounds folder does not exist" in capsys.readouterr().err
    assert main(["compose", "--count", "2", "--out", str(tmp_path / "y"), "--objects", "3-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "need 1 <= LOW <= HIGH" in err


def test_composing_never_imports_tensorflow(photos, tmp_path):
    code = ("import sys\n"
            "from clothgan.cli import main\n"
            f"rc = main(['compose', '--count', '2', '--out', {str(tmp_path / 'o')!r}, '--dataset',"
            f" {str(photos)!r}, '--split', 'all', '--per-class', '1', '--size', '64', '--json',"
            " '--workers', '1'])\n"
            "assert rc == 0 and 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    env = dict(os.environ, CLOTHGAN_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
