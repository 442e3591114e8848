"""The best-generator keeper, the CPU-time budget and choosing best/last generators."""
from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import make_tiny_folder  # noqa: E402

from clothgan.training import selection  # noqa: E402
from clothgan.training.callbacks import read_history_csv  # noqa: E402
from clothgan.cli import main  # noqa: E402
from clothgan.config import DataConfig, TrainConfig, preset  # noqa: E402
from clothgan.errors import ClothganError  # noqa: E402
from clothgan.labelled import read_manifest  # noqa: E402
from clothgan.gan.saved import load_generator
from clothgan.runs import generator_dir, read_run_info, TRUNCATION_FILE  # noqa: E402
from clothgan.training.selection import read_best, ValidationScorer  # noqa: E402
from clothgan.training.train import train  # noqa: E402

SEED = preset("reference")[0]     # the reference design: what these tests check
KEEP = TrainConfig(batch_size=16, epochs=3, precision="float32", seed=3, keep_best="fid",
                   eval_every=1)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> DataConfig:
    return DataConfig(dataset=str(make_tiny_folder(tmp_path_factory.mktemp("tiny_sel"), 6)))


class Scripted:
    """Replaces ValidationScorer.__call__: returns scripted FIDs and remembers each generator's weights.

    The keeper's calls (no truncation) pop the script; tune_truncation's calls score each noise
    scale t as |t - 0.7|, so 0.7 is the scale to choose.
    """

    def __init__(self, fids):
        self.fids = list(fids)
        self.weights = []
        self.truncations = []

    def __call__(self, generator, truncation=None):   # patched onto the class: no scorer arg
        if truncation is not None:
            self.truncations.append(truncation)
            return {"val_fid": abs(truncation - 0.7), "val_consistency": 0.5}
        self.weights.append([w.copy() for w in generator.get_weights()])
        return {"val_fid": self.fids.pop(0), "val_consistency": 0.5}


def test_keeper_keeps_the_best_scored_epoch_not_the_last(tiny_data, tmp_path, monkeypatch):
    script = Scripted([5.0, 3.0, 4.0])
    monkeypatch.setattr(ValidationScorer, "__call__", script.__call__)
    out = tmp_path / "run"
    train(out, tiny_data, SEED, training=KEEP, progress=False, verbose=False)

    best = read_best(out)
    assert best["epoch"] == 2 and best["val_fid"] == 3.0 and best["metric"] == "fid"
    assert generator_dir(out, "best") == out / "best"
    assert read_run_info(out / "best").epochs_done == 2 and read_run_info(out).epochs_done == 3
    kept, _ = load_generator(out, "best")
    last, _ = load_generator(out, "last")
    for a, b in zip(kept.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(last.get_weights(), script.weights[1]))
    rows = read_history_csv(out / "history.csv")
    assert [r["val_fid"] for r in rows] == [5.0, 3.0, 4.0]
    from clothgan.course import plots

    fig = plots.validation_curves({"run": rows, "no scores": [{"epoch": 1}]}, x="cpu_minutes")
    fid_ax = fig.axes[0]
    assert list(fid_ax.lines[0].get_ydata()) == [5.0, 3.0, 4.0]
    assert fid_ax.lines[1].get_ydata()[0] == 3.0            # the star on the best score

    # Resuming keeps the earlier best unless a later epoch beats it.
    script.fids = [6.0]
    train(out, resume=True, epochs=4, progress=False, verbose=False)
    assert read_best(out)["epoch"] == 2
    script.fids = [1.0]
    train(out, resume=True, epochs=5, progress=False, verbose=False)
    assert read_best(out)["epoch"] == 5


