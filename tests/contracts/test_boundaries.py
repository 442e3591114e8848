"""Every number and name is checked where it enters (issue 21): the config objects, the verbs'
arguments and the command line share one set of validators, so NaN, inf, negatives, bools,
floats where whole numbers belong and repeated names are one clear error before anything is
read, built or written. Also: inputs whose names or shapes used to crash a command, or give a
wrong result without a word.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from helpers import make_tiny_folder, write_image
from clothgan.cli import main
from clothgan.config import CLASSES, DataConfig, GANConfig, TrainConfig
from clothgan.errors import ClothganError

NAN, INF = float("nan"), float("inf")


def one_line_error(capsys, command: str, *needles: str) -> str:
    """The one `clothgan COMMAND: error: ...` line on stderr (no traceback), holding every needle."""
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines()
             if line.strip() and not line.startswith(f"clothgan {command}: warning: ")]
    assert len(lines) == 1 and lines[0].startswith(f"clothgan {command}: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# -- the config objects -------------------------------------------------------------------------

def _configs():
    from clothgan.cutpaste import ComposeConfig
    from clothgan.cutpaste.config import TransformConfig
    from clothgan.cutpaste.framed import FrameConfig
    from clothgan.data.foreground import ExtractConfig
    from clothgan.evaluation import ClassifierConfig, EvalConfig
    from clothgan.runs import RunInfo
    from clothgan.study.classifier import StudyClassifierConfig
    from clothgan.study.config import StudyConfig

    run = dict(class_names=("hat", "pants"), image_size=28, channels=1, latent_dim=8)
    return [
        (DataConfig, dict(image_size=28.5), "image_size must be a whole number"),
        (DataConfig, dict(image_size=True), "whole number"),
        (DataConfig, dict(classes=("hat", "hat", "pants")), "hat given more than once"),
        (DataConfig, dict(classes="hat"), "list of names"),
        (DataConfig, dict(split_seed=-1), "split_seed must be in [0,"),
        (DataConfig, dict(val_fraction=NAN), "finite"),
        (DataConfig, dict(include_kids="no"), "True or False"),
        (GANConfig, dict(latent_dim=2.5), "latent_dim"),
        (GANConfig, dict(d_dropout=NAN), "d_dropout"),
        (GANConfig, dict(augment=("color", "color")), "color given more than once"),
        (TrainConfig, dict(lr=NAN), "lr must be a finite number"),
        (TrainConfig, dict(lr=-1e-4), "lr must be > 0"),
        (TrainConfig, dict(d_lr=INF), "d_lr"),
        (TrainConfig, dict(seed=-1), "seed must be in [0,"),
        (TrainConfig, dict(seed=1.5), "seed must be a whole number"),
        (TrainConfig, dict(epochs=True), "epochs must be a whole number"),
        (TrainConfig, dict(beta_1=1.0), "beta_1"),
        (StudyConfig, dict(ratio=INF), "ratio must be a finite number"),
        (StudyConfig, dict(fractions=(0.1, 0.1000001)), "0.1 given more than once"),
        (StudyConfig, dict(fractions=(0.00001,)), "4 decimal places"),
        (StudyConfig, dict(methods=("gan", "gan")), "gan given more than once"),
        (StudyConfig, dict(seeds=2.0), "seeds must be a whole number"),
        (StudyConfig, dict(gan_minutes=NAN), "gan_minutes"),
        (StudyClassifierConfig, dict(learning_rate=NAN), "learning_rate"),
        (ComposeConfig, dict(objects=(1, 50)), "objects must be in [1, 10]"),
        (ComposeConfig, dict(feather=NAN), "feather"),
        (ComposeConfig, dict(size=512.0), "size must be a whole number"),
        (TransformConfig, dict(scale=(NAN, 0.5)), "scale"),
        (FrameConfig, dict(flip=2), "flip must be in [0, 1]"),
        (ExtractConfig, dict(iterations=1.5), "iterations"),
        (ClassifierConfig, dict(learning_rate=INF), "learning_rate"),
        (EvalConfig, dict(seed=-1), "seed"),
        (EvalConfig, dict(max_per_class=0), "max_per_class"),
        (RunInfo, {**run, "class_names": "hat"}, "class_names must be a list of names"),
        (RunInfo, {**run, "truncation": 1e39}, "truncation must be in (0, 4]"),
    ]


@pytest.mark.parametrize("case", range(len(_configs())))
def test_every_config_refuses_bad_numbers_and_names(case):
    make, kwargs, needle = _configs()[case]
    with pytest.raises(ClothganError, match=None) as info:
        make(**kwargs)
    assert isinstance(info.value, ValueError)          # ConfigError: both, for older callers
    assert needle in str(info.value), str(info.value)


def test_values_are_normalised_once():
    from clothgan.study.config import StudyConfig

    assert StudyConfig(fractions=(0.1000001, 0.25)).fractions == (0.1, 0.25)
    assert DataConfig(classes=["hat", "pants"], image_size=np.int64(32)).image_size == 32
    assert type(TrainConfig(lr=1).lr) is float


# -- the command line: one line, exit 2, nothing written ---------------------------------------

CLI_CASES = [
    (["train", "--lr", "nan"], "--lr: must be a finite number"),
    (["train", "--d-lr", "inf"], "--d-lr: must be a finite number"),
    (["train", "--seed", "-1"], "--seed: must be in [0,"),
    (["train", "--seed", "1.5"], "--seed: expected a whole number"),
    (["train", "--classes", "hat,hat,pants"], "hat given more than once"),
    (["train", "--without", "spectral_norm,spectral_norm"], "spectral_norm given more than once"),
    (["evaluate", "--seed", "-1"], "--seed: must be in [0,"),
    (["compose", "--count", "2", "--seed", "-1"], "--seed: must be in [0,"),
    (["compose", "--count", "2", "--objects", "50"], "HIGH <= 10"),
    (["generate", "--pretrained", "quality", "--per-class", "1", "--truncation", "1e39"],
     "--truncation: must be in (0, 4]"),
    (["generate", "--pretrained", "quality", "--per-class", "1", "--seed", "5000000000"], "--seed"),
    (["generate", "--pretrained", "quality", "--per-class", "1", "--classes", "hat,hat"],
     "hat given more than once"),
    (["study", "--fractions", "0.1,0.1000001"], "0.1 given more than once"),
    (["study", "--methods", "gan,gan"], "gan given more than once"),
    (["study", "--ratio", "inf"], "--ratio: must be a finite number"),
    (["study", "--classes", "hat,hat"], "hat given more than once"),
    (["prepare", "--image-size", "28.5"], "--image-size: expected a whole number"),
]


@pytest.mark.parametrize("argv,needle", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_bad_options_are_one_line_and_write_nothing(tmp_path, capsys, argv, needle):
    out = tmp_path / "out"
    where = {"train": "--out", "compose": "--out", "generate": "--out", "study": "--out",
             "evaluate": "--images"}.get(argv[0])
    assert main(argv + ([where, str(out)] if where else [])) == 2
    one_line_error(capsys, argv[0], needle)
    assert list(tmp_path.iterdir()) == []


# -- the verbs' own arguments -------------------------------------------------------------------

def test_verbs_refuse_bad_arguments_before_any_work(tmp_path):
    import clothgan
    from clothgan.pretrained import pretrained_dir

    run, out = pretrained_dir("quality"), tmp_path / "syn"
    for call, needle in [
            (lambda: clothgan.generate(run, True, out), "per_class must be a whole number"),
            (lambda: clothgan.generate(run, 2, out, seed=1.5), "seed must be a whole number"),
            (lambda: clothgan.generate(run, 2, out, truncation=NAN), "truncation"),
            (lambda: clothgan.generate(run, 2, out, classes=["hat", "hat"]), "hat given more"),
            (lambda: clothgan.train(tmp_path / "r", fraction=NAN), "fraction"),
            (lambda: clothgan.train(tmp_path / "r", epochs=2.5), "epochs"),
            (lambda: clothgan.compose(out, 0), "count must be >= 1"),
            (lambda: clothgan.compose(out, 2, seed=-3), "seed"),
            (lambda: clothgan.evaluate(out, cfg="quick"), "EvalConfig")]:
        with pytest.raises(ClothganError) as info:
            call()
        assert needle in str(info.value), str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_classes_named_twice_by_name_and_index(tmp_path):
    from clothgan.pretrained import pretrained_dir
    from clothgan.sampling import Sampler

    sampler = Sampler.load(pretrained_dir("quality"), "float32")
    assert sampler.labels_of(["pants", 1]) == [4, 1]
    with pytest.raises(ClothganError, match="hat given more than once"):
        sampler.labels_of(["hat", 1])
    with pytest.raises(ClothganError, match="unknown class True"):   # a bool is not an index
        sampler.labels_of([True])


# -- files read back: run.json, dataset.json, generator.keras -----------------------------------

def test_run_json_of_the_wrong_types_is_one_line(tmp_path, capsys):
    from helpers import make_tiny_run

    run = make_tiny_run(tmp_path / "run")
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "class_names": "hat"}))
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "generate", str(run / "run.json"), "class_names")
    assert not (tmp_path / "o").exists()


def test_another_keras_model_as_the_generator_is_one_line(tmp_path, capsys):
    from helpers import make_tiny_run
    from clothgan.runs import read_run_info, write_run_info

    run = make_tiny_run(tmp_path / "run", size=32)      # a valid model of another shape
    write_run_info(run, replace(read_run_info(run), image_size=28))
    assert main(["generate", "--run", str(run), "--per-class", "1", "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "generate", "generator.keras", "not this run's generator", "32, 32")


@pytest.mark.parametrize("meta", [{"image_size": "28", "channels": 1},
                                  {"run_config": "clothing-full"},
                                  {"run_config": {"data": {"image_size": 28.5}}}])
def test_dataset_json_of_the_wrong_types_is_one_line(tmp_path, capsys, meta):
    syn = tmp_path / "syn"
    for c in ("hat", "pants"):
        write_image(syn / c / "a.png", size=(28, 28))
    (syn / "dataset.json").write_text(json.dumps(meta))
    assert main(["evaluate", "--images", str(syn)]) == 2     # refused before any data is read
    one_line_error(capsys, "evaluate", str(syn / "dataset.json"), "broken")


# -- results that used to be silently wrong -----------------------------------------------------

def split_folder(root: Path, classes, per_split: dict[str, int]) -> Path:
    """<split>/<class>/<file> with per_split[split] images of each class."""
    for ci, c in enumerate(classes):
        for split, n in per_split.items():
            for i in range(n):
                write_image(root / split / c / f"{c}_{i}.png", size=(28, 28),
                            color=(20 * ci, 200 - 15 * ci, 30 * i % 255))
    return root


def test_evaluate_refuses_a_one_class_folder(tmp_path, capsys):
    data = split_folder(tmp_path / "data", CLASSES, {"train": 4, "val": 2, "test": 2})
    syn = tmp_path / "syn"
    for i in range(4):
        write_image(syn / "hat" / f"{i}.png", size=(28, 28), color=(10 * i, 50, 50))
    assert main(["evaluate", "--images", str(syn), "--dataset", str(data),
                 "--classifier-epochs", "1"]) == 2
    one_line_error(capsys, "evaluate", str(syn), "one class only", "--skip cas")


def test_evaluate_names_the_folder_of_tiny_images(tmp_path, capsys):
    syn = tmp_path / "syn"
    for c in ("hat", "pants"):
        write_image(syn / c / "a.png", size=(1, 1))
    assert main(["evaluate", "--images", str(syn), "--dataset", str(tmp_path)]) == 2
    one_line_error(capsys, "evaluate", str(syn), "none of the 2 images is usable", "a.png",
                   "1x1 pixels, too small")


def test_study_refuses_a_dataset_missing_classes(tmp_path, capsys):
    have = [c for c in CLASSES if c not in ("hat", "skirt")]
    data = split_folder(tmp_path / "data", have, {"train": 3, "val": 1, "test": 1})
    assert main(["study", "--out", str(tmp_path / "s"), "--dataset", str(data), "--fractions", "1",
                 "--methods", "noise", "--seeds", "1", "--steps", "1"]) == 2
    one_line_error(capsys, "study", "no training photos of hat, skirt", f"--classes {','.join(have)}")
    assert not (tmp_path / "s" / "cells").exists()


def test_train_refuses_an_out_inside_its_dataset(tmp_path, capsys):
    data = make_tiny_folder(tmp_path / "data", 2)
    before = sorted(p.name for p in data.iterdir())
    assert main(["train", "--out", str(data / "run"), "--dataset", str(data), "--epochs", "1"]) == 2
    one_line_error(capsys, "train", "lies inside", str(data.resolve()))
    assert sorted(p.name for p in data.iterdir()) == before


# -- names and shapes that used to crash a command ----------------------------------------------

@pytest.fixture
def hostile_folder(tmp_path) -> Path:
    """A tiny dataset with a file name that is not UTF-8, a file link and a folder link that loop."""
    data = make_tiny_folder(tmp_path / "data", 6)
    shutil.copy(data / "hat" / "hat_0.png", os.path.join(os.fsencode(data / "hat"), b"bad\xff.png"))
    os.symlink(data / "hat" / "loop.png", data / "hat" / "loop.png")
    os.symlink(data / "loop", data / "loop")
    return data


def test_prepare_lists_names_it_cannot_use_and_goes_on(hostile_folder, capsys):
    assert main(["prepare", "--dataset", str(hostile_folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "60 images" in out and "bad\\xff.png: name is not UTF-8 text" in out
    assert "loop.png: cannot be opened" in out and f"{hostile_folder / 'loop'}: cannot be opened" in out
    assert main(["prepare", "--dataset", str(hostile_folder), "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["unusable_files"]) == 3 and report["images"] == 60


def test_train_resumes_with_photo_names_holding_newlines(tmp_path, capsys):
    from clothgan.data.photos import read_train_images

    data = make_tiny_folder(tmp_path / "data", 6)
    shutil.copy(data / "pants" / "pants_0.png", data / "pants" / "two\nlines .png")
    run = tmp_path / "run"
    tiny = ["--dataset", str(data), "--batch-size", "16", "--keep-best", "none",
            "--precision", "float32", "--no-progress"]
    assert main(["train", "--out", str(run), "--epochs", "1", *tiny]) == 0
    assert "pants/two\nlines .png" in read_train_images(run)
    assert main(["train", "--out", str(run), "--epochs", "2", "--resume", "--no-progress"]) == 0, \
        capsys.readouterr().err
    assert "2 epochs done" in capsys.readouterr().out


def test_old_line_lists_of_photos_are_still_read(tmp_path):
    from clothgan.data.photos import read_train_images

    (tmp_path / "train_images.txt").write_text("hat/a.png\npants/b.png\n")
    assert read_train_images(tmp_path) == ["hat/a.png", "pants/b.png"]


def test_a_tiny_source_photo_is_left_out_with_a_reason(tmp_path):
    from clothgan.cutpaste.compose import _bank_item
    from clothgan.data.foreground import ExtractConfig

    photo = write_image(tmp_path / "hat" / "dot.png", size=(1, 1))
    cut, reason = _bank_item((str(photo), ExtractConfig(), 64))
    assert cut is None and "1x1 pixels, too small" in reason


def test_truncation_is_bounded_where_the_noise_still_means_something():
    from clothgan.config import TRUNCATION_MAX, check_truncation

    assert check_truncation(TRUNCATION_MAX) == TRUNCATION_MAX and check_truncation(0.7) == 0.7
    for bad in (0, -1, math.inf, 1e39, "0.5", True):
        with pytest.raises(ClothganError):
            check_truncation(bad)
