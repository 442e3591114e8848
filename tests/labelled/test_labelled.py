"""clothgan.labelled: the one format of a labelled dataset folder, written by every method and
read back the same, old folders included."""
from __future__ import annotations

import csv
import json

from clothgan.labelled import (MANIFEST_COLUMNS, image_file, is_labelled_dataset, manifest_row,
                               read_dataset_json, read_manifest, write_labelled_files)


def _write(folder, method, rows):
    write_labelled_files(folder, folder.name, method, rows, title="t", made_by="m",
                         provenance={"seed": 0}, image_size=28, channels=1, meta={"seed": 0})


def test_both_methods_write_the_same_columns_and_read_back(tmp_path):
    gan = [manifest_row(image_file("gan", "hat", 3, 0), "hat", 1, "gan", 3, 0, checkpoint_sha256="ab")]
    cut = [manifest_row(image_file("cutpaste", "hat", 3, 0), "hat", 1, "cutpaste", 3, 0,
                        source="p.jpg")]
    for method, rows in (("gan", gan), ("cutpaste", cut)):
        folder = tmp_path / method
        folder.mkdir()
        _write(folder, method, rows)
        with open(folder / "manifest.csv", newline="") as f:
            assert next(csv.reader(f)) == list(MANIFEST_COLUMNS)
        assert read_manifest(folder) == rows
        assert is_labelled_dataset(folder, method)
        assert not is_labelled_dataset(folder, "cutpaste" if method == "gan" else "gan")
        meta = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
        assert meta[0]["file_name"] == rows[0]["file"] and meta[0]["label"] == "hat"
        assert read_dataset_json(folder)["seed"] == 0
    assert gan[0]["file"] == "hat/s3_000000.png" and cut[0]["file"] == "hat/hat_000000.png"


def test_folders_written_before_the_shared_columns_still_read(tmp_path):
    (tmp_path / "manifest.csv").write_text(
        "file,class,label,seed,index,checkpoint_sha256\r\nhat/s0_000000.png,hat,1,0,0,ab\r\n")
    assert read_manifest(tmp_path) == [manifest_row("hat/s0_000000.png", "hat", 1, None, 0, 0,
                                                    checkpoint_sha256="ab")]
    (tmp_path / "manifest.csv").write_text(
        "file,class,label,seed,index,source\nhat/hat_000000.png,hat,1,0,0,p.jpg\n")
    assert read_manifest(tmp_path)[0]["source"] == "p.jpg"
    assert read_dataset_json(tmp_path) == {}
