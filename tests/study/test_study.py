"""The augmentation study: how synthetic images are shared out, the controls, the paired report,
photo-framed cut-and-paste, and `clothgan study` end to end (resume, interruption, settings)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothgan.errors import ConfigError
from clothgan.study.config import StudyConfig
from clothgan.study.report import summarize
from clothgan.study.sources import class_counts, noise_images, oracle_photos

from clothgan.cutpaste.synthetic import garment_folder


# --- sharing out, controls, report ------------------------------------------------------------

def test_uniform_counts_are_even_and_the_remainder_goes_to_the_smallest_classes():
    counts = class_counts([50, 10, 30], 10, "uniform")
    assert counts.tolist() == [3, 4, 3] and counts.sum() == 10


@pytest.mark.parametrize("total", [0, 7, 40, 95, 1000])
def test_rare_counts_fill_the_smallest_classes_up_first(total):
    real = np.array([50, 10, 30, 10])
    counts = class_counts(real, total, "rare")
    assert counts.sum() == total and counts.min() >= 0
    after = real + counts
    lifted = counts > 0
    if lifted.any():
        # Every class that got images ends within one of the lowest total, and none that got
        # nothing lies below the classes that did.
        assert after[lifted].max() - after.min() <= 1
        assert all(real[~lifted] >= after[lifted].min())


def test_rare_counts_on_the_clothing_mix_favour_hats_and_skirts():
    real = np.array([290, 130, 560, 270, 570, 310, 730, 260, 110, 870])   # about the training split
    counts = class_counts(real, real.sum() // 10, "rare")
    assert counts[[1, 8]].min() > counts[[2, 4, 6, 9]].max() and counts[9] == 0


def test_oracle_photos_are_unseen_training_photos_capped_per_class():
    y = np.repeat(np.arange(3), 10)
    chosen = np.zeros(30, bool)
    chosen[[0, 1, 10, 20, 21, 22]] = True
    idx = oracle_photos(y, chosen, [5, 20, 0], seed=1)
    assert not chosen[idx].any() and len(set(idx.tolist())) == len(idx)
    assert np.bincount(y[idx], minlength=3).tolist() == [5, 9, 0]
    assert np.array_equal(idx, oracle_photos(y, chosen, [5, 20, 0], seed=1))
    assert not np.array_equal(idx, oracle_photos(y, chosen, [5, 20, 0], seed=2))


def test_noise_images_are_labelled_as_asked_and_look_like_saved_images():
    x, y = noise_images([2, 0, 3], (28, 28, 1), seed=0)
    assert x.shape == (5, 28, 28, 1) and y.tolist() == [0, 0, 2, 2, 2]
    assert x.min() >= -1 and x.max() <= 1 and np.allclose((x + 1) * 127.5, np.rint((x + 1) * 127.5), atol=1e-3)
    assert x.std() > 0.2   # not blank


def _cell(f, s, m, acc, bal=0.5, rare=0.2):
    return {"fraction": f, "seed": s, "method": m, "n_real": 10, "n_added": 0 if m == "none" else 10,
            "accuracy": acc, "balanced_accuracy": bal, "rare_recall": rare}


def test_summary_pairs_each_method_with_real_only_of_the_same_seed():
    cells = [_cell(0.1, 0, "none", 0.50), _cell(0.1, 1, "none", 0.60), _cell(0.1, 2, "none", 0.40),
             _cell(0.1, 0, "gan", 0.55), _cell(0.1, 1, "gan", 0.58), _cell(0.1, 2, "gan", 0.49),
             {"fraction": 1.0, "seed": 0, "method": "oracle", "n_real": 10, "skipped": "no photos"}]
    s = summarize(cells)
    assert s["fractions"] == [0.1] and s["methods"] == ["none", "gan"]
    gan = next(r for r in s["rows"] if r["method"] == "gan")
    g = gan["gain"]["accuracy"]
    assert g["values"] == [0.05, -0.02, 0.09] and g["positive"] == 2 and g["seeds"] == 3
    assert g["mean"] == pytest.approx(0.04) and g["std"] == pytest.approx(np.std([0.05, -0.02, 0.09], ddof=1))
    assert gan["accuracy"]["mean"] == pytest.approx(np.mean([0.55, 0.58, 0.49]))
    assert "gain" not in next(r for r in s["rows"] if r["method"] == "none")


def test_config_checks_and_settings_leave_out_the_cell_axes():
    cfg = StudyConfig(fractions=(0.1, 1), methods=("none", "gan"), seeds=2)
    assert set(cfg.settings()) & {"fractions", "methods", "seeds"} == set()
    assert StudyConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    for bad in (dict(fractions=(0,)), dict(fractions=(1.5,)), dict(methods=("gan", "magic")),
                dict(balance="most"), dict(ratio=0), dict(gan_filter="best"), dict(filter_quantile=1),
                dict(gan_preset="fancy")):
        with pytest.raises(ConfigError):
            StudyConfig(**bad)


# --- cut-and-paste framed like the photos -------------------------------------------------------

def test_a_frame_keeps_the_photos_box_and_removes_its_garment(tmp_path, monkeypatch):
    from clothgan.cutpaste.synthetic import garment_photo
    from clothgan.cutpaste.framed import FrameConfig, frame_of
    from clothgan.data.foreground import Cutout, ExtractConfig, MaskQuality

    monkeypatch.setenv("CLOTHGAN_HOME", str(tmp_path))
    photo, mask, _ = garment_photo(np.random.default_rng(3), (160, 200))
    alpha = mask.astype(np.uint8) * 255
    cut = Cutout("p.jpg", photo, alpha, MaskQuality.of(alpha, ExtractConfig()))
    frame = frame_of(cut, 4, FrameConfig(side=100))
    ys, xs = np.nonzero(alpha)
    h, w = alpha.shape
    assert frame.label == 4 and max(frame.background.shape[:2]) == 100
    assert frame.box == pytest.approx((xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h))
    # Inside the garment the background now resembles the photo's surroundings, not the garment.
    size = frame.background.shape[1::-1]
    small = np.asarray(Image.fromarray(photo).resize(size), np.float32)
    inner = np.asarray(Image.fromarray(alpha).resize(size), np.float32) > 250
    outside = small[~inner].mean(0)
    assert np.abs(frame.background[inner].mean(0) - outside).sum() < np.abs(small[inner].mean(0) - outside).sum()


@pytest.fixture(scope="module")
def garment_data(tmp_path_factory):
    """A garment-photo dataset (all three splits) and a cache home for it."""
    from clothgan.config import DataConfig

    root = garment_folder(tmp_path_factory.mktemp("garments"), per_class=16, size=(120, 150))
    return DataConfig(dataset=str(root)), tmp_path_factory.mktemp("home")


def test_framed_images_are_photo_sized_deterministic_and_of_each_class(garment_data, monkeypatch):
    from clothgan.cutpaste.compose import build_bank
    from clothgan.cutpaste.framed import build_frames, framed_images
    from clothgan.data import scan

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    records = scan(data).select("train")
    bank, _ = build_bank(records, longer_side=120, workers=1, progress=False)
    frames = build_frames(records, workers=1, progress=False)
    x, y = framed_images(bank, frames, [2] * 10, seed=5)
    assert x.shape == (20, 28, 28, 1) and x.dtype == np.uint8 and np.bincount(y).tolist() == [2] * 10
    again, _ = framed_images(bank, frames, [2] * 10, seed=5)
    other, _ = framed_images(bank, frames, [2] * 10, seed=6)
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    assert x.std() > 10   # a garment over a background, not a blank frame


# --- clothgan study end to end -------------------------------------------------------------------

def _study(out, data, *extra):
    from clothgan.cli.main import main

    return main(["study", "--out", str(out), "--dataset", data.dataset, "--seeds", "2",
                 "--steps", "20", *extra])


def test_study_runs_resumes_and_refuses_other_settings(garment_data, tmp_path, monkeypatch, capsys):
    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    out = tmp_path / "s"
    args = ("--fractions", "0.5", "--methods", "cutpaste,oracle,noise")
    assert _study(out, data, *args) == 0
    first = capsys.readouterr().out
    assert "8 of 8 cells to run" in first and "CPU-minutes" in first
    cells = sorted(p.name for p in (out / "cells").glob("*.json"))
    assert len(cells) == 8 and "f0.5-s1-cutpaste.json" in cells
    summary = json.loads((out / "summary.json").read_text())
    row = next(r for r in summary["rows"] if r["method"] == "cutpaste")
    assert row["gain"]["accuracy"]["seeds"] == 2 and row["n_added"] == row["n_real"]
    assert (out / "gains.png").stat().st_size > 1000
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert _study(out, data, *args) == 0                      # resumed: nothing redone
    assert "0 of 8 cells to run" in capsys.readouterr().out
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert _study(out, data, *args, "--ratio", "2") == 2        # one line, nothing touched
    err = capsys.readouterr().err
    assert "ratio" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_interrupted_study_keeps_its_finished_cells(garment_data, tmp_path, monkeypatch, capsys):
    import clothgan.study.run as run_mod

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    real_train, calls = run_mod.train_study_classifier, []

    def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_train(*a, **k)

    monkeypatch.setattr(run_mod, "train_study_classifier", flaky)
    out = tmp_path / "i"
    assert _study(out, data, "--fractions", "0.5", "--methods", "noise") == 130
    assert len(list((out / "cells").glob("*.json"))) == 2
    assert not list(out.rglob(".*.tmp*"))                     # no half-written cell
    capsys.readouterr()
    assert _study(out, data, "--fractions", "0.5", "--methods", "noise") == 0
    assert "2 of 4 cells to run" in capsys.readouterr().out and len(calls) == 5


def _short_gan_epochs(monkeypatch):
    """Epochs of a few steps: the CPU budget is checked after each epoch, and a study epoch is
    at least 100 steps (a minute and more here) against the tests' 3 CPU-seconds."""
    import clothgan.study.run as run_mod

    monkeypatch.setattr(run_mod, "MIN_EPOCH_STEPS", 4)


