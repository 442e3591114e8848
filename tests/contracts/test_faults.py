"""Fault injection: what a careful user or a hostile input does, and what clothgan must do about it.

Each test is a defect found by fault testing: nothing an input holds is ever deleted, every
failure the user can fix is one line on stderr with exit code 2 (never a traceback), and no
result is silently wrong.
"""
from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothgan.cutpaste.synthetic import garment_folder
from helpers import TINY_TRAIN, make_tiny_folder, make_tiny_run, tree, write_image
from clothgan.cli import main
from clothgan.config import CLASSES, DataConfig
from clothgan.errors import ClothganError

keras = pytest.importorskip("keras")


def one_line_error(capsys, command: str, *needles: str) -> str:
    """The captured stderr: one error line, `clothgan COMMAND: error: ...`, holding every needle
    (one-line warnings may come before it)."""
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines()
             if line.strip() and not line.startswith(f"clothgan {command}: warning: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"clothgan {command}: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> DataConfig:
    return DataConfig(dataset=str(make_tiny_folder(tmp_path_factory.mktemp("faults_data"), 6)))


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory) -> DataConfig:
    """Enough photos per class for every split to hold some of the classes evaluated."""
    return DataConfig(dataset=str(make_tiny_folder(tmp_path_factory.mktemp("faults_eval"), 30)))


@pytest.fixture(scope="module")
def trained_run(tiny_data, tmp_path_factory) -> Path:
    """A real one-epoch run: checkpoint, history, generator and run.json."""
    out = tmp_path_factory.mktemp("faults_runs") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLOTHGAN_HOME", str(tmp_path_factory.mktemp("faults_home")))
        assert main(["train", "--out", str(out), "--dataset", tiny_data.dataset, "--epochs", "1",
                     "--preset", "reference", *TINY_TRAIN]) == 0
    return out


def copy_run(src: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(src, dest)
    return dest


# -- 1, 2: --overwrite never removes an input ---------------------------------------------------

def test_generate_overwrite_never_removes_the_run_or_its_siblings(tmp_path, capsys):
    par = tmp_path / "par"
    run = make_tiny_run(par / "myrun")
    (par / "other").mkdir()
    (par / "other" / "keep.txt").write_text("a sibling run")
    before = tree(par)
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out", str(par),
                 "--overwrite"]) == 2
    one_line_error(capsys, "generate", "contains the input")
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out", str(run),
                 "--overwrite"]) == 2
    one_line_error(capsys, "generate", "is the input")
    (run / "samples").mkdir()
    (run / "samples" / "epoch_0001.png").write_bytes(b"grid")
    before = tree(par)
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                 str(run / "samples"), "--overwrite"]) == 2
    one_line_error(capsys, "generate", "lies inside the input")
    assert tree(par) == before


def test_a_rerun_may_replace_its_own_earlier_output_inside_an_input(tmp_path):
    """Notebook 08 run twice in one Colab runtime: its scenes folder lies inside the cache, an
    input; the second run replaces what the first wrote, and nothing that is not its output."""
    from clothgan.core.files import check_out_dir

    cache = tmp_path / "cache"
    out = cache / "synthetic" / "notebook08-scenes"
    out.mkdir(parents=True)
    (out / "000000.jpg").write_bytes(b"scene")
    assert check_out_dir(out, True, inputs=(cache,), is_output=lambda p: True) == out
    with pytest.raises(ClothganError, match="lies inside the input"):
        check_out_dir(out, True, inputs=(cache,), is_output=lambda p: False)


def test_compose_overwrite_never_removes_the_source_photos(tmp_path, capsys):
    victim = garment_folder(tmp_path / "ds" / "victim", per_class=1)
    before = tree(victim)
    assert main(["compose", "--dataset", str(victim), "--split", "all", "--out", str(victim),
                 "--overwrite", "--count", "2", "--workers", "1"]) == 2
    one_line_error(capsys, "compose", "is the input")
    backgrounds = tmp_path / "bg"
    write_image(backgrounds / "floor.png", size=(64, 64))
    assert main(["compose", "--dataset", str(victim), "--split", "all", "--out",
                 str(backgrounds), "--backgrounds", str(backgrounds), "--overwrite",
                 "--count", "2", "--workers", "1"]) == 2
    one_line_error(capsys, "compose", "is the input")
    assert tree(victim) == before and (backgrounds / "floor.png").is_file()


