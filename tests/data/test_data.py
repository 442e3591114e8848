from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from clothgan.config import CLASSES, DataConfig
from clothgan.data import scan
from clothgan.data.inventory import assign_split, normalize_label
from clothgan.data import load_split

# Sources built here hold a few of the ten classes; the warning is checked where it matters.
pytestmark = pytest.mark.filterwarnings("ignore:.*no images of class")


@pytest.mark.parametrize("raw,expected", [("T-Shirt", "t-shirt"), ("Longsleeve", "longsleeve"),
                                          ("  Long Sleeve ", "longsleeve"), ("Not sure", "not sure")])
def test_normalize_label(raw, expected):
    assert normalize_label(raw) == expected


def test_split_is_deterministic_and_proportional():
    cfg = DataConfig()
    keys = [f"id{i}" for i in range(5000)]
    a = [assign_split(k, cfg) for k in keys]
    assert a == [assign_split(k, cfg) for k in keys]
    c = Counter(a)
    assert abs(c["test"] / 5000 - cfg.test_fraction) < 0.02
    assert abs(c["val"] / 5000 - cfg.val_fraction) < 0.02
    assert [assign_split(k, cfg.replace(split_seed=1)) for k in keys] != a


def test_folder_source_loads_all_classes(tiny_folder):
    cfg = DataConfig(dataset=str(tiny_folder))
    inv = scan(cfg)
    assert inv.counts() == {c: 6 for c in sorted(CLASSES)}
    arr = load_split(cfg, None)
    assert arr.x.shape == (60, 28, 28, 1) and arr.x.dtype == np.float32
    assert -1.0 <= arr.x.min() and arr.x.max() <= 1.0
    assert sorted(set(arr.y.tolist())) == list(range(10))


@pytest.mark.real_data
def test_real_dataset_inventory(real_data_dir, monkeypatch):
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    inv = scan(DataConfig())
    counts = inv.counts()
    assert set(counts) == set(CLASSES)
    assert counts["t-shirt"] > counts["skirt"]  # the known class imbalance
    assert inv.excluded_labels["Not sure"] > 0 and "Polo" in inv.excluded_labels


# ----------------------------------------------------------------------------- sources built here

import csv  # noqa: E402

from clothgan.errors import DataError  # noqa: E402
from clothgan.data import build_arrays  # noqa: E402

from helpers import write_image  # noqa: E402