def test_gan_cells_train_on_the_fraction_alone_and_filter_with_the_real_only_classifier(
        garment_data, tmp_path, monkeypatch):
    from clothgan.data import scan
    from clothgan.data.photos import choose_training, read_train_images

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    _short_gan_epochs(monkeypatch)
    out = tmp_path / "g"
    assert _study(out, data, "--fractions", "0.5", "--methods", "gan", "--seeds", "1",
                  "--gan-minutes", "0.05") == 0
    inv = scan(data)
    mine = sorted(str(Path(r.path).relative_to(inv.root))
                  for r in choose_training(inv.select("train"), data.classes, 0.5, seed=0))
    assert sorted(read_train_images(out / "generators" / "f0.5-s0")) == mine
    cell = json.loads((out / "cells" / "f0.5-s0-gan.json").read_text())
    src = cell["source"]
    assert src["filter"] == "judge" and src["kept"] == cell["n_added"] == cell["n_real"]
    assert src["candidates"] == 4 * src["kept"] and len(src["thresholds"]) == 10
    with np.load(out / "synthetic" / "f0.5-s0-gan.npz") as z:
        assert z["x"].dtype == np.uint8 and len(z["y"]) == cell["n_added"]


def test_the_shipped_generator_is_refused_for_other_data_before_any_training(
        garment_data, tmp_path, monkeypatch, capsys):
    import clothgan.study.run as run_mod

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    monkeypatch.setattr(run_mod, "train_study_classifier", lambda *a, **k: pytest.fail("trained"))
    out = tmp_path / "p"
    assert _study(out, data, "--fractions", "1", "--methods", "gan") == 2
    err = capsys.readouterr().err
    assert "--full-generator train" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(out.glob("cells/*.json"))