# -- 3: damaged run files ---------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_damaged_checkpoint_is_one_line(trained_run, tmp_path, capsys, damage):
    run = copy_run(trained_run, tmp_path / "run")
    ckpt = run / "checkpoint.npz"
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--no-progress"]) == 2
    one_line_error(capsys, "train", "checkpoint.npz", "unreadable checkpoint")


def test_broken_run_json_is_one_line_in_train_and_generate(trained_run, tmp_path, capsys):
    run = copy_run(trained_run, tmp_path / "run")
    (run / "run.json").write_text('{"class_names": ["dress", ')
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--no-progress"]) == 2
    one_line_error(capsys, "train", "run.json", "broken")
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                 str(tmp_path / "syn")]) == 2
    one_line_error(capsys, "generate", "run.json", "broken")


def test_truncated_generator_is_named_as_damaged(trained_run, tmp_path, capsys):
    run = copy_run(trained_run, tmp_path / "run")
    g = run / "generator.keras"
    g.write_bytes(g.read_bytes()[:1000])
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                 str(tmp_path / "syn")]) == 2
    line = one_line_error(capsys, "generate", "generator.keras", "unreadable generator")
    assert "File not found" not in line


# -- 4: places that cannot be written --------------------------------------------------------

def test_unwritable_outputs_are_one_line(tiny_data, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    for out in (a_file, Path("/proc/clothgan-run")):
        assert main(["train", "--out", str(out), "--dataset", tiny_data.dataset, "--epochs", "1",
                     *TINY_TRAIN]) == 2
        one_line_error(capsys, "train", str(out))
    run = make_tiny_run(tmp_path / "run")
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                 "/proc/clothgan-syn"]) == 2
    one_line_error(capsys, "generate", "cannot write there")


def test_read_only_mount_is_one_line(tiny_data, tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                      capture_output=True).returncode:
        pytest.skip("mounting a read-only tmpfs needs root")
    try:
        run = make_tiny_run(tmp_path / "run")
        assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                     str(ro / "syn")]) == 2
        one_line_error(capsys, "generate", "cannot write there", "Read-only")
        assert main(["train", "--out", str(ro / "run"), "--dataset", tiny_data.dataset,
                     "--epochs", "1", *TINY_TRAIN]) == 2
        one_line_error(capsys, "train", "cannot write there")
        monkeypatch.setenv("CLOTHGAN_HOME", str(ro / "home"))
        assert main(["prepare", "--dataset", tiny_data.dataset, "--no-progress"]) == 2
        one_line_error(capsys, "prepare", "CLOTHGAN_HOME")
    finally:
        subprocess.run(["umount", str(ro)], check=True)


@pytest.mark.parametrize("home", ["file", "/proc/clothgan-home"])
def test_unusable_cache_home_is_one_line(tiny_data, tmp_path, capsys, monkeypatch, home):
    if home == "file":
        home = tmp_path / "home-file"
        home.write_text("a file, not a folder")
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    assert main(["prepare", "--dataset", tiny_data.dataset, "--no-progress"]) == 2
    one_line_error(capsys, "prepare", "CLOTHGAN_HOME")


# -- 5, 6: evaluate checks its input before any training, and reads any images ----------------

def test_evaluate_one_image_fails_before_the_judge_trains(eval_data, tmp_path, capsys,
                                                           isolated_home):
    write_image(tmp_path / "one" / "hat" / "a.png", size=(28, 28))
    t0 = time.perf_counter()
    assert main(["evaluate", "--images", str(tmp_path / "one"), "--dataset",
                 eval_data.dataset]) == 2
    one_line_error(capsys, "evaluate", "at least 2")
    assert time.perf_counter() - t0 < 20
    assert not list((isolated_home / "classifiers").glob("*/classifier.keras"))