def _csv_source(root, rows, files, header=("image", "sender_id", "label", "kids")):
    for f in files:
        write_image(root / "images" / f"{f}.jpg")
    with open(root / "images.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return root


def test_csv_source_normalises_excludes_and_reports(tmp_path):
    rows = [("a", 1, "T-Shirt", "False"), ("b", 1, "Long Sleeve", "False"),
            ("c", 2, "Polo", "False"), ("d", 2, "Not sure", "False"), ("e", 3, "dress", "True"),
            ("f", 3, "Hat", "False"), ("gone", 4, "Shoes", "False"), ("a", 1, "T-Shirt", "False")]
    root = _csv_source(tmp_path / "ds", rows, ["a", "b", "c", "d", "e", "f", "stray"])
    (root / "images" / ".DS_Store").write_bytes(b"\0")
    (root / "images" / "notes.txt").write_text("not an image")
    inv = scan(DataConfig(dataset=str(root)))
    assert inv.kind == "csv" and not inv.own_split
    assert inv.counts() == {"dress": 1, "hat": 1, "longsleeve": 1, "t-shirt": 1}
    assert inv.excluded_labels == {"Polo": 1, "Not sure": 1}
    assert inv.missing_files == ["gone"]
    assert inv.unlisted_files == [str(root / "images" / "stray.jpg")]
    assert inv.duplicate_rows == 1
    no_kids = scan(DataConfig(dataset=str(root), include_kids=False))
    assert no_kids.kids_excluded == 1 and "dress" not in no_kids.counts()
    assert all(Path(r.path).is_absolute() and Path(r.path).is_file() for r in inv.records)


def test_user_csv_with_relative_paths_and_own_split(tmp_path):
    for c in ("hat", "skirt"):
        for i in range(3):
            write_image(tmp_path / "photos" / c / f"{i}.png")
    rows = [("image", "label", "split")] + [
        (f"photos/{c}/{i}.png", c.upper(), ["train", "validation", "test"][i])
        for c in ("hat", "skirt") for i in range(3)]
    with open(tmp_path / "mine.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    inv = scan(DataConfig(dataset=str(tmp_path / "mine.csv")))
    assert inv.own_split
    assert inv.split_counts() == {s: {"hat": 1, "skirt": 1} for s in ("train", "val", "test")}
    assert {Path(r.path).name for r in inv.select("val")} == {"1.png"}
    rows[1] = ("photos/hat/0.png", "hat", "holdout")
    with open(tmp_path / "bad.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(DataError, match="bad.csv, line 2: unknown split 'holdout'"):
        scan(DataConfig(dataset=str(tmp_path / "bad.csv")))


def test_csv_without_label_column_is_a_clear_error(tmp_path):
    (tmp_path / "x.csv").write_text("file,class\na.jpg,hat\n")
    with pytest.raises(DataError, match="x.csv: needs columns 'image' and 'label'"):
        scan(DataConfig(dataset=str(tmp_path / "x.csv")))


def test_split_folders_are_honoured(tmp_path):
    for split in ("train", "validation", "test"):
        for c in ("dress", "t-shirt"):
            for i in range(2):
                write_image(tmp_path / split / c / f"{split}{i}.jpg")
    write_image(tmp_path / "train" / "Polo" / "p.jpg")
    write_image(tmp_path / "dress" / "where.jpg")            # beside the split folders
    with pytest.warns(UserWarning, match="no images of class.*hat, longsleeve"):
        inv = scan(DataConfig(dataset=str(tmp_path)))
    assert inv.own_split
    assert inv.split_counts() == {s: {"dress": 2, "t-shirt": 2} for s in ("train", "val", "test")}
    assert all(Path(r.path).name.startswith(r.split if r.split != "val" else "validation")
               for r in inv.records)
    assert inv.excluded_labels == {"Polo": 1}
    assert inv.unlisted_files == [str(tmp_path / "dress" / "where.jpg")]


def test_label_folders_ignore_stray_files_and_report_loose_images(tiny_folder):
    (tiny_folder / "hat" / ".DS_Store").write_bytes(b"\0\1")
    (tiny_folder / "hat" / "notes.txt").write_text("hello")
    (tiny_folder / "hat" / "._hat_0.png").write_bytes(b"\0")       # macOS resource fork
    write_image(tiny_folder / "loose.jpg")
    write_image(tiny_folder / "Polo" / "p.jpg")
    write_image(tiny_folder / "T-Shirt" / "odd name é #1.png")      # merged into t-shirt
    inv = scan(DataConfig(dataset=str(tiny_folder)))
    counts = inv.counts()
    assert counts["hat"] == 6 and counts["t-shirt"] == 7
    assert inv.unlisted_files == [str(tiny_folder / "loose.jpg")]
    assert inv.excluded_labels == {"Polo": 1}
    assert not inv.own_split and set(r.split for r in inv.records) <= {"train", "val", "test"}
    assert inv.records == scan(DataConfig(dataset=str(tiny_folder))).records   # deterministic


def test_empty_class_folder_and_no_images_are_clear_errors(tiny_folder, tmp_path):
    (tiny_folder / "skirt" / "notes.txt").write_text("x")
    for p in (tiny_folder / "skirt").glob("*.png"):
        p.unlink()
    with pytest.raises(DataError, match="class folder 'skirt' has no images"):
        scan(DataConfig(dataset=str(tiny_folder)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images of the classes"):
        scan(DataConfig(dataset=str(tmp_path / "empty")))
    write_image(tmp_path / "pets" / "cat" / "1.png")
    with pytest.raises(DataError, match=r"labels found: cat \(1\)"):
        scan(DataConfig(dataset=str(tmp_path / "pets")))
    with pytest.raises(DataError, match="no such file or folder"):
        scan(DataConfig(dataset=str(tmp_path / "nowhere")))


def test_same_photo_gets_the_same_split_from_csv_or_folder(tmp_path):
    ids = [f"img{i:03d}" for i in range(40)]
    _csv_source(tmp_path / "csv", [(i, 1, "Hat", "False") for i in ids], ids)
    for i in ids:
        write_image(tmp_path / "folder" / "hat" / f"{i}.jpg")
    split_of = lambda inv: {Path(r.path).stem: r.split for r in inv.records}  # noqa: E731
    a = split_of(scan(DataConfig(dataset=str(tmp_path / "csv"))))
    b = split_of(scan(DataConfig(dataset=str(tmp_path / "folder"))))
    assert a == b and len(set(a.values())) > 1


def test_subset_keeps_at_most_n_per_class_and_split(tiny_folder):
    inv = scan(DataConfig(dataset=str(tiny_folder)))
    sub = inv.subset(2, seed=1)
    assert all(n <= 2 for c in sub.split_counts().values() for n in c.values())
    assert set(sub.records) <= set(inv.records)
    assert sub.records == inv.subset(2, seed=1).records


# ----------------------------------------------------------------------------- the real dataset

@pytest.mark.real_data
def test_real_dataset_reports_missing_and_unlisted_files(real_data_dir, monkeypatch):
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    inv = scan(DataConfig())
    with open(real_data_dir / "images.csv", newline="") as fh:
        ids = {row["image"] for row in csv.DictReader(fh)}
    files = {p.stem for p in (real_data_dir / "images").glob("*.jpg")}
    assert sorted(inv.missing_files) == sorted(ids - files)
    assert sorted(Path(p).stem for p in inv.unlisted_files) == sorted(files - ids)
    no_kids = scan(DataConfig(include_kids=False))
    assert no_kids.kids_excluded > 0
    assert len(no_kids.records) + no_kids.kids_excluded == len(inv.records)
    splits = Counter(r.split for r in inv.records)
    assert 0.07 < splits["test"] / len(inv.records) < 0.13


@pytest.mark.real_data
def test_small_subset_layout_keeps_its_split(real_data_dir, small_split_csv, tmp_path):
    """The public small subset's <split>/<label>/<id>.jpg layout, built from symlinks."""
    with open(small_split_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    root = tmp_path / "clothing-dataset-small"
    for row in rows:
        link = root / row["split"] / row["label"] / f"{row['image']}.jpg"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(real_data_dir / "images" / f"{row['image']}.jpg")
    inv = scan(DataConfig(dataset=str(root)))
    assert inv.own_split and len(inv.records) == len(rows)
    want = {r["image"]: ("val" if r["split"] == "validation" else r["split"]) for r in rows}
    assert {Path(r.path).stem: r.split for r in inv.records} == want
    assert set(inv.counts()) == set(CLASSES)


@pytest.mark.real_data
def test_real_dataset_prepares_and_reloads_from_cache(real_data_dir, monkeypatch, shared_home):
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("CLOTHGAN_HOME", str(shared_home))
    cfg = DataConfig()
    inv = scan(cfg)
    first = build_arrays(cfg, inv, progress=False)
    assert first.x.shape == (len(inv.records) - len(first.skipped), 28, 28, 1)
    assert first.x.dtype == np.float32 and -1 <= first.x.min() and first.x.max() <= 1
    # Photos on light backgrounds: the padded border is white, the garment darker.
    assert first.x[:, 0, :, 0].mean() > first.x[:, 10:18, 10:18, 0].mean()
    again = build_arrays(cfg, scan(cfg), progress=False)
    assert again.from_cache and again.cache_path == first.cache_path
    np.testing.assert_array_equal(again.x, first.x)
    assert again.paths == first.paths
    val = load_split(cfg, "val")
    assert 0 < len(val.y) < len(first.y) // 5