def test_one_cell_run_alone_is_read_back_by_the_study_not_trained_again(garment_data, tmp_path,
                                                                        monkeypatch):
    import clothgan.study.run as run_mod
    from clothgan.study import Study, StudyClassifierConfig, StudyConfig

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    real_train, calls = run_mod.train_study_classifier, []

    def counted(*a, **k):
        calls.append(k.get("seed"))
        return real_train(*a, **k)

    monkeypatch.setattr(run_mod, "train_study_classifier", counted)
    cfg = StudyConfig(fractions=(0.5,), methods=("none", "noise"), seeds=2,
                      classifier=StudyClassifierConfig(min_steps=20, max_steps=20, steps_per_round=10))
    study = Study(tmp_path / "s", cfg, data, progress=False, log=lambda *_: None)
    row = study.cell(0.5, 0, "none")
    assert row["method"] == "none" and 0 <= row["accuracy"] <= 1 and calls == [0]
    assert study.cell(0.5, 0, "none") == row and calls == [0]          # read back
    rows = study.run()
    assert len(rows) == 4 and len(calls) == 4                          # 3 more, not 4
    assert next(r for r in rows if r["seed"] == 0 and r["method"] == "none") == row


def test_the_images_a_method_adds_are_made_once_for_the_notebook_and_its_cell(garment_data, tmp_path,
                                                                              monkeypatch):
    import clothgan.study.run as run_mod
    from clothgan.errors import ClothganError
    from clothgan.study import Study, StudyClassifierConfig, StudyConfig

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    made, real_make = [], run_mod.Study._cut_and_paste

    def counted(self, *a, **k):
        made.append(1)
        return real_make(self, *a, **k)

    monkeypatch.setattr(run_mod.Study, "_cut_and_paste", counted)
    cfg = StudyConfig(fractions=(0.5,), methods=("cutpaste",), seeds=1,
                      classifier=StudyClassifierConfig(min_steps=10, max_steps=10, steps_per_round=10))
    study = Study(tmp_path / "s", cfg, data, progress=False, log=lambda *_: None)
    x, y = study.added(0.5, 0, "cutpaste")
    row = study.cell(0.5, 0, "cutpaste")
    assert len(made) == 1 and row["n_added"] == len(y) and x.shape[1:] == (28, 28, 1)
    with pytest.raises(ClothganError, match="noise"):
        study.added(0.5, 0, "noise")