def _bomb(path: Path, side: int = 30_000) -> None:
    """A tiny PNG that claims side x side pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_evaluate_skips_bombs_and_dots_and_reads_mixed_jpegs(eval_data, tmp_path, capsys):
    """Real-photo-like input: JPEGs of mixed sizes and colour modes, plus unusable files."""
    folder = tmp_path / "photos"
    for ci, c in enumerate(CLASSES[:4]):
        for i, (size, mode) in enumerate([((300, 400), "RGB"), ((455, 400), "L"),
                                          ((120, 90), "CMYK"), ((64, 64), "RGB")]):
            write_image(folder / c / f"{c}_{i}.jpg", size=size, color=(30 * ci, 200, 90), mode=mode)
    _bomb(folder / "hat" / "bomb.png")
    Image.new("L", (1, 1)).save(folder / "dress" / "dot.png")
    assert main(["evaluate", "--images", str(folder), "--dataset", eval_data.dataset,
                 "--classifier-epochs", "1", "--skip", "cas,augmentation,memorisation"]) == 0
    out = capsys.readouterr().out
    assert "16 images read through clothgan's preprocessing" in out and "28x28" in out
    assert "2 unusable file(s) left out" in out
    assert main(["evaluate", "--images", str(folder), "--dataset", eval_data.dataset,
                 "--classifier-epochs", "1", "--skip", "cas,augmentation,memorisation",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_images"] == 16 and d["images_converted"] == 16
    assert sorted(Path(s["path"]).name for s in d["images_skipped"]) == ["bomb.png", "dot.png"]


def test_evaluate_broken_dataset_json_is_one_line(eval_data, tmp_path, capsys):
    run = make_tiny_run(tmp_path / "run")
    assert main(["generate", "--run", str(run), "--per-class", "2", "--out",
                 str(tmp_path / "syn")]) == 0
    (tmp_path / "syn" / "dataset.json").write_text("{not json")
    capsys.readouterr()
    assert main(["evaluate", "--images", str(tmp_path / "syn"), "--dataset",
                 eval_data.dataset]) == 2
    one_line_error(capsys, "evaluate", "dataset.json", "broken")


# -- 7: the classes a run has are the classes it trained on -----------------------------------

def test_training_refuses_classes_without_photos_and_trains_the_ones_given(tmp_path, capsys):
    two = tmp_path / "two"
    for c in ("pants", "shoes"):
        for i in range(12):
            write_image(two / c / f"{c}_{i}.png", color=(40 if c == "pants" else 200, 90, i * 9))
    assert main(["train", "--out", str(tmp_path / "r10"), "--dataset", str(two), "--epochs", "1",
                 *TINY_TRAIN]) == 2
    one_line_error(capsys, "train", "no training images of dress, hat", "--classes pants,shoes")
    assert not (tmp_path / "r10" / "checkpoint.npz").exists()
    assert main(["train", "--out", str(tmp_path / "r2"), "--dataset", str(two), "--epochs", "1",
                 "--classes", "pants,shoes", *TINY_TRAIN]) == 0
    assert main(["generate", "--run", str(tmp_path / "r2"), "--per-class", "1", "--out",
                 str(tmp_path / "syn")]) == 0
    assert sorted(p.name for p in (tmp_path / "syn").iterdir() if p.is_dir()) == ["pants", "shoes"]


# -- 8: values that used to be taken silently -------------------------------------------------

@pytest.mark.parametrize("option,value,needle", [("--per-class", "-1", "--per-class: must be >= 0"),
                                                 ("--size", "0", "--size: must be >= 1"),
                                                 ("--size", "4", "size must be in [8, 4096]")])
def test_compose_refuses_bad_counts_and_sizes(tmp_path, capsys, option, value, needle):
    assert main(["compose", "--count", "2", "--out", str(tmp_path / "o"), option, value]) == 2
    one_line_error(capsys, "compose", needle)


# -- 9: sampling a run that is still training ------------------------------------------------

def test_generate_from_a_run_in_training_says_so_and_records_the_epoch(tmp_path, capsys):
    from clothgan.runs import LOCK_FILE, read_run_info, write_run_info

    run = make_tiny_run(tmp_path / "run")
    write_run_info(run, replace(read_run_info(run), epochs_done=3))
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / LOCK_FILE).write_text(str(trainer.pid))
        assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                     str(tmp_path / "syn")]) == 0
        assert f"still training (process {trainer.pid})" in capsys.readouterr().err
        meta = json.loads((tmp_path / "syn" / "dataset.json").read_text())
        assert meta["epochs_done"] == 3 and meta["training_in_progress"] is True
    finally:
        trainer.kill()
        trainer.wait()
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                 str(tmp_path / "after")]) == 0                      # a stale lock says nothing
    assert "still training" not in capsys.readouterr().err
    assert json.loads((tmp_path / "after" / "dataset.json").read_text())["training_in_progress"] is False


# -- 10: divergence in the first epoch ------------------------------------------------------

class _PoisonFirst(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        k = self.model.generator.get_layer("to_image").kernel
        k.assign(np.full(k.shape, np.nan, "float32"))


def test_nan_in_the_first_epoch_does_not_cite_a_missing_checkpoint(tiny_data, tmp_path):
    from clothgan.config import TrainConfig, preset
    from clothgan.training import TrainingDiverged, train

    out = tmp_path / "nan"
    with pytest.raises(TrainingDiverged) as err:
        train(out, tiny_data, preset("reference")[0], TrainConfig(batch_size=16, epochs=2,
              precision="float32"), progress=False, verbose=False, callbacks=[_PoisonFirst()])
    message = str(err.value)
    assert "nothing was kept" in message and "--resume" not in message
    assert not (out / "checkpoint.npz").exists()


# -- 11: --resume with the settings the run already has --------------------------------------

def test_resume_accepts_the_same_settings_and_names_a_conflict(trained_run, tiny_data, tmp_path,
                                                               capsys):
    run = copy_run(trained_run, tmp_path / "run")
    same = ["train", "--out", str(run), "--dataset", tiny_data.dataset, "--preset", "reference",
            *TINY_TRAIN, "--image-size", "28"]
    assert main([*same, "--epochs", "2", "--resume"]) == 0
    assert json.loads((run / "run.json").read_text())["epochs_done"] == 2
    capsys.readouterr()
    conflict = [a if a != "7" else "8" for a in same]
    assert main([*conflict, "--epochs", "3", "--resume"]) == 2
    one_line_error(capsys, "train", "--seed: run 7, given 8")
    assert main([*same, "--preset", "quality", "--epochs", "3", "--resume"]) == 2
    one_line_error(capsys, "train", "--preset: run 'reference', given 'quality'")


# -- 12: preparation that cannot fit is refused first; --max-images limits it -----------------

def test_preparation_that_cannot_fit_is_refused_before_decoding(tiny_data, tmp_path, capsys,
                                                                  monkeypatch):
    from clothgan.data import arrays

    monkeypatch.setattr(arrays, "available_memory", lambda: 200 * 2**20)
    t0 = time.perf_counter()
    assert main(["train", "--out", str(tmp_path / "big"), "--dataset", tiny_data.dataset,
                 "--image-size", "1000", "--epochs", "1", *TINY_TRAIN]) == 2
    one_line_error(capsys, "train", "GiB of memory", "smaller --image-size")
    assert time.perf_counter() - t0 < 30


def test_networks_that_cannot_fit_are_refused_before_building(tiny_data, tmp_path, capsys):
    """At 1000x1000 the article's networks need far more memory than any CI machine has: the
    run stops with the numbers before the kernel's OOM killer ends it without a word."""
    assert main(["train", "--out", str(tmp_path / "huge"), "--dataset", tiny_data.dataset,
                 "--image-size", "1000", "--epochs", "1", *TINY_TRAIN]) == 2
    one_line_error(capsys, "train", "GiB of memory", "--image-size")
    assert not (tmp_path / "huge" / "checkpoint.npz").exists()


