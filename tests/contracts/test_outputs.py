"""Output folders, as a user meets them through the command line: one writer per output, a
staging area that removes only what clothgan made, a final swap that never deletes a file the
user put there meanwhile, a symlinked --out, and every OSError as one line with nothing
half-written left behind."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from clothgan.cutpaste.synthetic import garment_folder
from helpers import make_tiny_folder
from clothgan.cli import main

pytest.importorskip("keras")

from helpers import TINY_TRAIN, tree  # noqa: E402
from helpers import make_tiny_run  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("outputs_run") / "run")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Enough photos per class for training, evaluation and a study's three splits."""
    return make_tiny_folder(tmp_path_factory.mktemp("outputs_photos"), 30)


def one_line_error(capsys, command: str, *needles: str) -> str:
    """The one `clothgan COMMAND: error: ...` line on stderr (progress bars and one-line warnings
    may come before it), holding every needle, and no traceback."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"clothgan {command}: ")
             and not line.startswith(f"clothgan {command}: warning: ")]
    assert len(lines) == 1 and lines[0].startswith(f"clothgan {command}: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def generate(run: Path, out: Path, *extra: str, per_class: int = 1) -> int:
    return main(["generate", "--run", str(run), "--per-class", str(per_class), "--out", str(out),
                 *extra])


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# -- the staging sweep ------------------------------------------------------------------------

def test_the_sweep_removes_only_marked_staging_folders_of_the_same_output(tiny_run, tmp_path):
    dead = dead_pid()

    def folder(name: str, owner: dict | None = None) -> Path:
        d = tmp_path / name
        d.mkdir()
        (d / "work.txt").write_text("someone's files")
        if owner is not None:
            (d / ".clothgan-staging").write_text(json.dumps(owner))
        return d

    kept = [folder(".thesis.old-drafts"), folder(".photos.partial-2019"),
            folder(f".syn.partial-{dead}-0badc0de"),                              # no marker
            folder(f".syn.old-{dead}-0badc0de-2", {"pid": dead, "out": "syn"}),   # not our name
            folder(f".other.partial-{dead}-0badc0de", {"pid": dead, "out": "other"}),
            folder(f".syn.partial-{os.getppid()}-0badc0de", {"pid": os.getppid(), "out": "syn"})]
    swept = [folder(f".syn.partial-{dead}-12345678", {"pid": dead, "out": "syn"}),
             folder(f".syn.old-{dead}-9abcdef0", {"pid": dead, "out": "syn"})]
    before = {d.name: tree(d) for d in kept}
    assert generate(tiny_run, tmp_path / "syn") == 0
    assert {d.name: tree(d) for d in kept if d.is_dir()} == before
    assert not any(d.exists() for d in swept)


# -- the final swap ---------------------------------------------------------------------------

@pytest.mark.parametrize("overwrite", [False, True])
def test_files_that_appear_in_out_during_a_run_are_kept(tiny_run, tmp_path, capsys, monkeypatch,
                                                        overwrite):
    from clothgan.sampling import write

    out = tmp_path / "syn"
    if overwrite:
        assert generate(tiny_run, out) == 0          # an earlier output --overwrite may replace
    real_write = write.write_labelled_files

    def user_meanwhile(*args, **kwargs):             # while the images are written
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        (out / "thesis.txt").write_text("chapter 1")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(write, "write_labelled_files", user_meanwhile)
    assert generate(tiny_run, out, *(["--overwrite"] if overwrite else []), per_class=2) == 2
    one_line_error(capsys, "generate", f"{out}: ", "thesis.txt", f"{out}.new")
    assert tree(out) == {"thesis.txt": b"chapter 1"}
    kept = tmp_path / "syn.new"                      # the finished work is not lost either
    assert json.loads((kept / "dataset.json").read_text())["per_class"] == 2
    assert len(list((kept / "hat").iterdir())) == 2
    assert names(tmp_path) == ["syn", "syn.new"]    # no hidden staging, link or lock left


def test_overwrite_through_a_symlinked_out_replaces_the_folder_it_points_to(tiny_run, tmp_path,
                                                                            capsys):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link"
    link.symlink_to("real")
    assert generate(tiny_run, link) == 0
    assert generate(tiny_run, link, "--overwrite", per_class=2) == 0
    assert link.is_symlink() and os.readlink(link) == "real"
    assert names(tmp_path) == ["link", "real"]
    assert len(list((link / "hat").iterdir())) == 2
    (tmp_path / "gone").symlink_to("nowhere")
    assert generate(tiny_run, tmp_path / "gone") == 2
    one_line_error(capsys, "generate", "symbolic link to nowhere", "create that folder")
    assert names(tmp_path) == ["gone", "link", "real"]


# -- one writer per output --------------------------------------------------------------------

HOLD = ("import sys, time\n"
        "from clothgan.core.files import output_lock, set_command_line\n"
        "set_command_line(sys.argv[2:])\n"
        "lock = output_lock(sys.argv[1])\n"
        "lock.__enter__()\n"
        "print('held', flush=True)\n"
        "time.sleep(300)\n")


def test_one_writer_per_output_and_a_killed_writer_does_not_block(tiny_run, photos, tmp_path,
                                                                  capsys):
    """Each command refuses at once, naming the process that writes its --out (here a process
    holding the lock as each command does from its start); once that one is killed, it runs."""
    garments = garment_folder(tmp_path / "garments", per_class=1)
    commands = {
        "train": ["train", "--out", str(tmp_path / "run"), "--dataset", str(photos),
                  "--epochs", "1", "--preset", "seed", *TINY_TRAIN],
        "generate": ["generate", "--run", str(tiny_run), "--per-class", "1", "--out",
                     str(tmp_path / "syn")],
        "compose": ["compose", "--dataset", str(garments), "--split", "all", "--out",
                    str(tmp_path / "scenes"), "--count", "2", "--workers", "1"],
        "study": ["study", "--out", str(tmp_path / "study"), "--dataset", str(photos),
                  "--fractions", "0.5", "--methods", "noise", "--seeds", "1", "--steps", "5"],
    }
    for command, argv in commands.items():
        out = Path(argv[argv.index("--out") + 1])
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), "clothgan", command,
                                   "--out", str(out)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            t0 = time.perf_counter()
            assert main(argv) == 2
            one_line_error(capsys, command, "another clothgan run is writing there",
                           f"process {holder.pid}: clothgan {command} --out {out}")
            assert time.perf_counter() - t0 < 20 and not out.exists()   # before any work
        finally:
            holder.kill()
            holder.wait()
    assert main(commands["generate"]) == 0   # it takes over the killed one's lock file, then removes it
    assert names(tmp_path) == [".run.clothgan-lock", ".scenes.clothgan-lock",
                               ".study.clothgan-lock", "garments", "syn"]


# -- a full disk ------------------------------------------------------------------------------

@pytest.mark.parametrize("overwrite", [False, True])
def test_a_full_disk_during_generate_is_one_line_and_changes_nothing(tiny_run, tmp_path, capsys,
                                                                     monkeypatch, overwrite):
    out = tmp_path / "syn"
    if overwrite:
        assert generate(tiny_run, out) == 0
    before = tree(tmp_path)
    monkeypatch.setattr(os, "write", no_space)       # the image files
    code = generate(tiny_run, out, *(["--overwrite"] if overwrite else []), per_class=2)
    monkeypatch.undo()
    assert code == 2
    one_line_error(capsys, "generate", str(out), "No space left on device", "free some space")
    assert tree(tmp_path) == before and names(tmp_path) == (["syn"] if overwrite else [])


def fills_at(size: int):
    """os.fsync on a disk that is full once a file reaches `size` bytes (clothgan fsyncs every
    file it renames into place)."""
    real = os.fsync

    def fsync(fd):
        if os.fstat(fd).st_size >= size:
            no_space()
        return real(fd)
    return fsync


def test_a_full_disk_during_train_is_one_line_and_leaves_no_checkpoint(photos, tmp_path, capsys,
                                                                       monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setattr(os, "fsync", fills_at(50_000))
    assert main(["train", "--out", str(out), "--dataset", str(photos), "--epochs", "1",
                 "--max-images", "40", "--preset", "seed", *TINY_TRAIN]) == 2
    one_line_error(capsys, "train", f"{out}/", "No space left on device", "free some space")
    assert not (out / "checkpoint.npz").exists()          # no epoch looks finished
    assert json.loads((out / "run.json").read_text())["epochs_done"] == 0
    assert not [p for p in out.rglob(".*") if p.name != ".training"] and not (out / ".training").exists()


def test_a_full_disk_during_study_is_one_line_and_keeps_only_whole_cells(photos, tmp_path, capsys,
                                                                         monkeypatch):
    out = tmp_path / "study"
    monkeypatch.setattr(os, "fsync", fills_at(20_000))   # the first classifier saved
    assert main(["study", "--out", str(out), "--dataset", str(photos), "--fractions", "0.5",
                 "--methods", "noise", "--seeds", "1", "--steps", "5"]) == 2
    one_line_error(capsys, "study", f"{out}/", "No space left on device", "free some space")
    assert not (out / "summary.json").exists() and not list(out.rglob(".*"))
    assert not (out / "cells").exists() or not list((out / "cells").iterdir())


def test_a_full_disk_during_evaluate_still_scores_and_says_so_in_one_line(tiny_run, photos, tmp_path,
                                                                          capsys, monkeypatch,
                                                                          isolated_home):
    """The judge classifier is only a cache: evaluate reports its scores and warns once."""
    assert generate(tiny_run, tmp_path / "syn", per_class=3) == 0
    capsys.readouterr()
    monkeypatch.setattr(zipfile.ZipFile, "writestr", no_space)   # saving the judge (.keras zip)
    assert main(["evaluate", "--images", str(tmp_path / "syn"), "--dataset", str(photos),
                 "--classifier-epochs", "1", "--skip", "cas,augmentation,memorisation",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["n_images"] == 30
    said = [line for line in err.splitlines() if "could not cache the judge classifier" in line]
    assert len(said) == 1 and said[0].startswith("clothgan evaluate: warning: "), err
    assert "No space left on device" in said[0] and "Traceback" not in err and "error:" not in err
    classifiers = isolated_home / "classifiers"
    assert not classifiers.exists() or not list(classifiers.rglob("classifier.keras"))
    assert not classifiers.exists() or not [p for p in classifiers.iterdir() if p.name.startswith(".")]