def test_a_gain_is_also_reported_as_a_share_of_the_oracles_on_the_same_seeds():
    cells = [_cell(0.1, s, "none", 0.5) for s in range(3)]
    cells += [_cell(0.1, 0, "oracle", 0.56), _cell(0.1, 1, "oracle", 0.54)]       # seed 2: none
    cells += [_cell(0.1, s, "cutpaste+soft", a) for s, a in enumerate((0.53, 0.52, 0.9))]
    rows = {r["method"]: r for r in summarize(cells)["rows"]}
    share = rows["cutpaste+soft"]["gain"]["accuracy"]["oracle_share"]
    assert share == pytest.approx(0.025 / 0.05)       # seed 2 has no oracle: left out
    assert "oracle_share" not in rows["oracle"]["gain"]["accuracy"]
    assert rows["cutpaste+soft"]["gain"]["accuracy"]["seeds"] == 3


def test_recipe_cells_get_soft_labels_from_the_cells_teacher_and_finetune_on_its_photos_alone(
        garment_data, tmp_path, monkeypatch):
    import keras

    import clothgan.study.run as run_mod
    from clothgan.evaluation.judge import predict_proba

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    real_train, calls = run_mod.train_study_classifier, []

    def record(x, y, *a, **k):
        calls.append((x, y, k))
        return real_train(x, y, *a, **k)

    monkeypatch.setattr(run_mod, "train_study_classifier", record)
    out = tmp_path / "r"
    assert _study(out, data, "--fractions", "0.5", "--seeds", "1",
                  "--methods", "cutpaste+soft,cutpaste+ft+w0.5,cutpaste+r0.5") == 0
    base, soft, (pre, fine), half = [c[:3] for c in calls[:1]], calls[1], calls[2:4], calls[4]
    x_real, y_real = base[0][0], base[0][1]
    n = len(y_real)
    teacher = keras.saving.load_model(out / "models" / "f0.5-s0-none.keras")
    with np.load(out / "synthetic" / "f0.5-s0-cutpaste.npz") as z:
        ys = z["y"]
    x, y, _ = soft
    assert y.shape == (2 * n, 10) and np.allclose(y[:n], np.eye(10)[y_real])
    assert np.allclose(y[n:], 0.5 * np.eye(10)[ys] + 0.5 * predict_proba(teacher, x[n:]), atol=1e-4)
    assert len(pre[0]) == n and np.allclose(pre[2]["sample_weight"], 0.5)      # synthetic alone
    assert np.array_equal(fine[0], x_real) and np.array_equal(fine[1], y_real)  # photos alone
    assert fine[2]["start"] is not None
    assert len(half[0]) == n + round(n / 2)
    cell = json.loads((out / "cells" / "f0.5-s0-cutpaste+ft+w0.5.json").read_text())
    assert cell["recipe"]["finetune"] and len(cell["classifier"]["phases"]) == 2


