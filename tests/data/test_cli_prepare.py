"""`clothgan prepare`: the summary, --json, and one-line errors with a non-zero exit."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from clothgan.cli import main
from clothgan.config import CLASSES, DataConfig
from clothgan.data import scan


def run_cli(capsys, *args):
    code = main(["prepare", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_summary(tiny_folder, capsys):
    (tiny_folder / "hat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nothing else")
    (tiny_folder / "hat" / "notes.txt").write_text("stray")
    code, out, err = run_cli(capsys, "--dataset", str(tiny_folder), "--json")
    assert code == 0
    report = json.loads(out)                      # exactly one JSON object on stdout
    assert report["images"] == 60
    assert sum(report["counts"][s].get("hat", 0) for s in report["counts"]) == 6
    assert [s["reason"] for s in report["skipped"]] == ["corrupt or truncated"]
    assert report["skipped"][0]["path"].endswith("broken.jpg")
    assert report["skipped_by_reason"] == {"corrupt or truncated": 1}
    assert os.path.isfile(report["cache_path"]) and report["from_cache"] is False
    assert report["config"]["image_size"] == 28
    again = json.loads(run_cli(capsys, "--dataset", str(tiny_folder), "--json")[1])
    assert again["from_cache"] is True and again["cache_path"] == report["cache_path"]


def test_human_summary_and_options(tiny_folder, capsys):
    code, out, _ = run_cli(capsys, "--dataset", str(tiny_folder), "--image-size", "32",
                           "--channels", "3")
    assert code == 0
    assert "60 images, 32x32x3" in out
    for c in CLASSES:
        assert any(line.startswith(c) and line.split()[-1] == "6" for line in out.splitlines()), c
    assert "skipped 0 files" in out and "cache: " in out


@pytest.mark.parametrize("args,message", [
    (["--dataset", "/no/such/folder"], "no such file or folder"),
    (["--image-size", "4"], "image_size must be >= 8"),
    (["--workers", "0"], "--workers: must be >= 1"),
])
def test_unusable_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("clothgan prepare: error: ") and message in err


def test_empty_source_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "hat").mkdir()
    code, _, err = run_cli(capsys, "--dataset", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "class folder 'hat' has no images" in err


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "clothgan")
    proc = subprocess.run([exe, "prepare", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--image-size" in proc.stdout and "--json" in proc.stdout


@pytest.mark.real_data
def test_real_dataset_summary(real_data_dir, monkeypatch, shared_home, capsys):
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("CLOTHGAN_HOME", str(shared_home))
    code, out, _ = run_cli(capsys, "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report["counts"]) == {"train", "val", "test"}
    assert report["excluded_labels"]["Not sure"] > 0
    assert report["missing_files"] > 0 and report["unlisted_files"] > 0
    # Every usable record is loaded or listed as skipped: nothing silently lost.
    assert report["images"] + len(report["skipped"]) == len(scan(DataConfig()).records)