def test_max_images_limits_what_is_prepared(tiny_data, tmp_path, isolated_home):
    assert main(["train", "--out", str(tmp_path / "r"), "--dataset", tiny_data.dataset,
                 "--epochs", "1", "--max-images", "16", *TINY_TRAIN]) == 0
    from clothgan.data.photos import read_train_images

    listed = read_train_images(tmp_path / "r")
    assert len(listed) == 16
    caches = list((isolated_home / "prepared").glob("*.npz"))
    assert [len(np.load(c)["y"]) for c in caches] == [16]      # only those photos were decoded


# -- 13: killed runs leave nothing behind for long -------------------------------------------

def test_a_killed_run_leaves_nothing_that_looks_done_and_its_lock_does_not_block(tmp_path, capsys):
    run = make_tiny_run(tmp_path / "run")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "clothgan", "generate", "--run", str(run),
                             "--per-class", "5000", "--out", str(out / "big")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(out.glob(".big.partial-*")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    # A second writer of the same folder is refused at once, naming the first.
    assert main(["generate", "--run", str(run), "--per-class", "1", "--seed", "2", "--out",
                 str(out / "big")]) == 2
    one_line_error(capsys, "generate", "another clothgan run is writing there",
                   f"process {proc.pid}: clothgan generate --run")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = list(out.glob(".big.partial-*"))
    assert left and not (out / "big").exists()                 # nothing that looks finished
    (out / ".older.old-12345678").mkdir()                      # not provably clothgan's: kept
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out",
                 str(out / "big")]) == 0                       # the dead run's lock is no lock
    assert sorted(p.name for p in out.iterdir()) == [".older.old-12345678", "big"]