def test_the_useful_gan_trains_on_photos_and_their_cut_and_paste_and_is_kept_for_use(
        garment_data, tmp_path, monkeypatch):
    from clothgan.data.photos import read_train_images
    from clothgan.runs import read_run_info

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    _short_gan_epochs(monkeypatch)
    # Each usefulness score trains a classifier; 30 steps are enough to be one.
    monkeypatch.setattr("clothgan.training.selection.TSTR_STEPS", 30)
    out = tmp_path / "u"
    assert _study(out, data, "--fractions", "0.5", "--methods", "gan-useful", "--seeds", "1",
                  "--gan-minutes", "0.05") == 0
    run = out / "generators" / "f0.5-s0-useful"
    made = json.loads((run / "study_done.json").read_text())
    config = read_run_info(run).config
    with np.load(out / "synthetic" / "f0.5-s0-cutpaste.npz") as z:
        pasted = len(z["y"])
    assert made["kept_by"] == "usefulness" and made["extra_images"] == pasted > 0
    assert config["extra_images"] == pasted and config["training"]["keep_best"] == "usefulness"
    assert config["train_images"] == pasted + len(read_train_images(run))
    best = json.loads((run / "best" / "best.json").read_text())
    assert best["metric"] == "usefulness" and 0 <= best["val_tstr"] <= 1
    cell = json.loads((out / "cells" / "f0.5-s0-gan-useful.json").read_text())
    assert cell["n_added"] == cell["n_real"]


def test_fit_trains_on_photos_plus_a_folder_by_a_recipe_and_never_overwrites(
        garment_data, tmp_path, monkeypatch, capsys):
    from clothgan.cli.main import main

    data, home = garment_data
    monkeypatch.setenv("CLOTHGAN_HOME", str(home))
    syn = tmp_path / "syn"
    rng = np.random.default_rng(0)
    for name in data.classes:
        (syn / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (28, 28), np.uint8)).save(syn / name / f"{i}.png")
    out = tmp_path / "m.keras"
    args = ["fit", "--synthetic", str(syn), "--out", str(out), "--dataset", data.dataset,
            "--steps", "20", "--recipe", "soft+w0.5", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["recipe"] == "soft+w0.5" and result["synthetic"] == 30 and out.stat().st_size > 0
    assert result["gain_points"] == pytest.approx(
        100 * (result["test_accuracy"] - result["real_only_test_accuracy"]), abs=0.01)
    stamp = out.stat().st_mtime_ns
    assert main(args) == 2 and out.stat().st_mtime_ns == stamp
    err = capsys.readouterr().err
    assert "already exists" in err and len(err.strip().splitlines()) == 1
