"""clothgan.generation and `clothgan generate`: layout, manifest, determinism, atomicity, errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothgan.config import CLASSES
from clothgan.errors import ClothganError
from helpers import LATENT, make_tiny_run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("run"))


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {str(p.relative_to(folder)): np.asarray(Image.open(p))
            for p in sorted(folder.glob("*/*.png"))}


def test_writes_image_folder_and_manifest(tiny_run, tmp_path):
    from clothgan import generate
    from clothgan.core.files import sha256_file
    from clothgan.labelled import MANIFEST_COLUMNS, read_manifest

    res = generate(tiny_run, per_class=3, out_dir=tmp_path / "out", seed=5,
                   classes=["pants", "t-shirt"], progress=False)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "dataset.json", "manifest.csv",
                                                     "metadata.jsonl", "pants", "t-shirt"]
    with open(out / "manifest.csv", newline="") as f:
        assert next(csv.reader(f)) == list(MANIFEST_COLUMNS)   # as `compose` writes
    rows = read_manifest(out)
    assert len(rows) == 6 and res.total == 6 and {r["method"] for r in rows} == {"gan"}
    digest = sha256_file(tiny_run / "generator.keras")
    for r in rows:
        img = Image.open(out / r["file"])
        assert img.size == (28, 28) and img.mode == "L"
        assert r["file"].startswith(r["class"] + "/")
        assert CLASSES[r["label"]] == r["class"] and r["seed"] == 5
        assert r["checkpoint_sha256"] == digest
    assert sorted((r["class"], r["index"]) for r in rows) == [
        ("pants", 0), ("pants", 1), ("pants", 2), ("t-shirt", 0), ("t-shirt", 1), ("t-shirt", 2)]
    info = json.loads((out / "dataset.json").read_text())
    assert info["classes"] == ["pants", "t-shirt"] and info["precision"] in ("float32", "mixed_bfloat16")


def test_deterministic_and_prefix_stable(tiny_run, tmp_path):
    """Same seed -> same files; sample i of a class does not depend on batch size, count or other classes."""
    from clothgan.sampling.sampler import Sampler
    from clothgan.sampling.write import generate

    sampler = Sampler.load(tiny_run, precision="float32")
    a = _pixels(generate(None, 5, tmp_path / "a", seed=3, sampler=sampler, progress=False).out_dir)
    b = _pixels(generate(None, 12, tmp_path / "b", seed=3, sampler=sampler, batch_size=7,
                         classes=["hat", "dress", "skirt"], progress=False).out_dir)
    c = _pixels(generate(None, 5, tmp_path / "c", seed=4, sampler=sampler, progress=False).out_dir)
    assert len(a) == 50 and len(b) == 36
    for name in ("hat/s3_000004.png", "dress/s3_000000.png", "skirt/s3_000002.png"):
        np.testing.assert_array_equal(a[name], b[name])
    a2 = _pixels(generate(None, 5, tmp_path / "a2", seed=3, sampler=sampler, progress=False).out_dir)
    assert all(np.array_equal(a[k], a2[k]) for k in a)
    # Another seed gives other images, and images within a class differ from each other.
    assert not np.array_equal(a["hat/s3_000000.png"], c["hat/s4_000000.png"])
    assert not np.array_equal(a["hat/s3_000000.png"], a["hat/s3_000001.png"])
    # The notebook helper returns exactly the images written to disk.
    from clothgan.core.pixels import to_uint8
    grid = to_uint8(sampler.class_grid(5, seed=3, classes=["hat"]))
    np.testing.assert_array_equal(grid[0, 4, :, :, 0], a["hat/s3_000004.png"])


def test_interrupted_run_leaves_nothing(tiny_run, tmp_path, monkeypatch):
    import clothgan.sampling.write as g

    sampler = g.Sampler.load(tiny_run, precision="float32")
    calls = {"n": 0}
    real = g._write_pngs

    def flaky(paths, pixels):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(paths, pixels)

    monkeypatch.setattr(g, "_write_pngs", flaky)
    with pytest.raises(KeyboardInterrupt):
        g.generate(None, 20, tmp_path / "out", sampler=sampler, batch_size=16, progress=False)
    assert calls["n"] >= 3
    assert list(tmp_path.iterdir()) == []          # no dataset and no temporary folder

    # An existing dataset survives a failed overwrite untouched.
    monkeypatch.setattr(g, "_write_pngs", real)
    g.generate(None, 2, tmp_path / "out", sampler=sampler, progress=False)
    before = _pixels(tmp_path / "out")
    calls["n"] = 0
    monkeypatch.setattr(g, "_write_pngs", flaky)
    with pytest.raises(KeyboardInterrupt):
        g.generate(None, 20, tmp_path / "out", sampler=sampler, batch_size=16, overwrite=True,
                   seed=9, progress=False)
    assert _pixels(tmp_path / "out").keys() == before.keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_partial_of_dead_process_is_removed(tiny_run, tmp_path):
    from clothgan.sampling.sampler import Sampler
    from clothgan.sampling.write import generate

    stale = tmp_path / ".out.partial-999999999-abcdef12"
    (stale / "hat").mkdir(parents=True)
    (stale / ".clothgan-staging").write_text('{"pid": 999999999, "out": "out"}')   # clothgan's mark
    unmarked = tmp_path / ".out.partial-999999998-abcdef12"   # same name pattern, but not ours
    (unmarked / "hat").mkdir(parents=True)
    generate(None, 1, tmp_path / "out", sampler=Sampler.load(tiny_run, "float32"), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [unmarked.name, "out"]


def test_rgb_and_other_size(tmp_path):
    from clothgan.sampling.write import generate

    run = make_tiny_run(tmp_path / "run32", size=32, channels=3)
    generate(run, 2, tmp_path / "out", classes=["shoes"], progress=False)
    img = Image.open(tmp_path / "out" / "shoes" / "s0_000000.png")
    assert img.size == (32, 32) and img.mode == "RGB"


def test_bf16_close_to_float32(tiny_run):
    from clothgan.core.hardware import cpu_has_bf16
    from clothgan.core.pixels import to_uint8
    from clothgan.sampling.sampler import Sampler

    if not cpu_has_bf16():
        pytest.skip("CPU without native bf16")
    fp32, bf16 = Sampler.load(tiny_run, "float32"), Sampler.load(tiny_run, "mixed_bfloat16")
    assert bf16.precision == "mixed_bfloat16"
    a, b = to_uint8(fp32.class_grid(8)).astype(int), to_uint8(bf16.class_grid(8)).astype(int)
    assert np.abs(a - b).max() <= 3


def test_model_saved_in_bf16_samples_in_requested_precision(tmp_path):
    """A generator trained with mixed precision is rebuilt in float32 when float32 is asked for."""
    from clothgan.sampling.sampler import model_precision, Sampler

    run = make_tiny_run(tmp_path / "run", dtype="mixed_bfloat16")
    s = Sampler.load(run, "float32")
    assert model_precision(s.model) == "mixed_bfloat16" and s.precision == "float32"
    out = s.class_grid(2)
    assert out.dtype == np.float32 and out.shape == (10, 2, 28, 28, 1)
    assert np.abs(out - Sampler.load(run, "mixed_bfloat16").class_grid(2)).max() < 0.05


def test_notebook_helpers_shapes(tiny_run):
    from clothgan.sampling.sampler import interpolate_noise, Sampler

    s = Sampler.load(tiny_run, "float32")
    assert s.labels_of("hat, pants") == s.labels_of(["hat", "pants"]) == [1, 4]
    same = s.same_noise(3, classes=["hat", "pants"])
    assert same.shape == (3, 2, 28, 28, 1)
    assert not np.array_equal(same[0, 0], same[0, 1])      # label matters
    strip = s.interpolate("skirt", steps=5, rows=2)
    assert strip.shape == (2, 5, 28, 28, 1)
    np.testing.assert_allclose(strip[0, 0], s.class_samples("skirt", 1)[0], atol=1e-5)
    a, b = np.ones(LATENT, np.float32), -np.ones(LATENT, np.float32) * 2
    path = interpolate_noise(a, np.roll(b, 1), np.linspace(0, 1, 4))
    np.testing.assert_allclose(path[0], a, atol=1e-5)


def test_cli_generate_and_errors(tiny_run, tmp_path, capsys):
    from clothgan.cli import main

    out = tmp_path / "syn"
    assert main(["generate", "--run", str(tiny_run), "--per-class", "2", "--out", str(out),
                 "--classes", "hat,shoes", "--seed", "1"]) == 0
    with open(out / "manifest.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 4
    capsys.readouterr()
    assert main(["generate", "--run", str(tiny_run), "--per-class", "2", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["generate", "--run", str(tiny_run), "--per-class", "1", "--out", str(out),
                 "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(CLASSES)
    assert main(["generate", "--run", str(tiny_run), "--per-class", "1", "--out",
                 str(tmp_path / "x"), "--classes", "hat,socks"]) == 2
    err = capsys.readouterr().err
    assert "socks" in err and "t-shirt" in err and not (tmp_path / "x").exists()
    assert main(["generate", "--run", str(tmp_path / "nope"), "--per-class", "1", "--out",
                 str(tmp_path / "y")]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["generate", "--run", str(tiny_run), "--per-class", "0", "--out",
                 str(tmp_path / "z")]) == 2


def test_truncation_scales_the_noise_and_is_checked(tiny_run, tmp_path, capsys):
    from dataclasses import replace

    from clothgan.cli import main
    from clothgan.sampling.sampler import Sampler
    from clothgan.runs import read_run_info, write_run_info

    plain = Sampler.load(tiny_run, "float32")
    assert plain.truncation == 1.0                       # run.json without a chosen scale
    half = plain.with_truncation(0.5)
    z = np.random.default_rng(3).standard_normal((6, LATENT), dtype=np.float32)
    y = np.arange(6, dtype=np.int32)
    np.testing.assert_allclose(half.images(z, y), plain.images(0.5 * z, y), atol=1e-6)
    assert plain.truncation == 1.0                       # with_truncation left the original alone

    # A run's own scale is the default; an explicit one overrides it.
    run = tmp_path / "tuned"
    import shutil

    shutil.copytree(tiny_run, run)
    write_run_info(run, replace(read_run_info(run), truncation=0.5))
    assert Sampler.load(run, "float32").truncation == 0.5
    assert Sampler.load(run, "float32", truncation=0.9).truncation == 0.9
    np.testing.assert_allclose(Sampler.load(run, "float32").images(z, y), half.images(z, y), atol=1e-6)

    for bad, why in (("0", "must be in (0, 4]"), ("-1", "must be in (0, 4]"),
                     ("nan", "must be a finite number"), ("1e39", "must be in (0, 4]")):
        assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                     str(tmp_path / f"bad{bad}"), "--truncation", bad]) == 2
        assert f"--truncation: {why}" in capsys.readouterr().err
        assert not (tmp_path / f"bad{bad}").exists()


def test_api_errors(tiny_run, tmp_path):
    from clothgan.sampling.write import generate

    (tmp_path / "file").write_text("x")
    with pytest.raises(ClothganError, match="is a file"):
        generate(tiny_run, 1, tmp_path / "file", progress=False)
    with pytest.raises(ClothganError, match="run.json"):
        generate(tmp_path, 1, tmp_path / "o", progress=False)


def test_explorer_widget_has_static_fallback(tiny_run):
    """Front ends with widgets get the live view; others the PNG of the starting settings."""
    from clothgan.sampling.sampler import Sampler
    from clothgan.course.widgets import generator_explorer

    e = generator_explorer(Sampler.load(tiny_run, "float32"), cls="pants", seed=1, count=3)
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    import base64
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG")
    before = bytes(e.image.value)
    e.cls.value = "skirt"
    assert bytes(e.image.value) != before and bytes(e.image.value).startswith(b"\x89PNG")
    assert base64.b64decode(e._repr_mimebundle_()["image/png"]) == png    # fallback stays the start view