# -- 14: one bad file, a missing copy, error types, quiet progress ----------------------------

def test_compose_skips_a_corrupt_photo_and_a_corrupt_background(tmp_path, capsys, isolated_home):
    photos = garment_folder(tmp_path / "photos", per_class=1)
    (photos / "hat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    bgs = tmp_path / "bg"
    write_image(bgs / "floor.png", size=(96, 96))
    (bgs / "bad.jpg").write_bytes(b"\xff\xd8\xff nothing")
    assert main(["compose", "--dataset", str(photos), "--split", "all", "--per-class", "0",
                 "--out", str(tmp_path / "out"), "--count", "4", "--size", "96",
                 "--backgrounds", str(bgs), "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    assert "broken.jpg" in out and "bad.jpg" in out and "Traceback" not in err
    assert len(list((tmp_path / "out" / "images").iterdir())) == 4


def test_missing_data_dir_names_the_download_url(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(tmp_path / "gone"))
    assert main(["prepare", "--no-progress"]) == 2
    one_line_error(capsys, "prepare", "CLOTHGAN_DATA_DIR", "https://github.com/alexeygrigorev/")


def test_configuration_errors_are_one_catchable_type():
    from clothgan.config import GANConfig, TrainConfig
    from clothgan.cutpaste import ComposeConfig
    from clothgan.evaluation import ClassifierConfig

    for make in (lambda: DataConfig(image_size=4), lambda: GANConfig(loss="mse"),
                 lambda: TrainConfig(batch_size=3), lambda: ComposeConfig(size=2),
                 lambda: ClassifierConfig(precision="half")):
        with pytest.raises(ClothganError):
            make()
        with pytest.raises(ValueError):          # still a ValueError for older callers
            make()


def test_no_progress_means_no_progress_bars(tiny_data, tmp_path, capfd):
    assert main(["train", "--out", str(tmp_path / "r"), "--dataset", tiny_data.dataset,
                 "--epochs", "1", *TINY_TRAIN]) == 0
    assert "prepare images" not in capfd.readouterr().err


def test_a_run_written_before_the_renames_still_resumes(trained_run, tiny_data, tmp_path, capsys):
    """run.json of earlier versions: preset 'seed', schedule 'article', aux_weight 0."""
    run = copy_run(trained_run, tmp_path / "old")
    info = json.loads((run / "run.json").read_text())
    info["preset"] = info["config"]["model"]["preset"] = "seed"
    info["config"]["model"]["aux_weight"] = 0.0
    info["config"]["training"]["schedule"] = "article"
    (run / "run.json").write_text(json.dumps(info))
    old = ["train", "--out", str(run), "--dataset", tiny_data.dataset, "--preset", "seed",
           "--schedule", "article", *TINY_TRAIN, "--image-size", "28"]
    assert main([*old, "--epochs", "2", "--resume"]) == 0
    assert json.loads((run / "run.json").read_text())["epochs_done"] == 2
    capsys.readouterr()
    info["config"]["model"]["aux_weight"] = 1.0          # a run that used the removed classifier
    (run / "run.json").write_text(json.dumps(info))
    assert main([*old, "--epochs", "3", "--resume"]) == 2
    one_line_error(capsys, "train", "aux_weight 1.0")