def test_generate_uses_the_kept_generator_unless_told_last(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setattr(ValidationScorer, "__call__", Scripted([2.0, 9.0, 9.0]).__call__)
    out = tmp_path / "run"
    train(out, tiny_data, SEED, training=KEEP, progress=False, verbose=False)
    shas = {}
    for which in ("best", "last"):
        dest = tmp_path / which
        assert main(["generate", "--run", str(out), "--per-class", "2", "--out", str(dest),
                     "--generator", which]) == 0
        shas[which] = {r["checkpoint_sha256"] for r in read_manifest(dest)}
        assert json.loads((dest / "dataset.json").read_text())["run"].endswith(
            "best" if which == "best" else "run")
    assert len(shas["best"]) == len(shas["last"]) == 1 and shas["best"] != shas["last"]


def test_training_ends_by_choosing_the_noise_scale_that_generate_uses(tiny_data, tmp_path,
                                                                      monkeypatch):
    from clothgan.sampling.sampler import Sampler

    from clothgan.config import GANConfig

    script = Scripted([4.0, 2.0, 3.0, 4.0, 2.0, 3.0])
    monkeypatch.setattr(ValidationScorer, "__call__", script.__call__)
    # The reference design (the reference preset) samples plain N(0, 1) noise, as the article does.
    plain = train(tmp_path / "plain", tiny_data, SEED, training=KEEP, progress=False, verbose=False)
    assert plain.truncation is None and script.truncations == []
    assert read_run_info(tmp_path / "plain" / "best").truncation == 1.0
    out = tmp_path / "run"
    result = train(out, tiny_data, GANConfig(tune_truncation=True), training=KEEP, progress=False,
                   verbose=False)
    assert script.truncations == list(selection.TRUNCATION_GRID)
    assert result.truncation == 0.7
    assert read_run_info(out / "best").truncation == 0.7
    assert read_run_info(out).truncation == 1.0            # the last epoch's generator was not tuned
    record = json.loads((out / "best" / TRUNCATION_FILE).read_text())
    assert record["truncation"] == 0.7 and len(record["scores"]) == len(selection.TRUNCATION_GRID)

    # generate samples with the chosen scale unless told another, and records which it used.
    sampler = Sampler.load(out, "float32")
    z = np.random.default_rng(0).standard_normal((4, sampler.latent_dim), dtype=np.float32)
    y = np.arange(4, dtype=np.int32)
    expected = np.asarray(sampler.model([z * np.float32(0.7), y], training=False))
    np.testing.assert_allclose(sampler.images(z, y), expected, atol=1e-6)
    for flag, used in (([], 0.7), (["--truncation", "1"], 1.0)):
        dest = tmp_path / f"gen{used}"
        assert main(["generate", "--run", str(out), "--per-class", "1", "--out", str(dest), *flag]) == 0
        assert json.loads((dest / "dataset.json").read_text())["truncation"] == used


def test_validation_scorer_is_deterministic_and_uses_the_judge(tiny_data, monkeypatch):
    from clothgan.gan import build_generator
    from clothgan.config import GANConfig

    scorer = ValidationScorer(tiny_data, 100, progress=False)
    assert len(scorer.labels) >= 2
    g = build_generator(GANConfig(), "float32")
    a, b = scorer(g), scorer(g)
    assert a == b
    assert np.isfinite(a["val_fid"]) and a["val_fid"] > 0 and 0.0 <= a["val_consistency"] <= 1.0
    # A generator that returns the validation photos themselves scores (near) zero FID and the
    # judge's own accuracy as consistency.
    val = __import__("clothgan.data", fromlist=["load_split"]).load_split(tiny_data, "val")

    class Replay:
        def __call__(self, inputs, training=False):
            return val.x[: len(inputs[1])]

    # The noise scale reaches the generator: a scale of 0.5 halves the noise it is given.
    seen = []

    class Echo:
        def __call__(self, inputs, training=False):
            seen.append(np.asarray(inputs[0]))
            return np.zeros((len(inputs[1]), 28, 28, 1), np.float32)

    scorer.images(Echo(), 0.5)
    scorer.images(Echo())
    np.testing.assert_allclose(seen[0], 0.5 * seen[1], rtol=1e-6)
    assert scorer(g, 0.5) != a

    s = scorer(Replay())
    judge_acc = float(np.mean(scorer.judge.predict(val.x, verbose=0).argmax(1) == val.y))
    assert s["val_fid"] < 0.01 * a["val_fid"]
    assert s["val_consistency"] == pytest.approx(judge_acc)


def test_cpu_budget_stops_between_epochs_and_records_cpu_time(tiny_data, tmp_path):
    out = tmp_path / "run"
    training = KEEP.replace(keep_best="none", epochs=50)
    result = train(out, tiny_data, SEED, training=training, cpu_minutes=1e-4, progress=False,
                   verbose=False)
    assert result.epochs_done == 1
    rows = read_history_csv(out / "history.csv")
    assert rows[0]["cpu_seconds"] > 0
    # Resuming with budget already spent trains nothing more.
    assert train(out, resume=True, cpu_minutes=1e-4, progress=False, verbose=False).epochs_done == 1
    result = train(out, resume=True, epochs=3, progress=False, verbose=False)
    cpu = [r["cpu_seconds"] for r in read_history_csv(out / "history.csv")]
    assert result.epochs_done == 3 and cpu == sorted(cpu) and len(set(cpu)) == 3


def test_bad_settings_are_reported(tiny_data, tmp_path, capsys):
    with pytest.raises(ValueError, match="keep_best"):
        TrainConfig(keep_best="loss")
    assert main(["train", "--out", str(tmp_path / "r"), "--cpu-minutes", "0"]) == 2
    err = capsys.readouterr().err
    assert "--cpu-minutes: must be > 0" in err and err.count("\n") == 1
    with pytest.raises(ClothganError, match="generator must be one of"):
        generator_dir(tmp_path, "newest")


def test_keeper_metric_must_be_known():
    with pytest.raises(ValueError, match="metric"):
        selection.BestKeeper("x", None, None, None, metric="loss")


def test_usefulness_is_what_a_classifier_learns_from_the_images_and_chooses_the_noise_scale():
    """A generator that draws its class scores far above one that ignores it; the noise scale
    chosen for usefulness is the one whose train-on-synthetic accuracy is highest, not its FID's."""
    val_y = np.repeat(np.arange(3), 12)
    val_x = np.full((36, 8, 8, 1), -1.0, np.float32)
    for i, c in enumerate(val_y):
        val_x[i, 3 * c:3 * c + 3] = 1.0            # rows: flips and shifts keep the class

    def generator(draws_class: bool):
        z, label = keras.Input((4,)), keras.Input((), dtype="int32")
        if draws_class:
            onehot = keras.layers.Lambda(lambda t: keras.ops.one_hot(t, 3))(label)
        else:   # a garment of a class drawn from the noise, whatever the label asks for
            onehot = keras.layers.Lambda(lambda n: keras.ops.one_hot(keras.ops.argmax(n[:, :3], 1), 3))(z)
        cols = keras.layers.Lambda(lambda o: keras.ops.repeat(o, 3, axis=1)[:, :8])(onehot)
        img = keras.layers.Lambda(lambda c: keras.ops.tile(c[:, :, None, None], (1, 1, 8, 1)) * 2 - 1)(cols)
        return keras.Model([z, label], img)

    good = selection.usefulness(generator(True), val_x, val_y, 3)
    blind = selection.usefulness(generator(False), val_x, val_y, 3)
    assert good >= 0.9 and blind <= 0.5

    class Stub:
        def __call__(self, generator, truncation=1.0, usefulness=False):
            assert usefulness
            return {"val_fid": truncation, "val_tstr": 1 - abs(truncation - 0.8)}

    best, scores = selection.choose_truncation(None, Stub(), metric="usefulness")
    assert best == 0.8 and set(scores) == set(selection.TRUNCATION_GRID)
