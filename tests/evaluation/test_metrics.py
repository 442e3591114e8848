"""clothgan.metrics: the statistics on known cases, the full evaluation on a toy problem and on real data."""
from __future__ import annotations

import json
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from clothgan.evaluation.judge import ClassifierConfig
from clothgan.config import CLASSES, DataConfig
from clothgan.errors import ClothganError
from clothgan.data.folder import read_image_folder
from clothgan.evaluation.distances import fid, frechet_distance, kid, memorisation_check, mmd2_unbiased, nearest_neighbours
from clothgan.evaluation.evaluate import EvalConfig, evaluate


# -- FID / KID ------------------------------------------------------------------------------------

def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    assert fid(f, f) == pytest.approx(0.0, abs=1e-6)
    values = [fid(f, f + rng.normal(scale=s, size=f.shape)) for s in (0.1, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_frechet_distance_matches_closed_forms():
    rng = np.random.default_rng(1)
    d = 6
    # Equal covariances: only the means count.
    cov = np.eye(d) * 2.0
    assert frechet_distance(np.zeros(d), cov, np.full(d, 0.5), cov) == pytest.approx(d * 0.25)
    # Non-commuting covariances: tr sqrt(C1 C2) = sum of sqrt of eigenvalues of C1 C2.
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    c1, c2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    tr_sqrt = np.sum(np.sqrt(np.linalg.eigvals(c1 @ c2).real))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * tr_sqrt
    assert frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected, rel=1e-8)
    # Large samples of N(0, I) and N(m, I) approach |m|^2.
    x, y = rng.normal(size=(20000, 4)), rng.normal(size=(20000, 4)) + 1.0
    assert fid(x, y) == pytest.approx(4.0, rel=0.05)


def test_kid_is_unbiased_near_zero_for_one_distribution():
    rng = np.random.default_rng(2)
    same = [mmd2_unbiased(rng.normal(size=(60, 8)), rng.normal(size=(60, 8))) for _ in range(300)]
    mean, se = np.mean(same), np.std(same) / np.sqrt(len(same))
    assert abs(mean) < 3 * se                 # unbiased: centred on 0 (a biased estimator is > 0)
    assert min(same) < 0 < max(same)
    shifted = kid(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 0.5)[0]
    assert shifted > 20 * abs(mean)


def test_nearest_neighbours_matches_brute_force():
    rng = np.random.default_rng(3)
    q, r = rng.normal(size=(37, 5)), rng.normal(size=(50, 5))
    idx, dist = nearest_neighbours(q, r, chunk=8)
    full = np.sqrt(((q[:, None] - r[None]) ** 2).mean(-1))
    np.testing.assert_array_equal(idx, full.argmin(1))
    np.testing.assert_allclose(dist, full.min(1), rtol=1e-4)


# -- memorisation ---------------------------------------------------------------------------------

def _blobs(rng, n, size=16):
    """Random smooth images in [-1, 1] (N, size, size, 1): two Gaussian blobs on a background."""
    yy, xx = np.mgrid[:size, :size] / size
    out = np.empty((n, size, size, 1), np.float32)
    for i in range(n):
        img = np.full((size, size), rng.uniform(-1, 0))
        for _ in range(2):
            cy, cx, s = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.2)
            img += 1.5 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        out[i, :, :, 0] = np.clip(img, -1, 1)
    return out


def test_memorisation_flags_copies_not_fresh_samples():
    rng = np.random.default_rng(4)
    train, heldout, fresh = _blobs(rng, 400), _blobs(rng, 200), _blobs(rng, 100)
    copies = train[:50] + rng.normal(scale=0.003, size=train[:50].shape).astype(np.float32)
    mem = memorisation_check(np.concatenate([copies, fresh]), train, heldout, quantile=0.02, top=5)
    assert mem.share_real == pytest.approx(0.02, abs=0.011)
    assert 50 / 150 <= mem.share_synthetic <= 56 / 150          # all 50 copies, few fresh ones
    assert all(c["file"] < 50 for c in mem.closest)              # closest pairs are the copies
    assert mem.pairs.shape == (5, 2, 16, 16, 1)
    np.testing.assert_allclose(mem.pairs[0, 0], mem.pairs[0, 1], atol=0.02)
    only_fresh = memorisation_check(fresh, train, heldout, quantile=0.02)
    assert only_fresh.share_synthetic <= 0.06
    assert only_fresh.median_synthetic == pytest.approx(only_fresh.median_real, rel=0.25)


# -- the whole evaluation on a toy problem ------------------------------------------------------

def _toy(rng, n, size=12):
    """10 classes: a bright horizontal bar whose row encodes the class, plus noise."""
    y = rng.integers(0, 10, n).astype(np.int32)
    x = rng.normal(-0.6, 0.2, size=(n, size, size, 1)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, 1 + c, 2:-2, 0] += 1.5
    return np.clip(x, -1, 1), y


@pytest.fixture(scope="module")
def toy_real():
    from clothgan.data import Arrays

    rng = np.random.default_rng(5)
    out = {}
    for split, n in (("train", 300), ("val", 200), ("test", 200)):
        x, y = _toy(rng, n)
        out[split] = Arrays(x, y, [f"{split}/{i}" for i in range(n)], CLASSES)
    return out


def _imageset(tmp_path, x, y):
    from clothgan.data.folder import ImageSet
    return ImageSet(tmp_path, x, y, [f"{CLASSES[c]}/{i}.png" for i, c in enumerate(y)], CLASSES)


def test_cas_consistency_and_augmentation_on_toy_problem(toy_real, tmp_path):
    """Good synthetic data (same process) scores like real data; mislabelled data is caught."""
    rng = np.random.default_rng(6)
    x, y = _toy(rng, 400)
    cfg = EvalConfig(data=DataConfig(dataset="toy", image_size=12), kid_subsets=10,
                     classifier=ClassifierConfig(epochs=8, width=8, feature_dim=32, augment=False,
                                                 learning_rate=3e-3))
    good = evaluate(_imageset(tmp_path, x, y), cfg, progress=False, real=toy_real)
    # Every image labelled as the next class: outnumbers the real training images, so it misleads.
    bad = evaluate(_imageset(tmp_path, x, (y + 1) % 10), cfg, progress=False, real=toy_real)

    assert good.judge.test_accuracy > 0.9 and bad.judge.cached
    assert good.real_accuracy == pytest.approx(good.judge.test_accuracy)
    assert good.class_consistency > 0.9 and bad.class_consistency < 0.1
    assert good.cas_accuracy >= 0.9 * good.real_trained_accuracy
    assert bad.cas_accuracy < 0.1
    assert good.augmented_accuracy >= good.real_full_accuracy - 0.05
    assert bad.augmented_accuracy < good.augmented_accuracy - 0.2
    # Same process as the real data: distances like real-vs-real. FID alone cannot tell the
    # mislabelled set apart (it is label-blind), which is why consistency and CAS exist.
    assert good.fid < 3 * good.fid_reference and bad.fid < 3 * bad.fid_reference, (
        good.fid, good.fid_reference, bad.fid, bad.fid_reference)
    d = good.to_dict()
    json.dumps(d)
    assert {c["metric"] for c in d["comparisons"]} >= {"class consistency", "train on synthetic, test on real"}
    assert all(c["reference"] is not None for c in d["comparisons"])
    report, table = good.report(), good.to_markdown()
    for c in good.comparisons():
        assert c.metric in report and c.metric in table
    assert len(table.splitlines()) == 2 + len(good.comparisons())


def test_prior_weights_give_the_target_mix():
    from clothgan.evaluation.judge import prior_weights

    y = np.repeat(np.arange(3), [10, 20, 30])
    w = prior_weights(y, np.array([6, 3, 1, 40]))   # class 3 has no images here: ignored
    mass = np.array([w[y == c].sum() for c in range(3)])
    np.testing.assert_allclose(mass / mass.sum(), [0.6, 0.3, 0.1])
    assert w.mean() == pytest.approx(1.0)
    assert np.all(w[y == 0] == w[y == 0][0])         # one weight per class
    assert np.all(prior_weights(y, np.array([0, 5, 5]))[y == 0] == 0)
    with pytest.raises(ValueError, match="no images"):
        prior_weights(y, np.array([0, 0, 0, 9]))


def test_sample_weights_set_what_a_classifier_learns():
    """On pure noise a classifier can only learn the label prior: the weighted one's.

    The weighted prior is 0.85 on class 0, the unweighted one 0.25; four short epochs move the
    weighted model only part of the way (0.6 here, a little less or more on other CPUs), so the test asks for a clear gap
    between the two runs rather than a level: ignored weights would leave no gap at all."""
    from clothgan.evaluation.judge import predict_proba, prior_weights, train_classifier

    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.3, size=(400, 12, 12, 1)).astype(np.float32)
    y = np.repeat(np.arange(4), 100).astype(np.int32)
    cfg = ClassifierConfig(epochs=4, width=8, feature_dim=16, augment=False, learning_rate=3e-3)
    probe = rng.normal(0, 0.3, size=(200, 12, 12, 1)).astype(np.float32)
    mean_p = {}
    for name, w in (("equal", None), ("skewed", prior_weights(y, np.array([85, 5, 5, 5])))):
        clf = train_classifier(x, y, 4, cfg, progress=False, sample_weight=w)
        mean_p[name] = predict_proba(clf, probe).mean(0)
    skewed, equal = mean_p["skewed"], mean_p["equal"]
    assert skewed[0] - equal[0] > 0.2, mean_p           # measured: 0.60 against 0.21
    assert skewed[0] > 2.5 * skewed[1:].max(), mean_p   # measured: 3.8x (weights ignored: ~1.3x)
    assert equal.max() - equal.min() < 0.15, mean_p     # measured: 0.07
    with pytest.raises(ValueError, match="sample_weight"):
        train_classifier(x, y, 4, cfg, progress=False, sample_weight=np.ones(3))


def test_class_mix_reads_consistency_at_the_test_mix(toy_real, tmp_path):
    """Half the classes mislabelled: at the test mix that half counts for what it weighs there."""
    from clothgan.data import Arrays

    te = toy_real["test"]
    # A test split skewed to the well-made classes 0-4.
    keep = np.concatenate([np.flatnonzero(te.y < 5), np.flatnonzero(te.y >= 5)[::4]])
    real = {**toy_real, "test": Arrays(te.x[keep], te.y[keep], [te.paths[i] for i in keep], CLASSES)}
    rng = np.random.default_rng(7)
    x, y = _toy(rng, 300)
    y = np.where(y < 5, y, 5 + (y - 5 + 1) % 5)      # classes 5-9 carry the next one's label
    cfg = EvalConfig(data=DataConfig(dataset="toy", image_size=12), kid_subsets=5,
                     classifier=ClassifierConfig(epochs=8, width=8, feature_dim=32, augment=False,
                                                 learning_rate=3e-3),
                     cas=False, augmentation=False, memorisation=False)
    at_real = evaluate(_imageset(tmp_path, x, y), cfg, progress=False, real=real)
    as_is = evaluate(_imageset(tmp_path, x, y), replace(cfg, class_mix="as-is"),
                     progress=False, real=real)

    per = np.array([at_real.per_class_consistency[c] for c in CLASSES])
    n_test = np.bincount(real["test"].y, minlength=10)
    assert per[:5].min() > 0.9 and per[5:].max() < 0.1
    assert at_real.class_consistency == pytest.approx(np.dot(per, n_test) / n_test.sum())
    assert as_is.class_consistency == pytest.approx(np.mean(np.isin(y, range(5))), abs=0.05)
    assert at_real.class_consistency > as_is.class_consistency + 0.2
    assert at_real.class_consistency_balanced == pytest.approx(per.mean())
    assert at_real.real_balanced_accuracy > 0.9       # the judge is near perfect on the toy
    rows = {c.metric: c for c in at_real.comparisons()}
    assert "weighted to its class mix" in rows["class consistency"].reference_is
    assert "weighted" not in {c.metric: c for c in as_is.comparisons()}["class consistency"].reference_is
    with pytest.raises(ValueError, match="class_mix"):
        EvalConfig(class_mix="uniform")


def test_classifier_runs_report_the_median_of_seeded_trainings(toy_real, tmp_path):
    rng = np.random.default_rng(8)
    x, y = _toy(rng, 300)
    y = np.where(rng.random(len(y)) < 0.4, rng.integers(0, 10, len(y)), y)   # 40% noisy labels
    cfg = EvalConfig(data=DataConfig(dataset="toy", image_size=12), kid_subsets=5, classifier_runs=3,
                     classifier=ClassifierConfig(epochs=3, width=8, feature_dim=32, augment=False,
                                                 learning_rate=3e-3),
                     augmentation=False, memorisation=False)
    r = evaluate(_imageset(tmp_path, x, y), cfg, progress=False, real=toy_real)
    assert len(r.cas_runs) == 3 and len(set(r.cas_runs)) > 1, r.cas_runs   # three seeds, three results
    assert r.cas_accuracy == pytest.approx(np.median(r.cas_runs))
    row = {c.metric: c for c in r.comparisons()}["train on synthetic, test on real"]
    assert row.value_std == pytest.approx(np.std(r.cas_runs)) and "median of 3" in row.meaning
    # The real baseline is trained with the same seeds, not taken from the judge's one training.
    assert len(r.real_trained_runs) == 3
    assert r.real_trained_accuracy == pytest.approx(np.median(r.real_trained_runs))
    assert row.reference_std == pytest.approx(np.std(r.real_trained_runs))
    assert "median of 3" in row.reference_is
    one = evaluate(_imageset(tmp_path, x, y), replace(cfg, classifier_runs=1), progress=False, real=toy_real)
    assert one.cas_runs == r.cas_runs[:1]                                  # run 1 is the seed's own
    assert one.real_trained_runs is None and one.real_trained_accuracy == one.real_accuracy
    with pytest.raises(ValueError, match="classifier_runs"):
        EvalConfig(classifier_runs=0)


def test_inception_needs_local_weights(toy_real, tmp_path, monkeypatch):
    from clothgan.evaluation.distances import inception_features

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("CLOTHGAN_INCEPTION_WEIGHTS", raising=False)
    x, y = _toy(np.random.default_rng(7), 20)
    with pytest.raises(ClothganError, match="never downloads"):
        evaluate(_imageset(tmp_path, x, y), EvalConfig(data=DataConfig(dataset="toy", image_size=12),
                                                       inception=True), progress=False, real=toy_real)
    assert not (tmp_path / "keras").exists()
    # The feature plumbing (resize to 299, grey to RGB, pooled 2048-d), with random weights.
    f = inception_features(x[:3], None)
    assert f.shape == (3, 2048) and np.isfinite(f).all()


# -- image folders and the command line ---------------------------------------------------------

def test_read_image_folder_and_its_errors(tmp_path):
    for c in ("hat", "t-shirt"):
        (tmp_path / "ok" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((10, 10), 40 * i, np.uint8)).save(tmp_path / "ok" / c / f"{i}.png")
    (tmp_path / "ok" / "manifest.csv").write_text("file\n")
    s = read_image_folder(tmp_path / "ok")
    assert s.x.shape == (6, 10, 10, 1) and s.counts() == {"hat": 3, "t-shirt": 3}
    assert s.x.min() == -1.0 and s.y.tolist() == [1, 1, 1, 9, 9, 9]

    (tmp_path / "ok" / "socks").mkdir()
    with pytest.raises(ClothganError, match="socks"):
        read_image_folder(tmp_path / "ok")
    (tmp_path / "ok" / "socks").rmdir()
    assert s.converted == 0 and not s.skipped
    # Mixed sizes and modes go through the training photos' decoder at one size and mode.
    Image.new("RGB", (20, 12), (250, 250, 250)).save(tmp_path / "ok" / "hat" / "big.png")
    mixed = read_image_folder(tmp_path / "ok")
    assert mixed.x.shape == (7, 28, 28, 1) and mixed.converted == 7
    at10 = read_image_folder(tmp_path / "ok", size=10, channels=1)
    assert at10.x.shape == (7, 10, 10, 1) and at10.converted == 1
    np.testing.assert_array_equal(at10.x[:3], s.x[:3])       # files already 10x10 grey: unchanged
    Image.new("L", (1, 1)).save(tmp_path / "ok" / "hat" / "dot.png")
    with pytest.warns(UserWarning, match="dot.png: skipped"):
        skipped = read_image_folder(tmp_path / "ok", size=10, channels=1)
    assert len(skipped.y) == 7 and [Path(k.path).name for k in skipped.skipped] == ["dot.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClothganError, match="no images"):
        read_image_folder(tmp_path / "empty")
    with pytest.raises(ClothganError, match="no such folder"):
        read_image_folder(tmp_path / "missing")


def test_cli_evaluate_json_end_to_end(tiny_folder, tmp_path, capsys):
    """generate with a tiny run, then evaluate against a tiny real folder through the CLI."""
    from clothgan.cli import main
    from helpers import make_tiny_run

    run = make_tiny_run(tmp_path / "run", size=16, channels=3)
    assert main(["generate", "--run", str(run), "--per-class", "4", "--out", str(tmp_path / "syn")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--images", str(tmp_path / "syn"), "--dataset", str(tiny_folder),
                 "--classifier-epochs", "1", "--classifier-runs", "2", "--class-mix", "as-is",
                 "--skip", "memorisation", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_images"] == 40 and d["image_size"] == 16 and d["channels"] == 3
    assert d["data"]["dataset"] == str(tiny_folder)
    assert 0 <= d["class_consistency"] <= 1 and d["fid"] >= 0
    assert d["class_mix"] == "as-is" and len(d["cas_runs"]) == len(d["augmented_runs"]) == 2
    assert main(["evaluate", "--images", str(tmp_path / "syn"), "--classifier-runs", "0"]) == 2
    assert "--classifier-runs: must be >= 1" in capsys.readouterr().err
    assert main(["evaluate", "--images", str(tmp_path / "nothing")]) == 2
    assert "no such folder" in capsys.readouterr().err


@pytest.mark.real_data
@pytest.mark.slow
def test_real_images_score_as_real(real_data_dir, shared_home, tmp_path, monkeypatch):
    """Real test images written as a 'synthetic' folder: consistency equals the judge's accuracy,
    and copies of training images are flagged as memorised."""
    from clothgan.core.pixels import to_uint8
    from clothgan.data import load_split

    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("CLOTHGAN_HOME", str(shared_home))     # the prepared dataset is reused
    data = DataConfig()
    test, train = load_split(data, "test"), load_split(data, "train")

    def write(folder, arrays, n=None):
        for i, (img, label) in enumerate(zip(arrays.x[:n], arrays.y[:n])):
            p = folder / CLASSES[label] / f"{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(to_uint8(img)[:, :, 0]).save(p)

    write(tmp_path / "test", test)
    write(tmp_path / "copies", train, 200)
    cfg = EvalConfig(classifier=ClassifierConfig(epochs=1), cas=False, augmentation=False, kid_subsets=10)
    r = evaluate(tmp_path / "test", cfg, progress=False)
    assert r.n_images == len(test.x)
    assert r.class_consistency == pytest.approx(r.judge.test_accuracy, abs=1e-9)
    assert r.per_class_consistency == pytest.approx(r.per_class_real_accuracy)
    assert r.class_consistency_balanced == pytest.approx(r.real_balanced_accuracy, abs=1e-9)
    assert r.fid < r.fid_reference                      # a subset of the reference set itself
    assert r.memorisation.share_synthetic <= 0.05
    c = evaluate(tmp_path / "copies", cfg, progress=False)
    assert c.judge.cached and c.memorisation.share_synthetic == 1.0
    assert c.memorisation.closest[0]["distance"] < 1e-6


# -- the shipped judge ----------------------------------------------------------------------------

def _ship(folder, data, cfg, real):
    """A judge trained on `real`'s training split, written as clothgan ships one."""
    from clothgan.evaluation import judge as J

    model = J.train_classifier(real["train"].x, real["train"].y, 10, cfg, progress=False)
    folder.mkdir()
    model.save_weights(folder / J.SHIPPED_WEIGHTS)
    (folder / "info.json").write_text(json.dumps({"recipe": J.judge_recipe(data, cfg, real["train"].y)}))
    return model


def test_a_shipped_judge_stands_in_only_for_its_recipe_and_labels(toy_real, tmp_path, monkeypatch):
    from clothgan.evaluation import judge as J

    data = DataConfig(dataset="toy", image_size=12)
    cfg = ClassifierConfig(epochs=2, width=8, feature_dim=32, augment=False)
    model = _ship(tmp_path / "shipped", data, cfg, toy_real)
    monkeypatch.setattr(J, "SHIPPED_JUDGE", tmp_path / "shipped")
    y = toy_real["train"].y
    assert J.shipped_judge(data, cfg.replace(precision="float32"), y) is not None   # any precision
    assert J.shipped_judge(data, cfg.replace(epochs=3), y) is None                  # another recipe
    assert J.shipped_judge(data, cfg, (y + 1) % 10) is None                         # other photos
    assert J.shipped_judge(data.replace(image_size=14), cfg, y) is None             # other data

    loaded, info = J.domain_classifier(data, cfg, toy_real, progress=False)
    assert info.shipped and info.epochs == 2 and info.train_seconds == 0.0
    x = toy_real["test"].x
    np.testing.assert_allclose(J.predict_proba(loaded, x), J.predict_proba(model, x), atol=1e-5)
    assert info.test_accuracy == pytest.approx(J.accuracy(model, x, toy_real["test"].y))


def test_quick_evaluation_takes_the_full_judge_where_one_is_shipped_else_its_own(toy_real, tmp_path,
                                                                               monkeypatch):
    from clothgan.evaluation import judge as J

    data = DataConfig(dataset="toy", image_size=12)
    full = ClassifierConfig(epochs=4, width=8, feature_dim=32, augment=False)
    rough = full.replace(epochs=1)
    monkeypatch.setattr(J, "SHIPPED_JUDGE", tmp_path / "nothing")
    cfg = EvalConfig.quick(data=data, judge=full, classifier=rough, cas=False, augmentation=False,
                           memorisation=False)
    images = _imageset(tmp_path, toy_real["test"].x, toy_real["test"].y)
    alone = evaluate(images, cfg, progress=False, real=toy_real)
    assert not alone.judge.shipped and alone.judge.epochs == 1       # no full judge: trains the rough one
    _ship(tmp_path / "shipped", data, full, toy_real)
    monkeypatch.setattr(J, "SHIPPED_JUDGE", tmp_path / "shipped")
    shipped = evaluate(images, cfg, progress=False, real=toy_real)
    assert shipped.judge.shipped and shipped.judge.epochs == 4


@pytest.mark.real_data
def test_the_shipped_judge_is_the_default_datas(real_data_dir, shared_home, monkeypatch):
    """The judge in the package stands in for the default data's: the data, the recipe and the
    labels it was trained on are still what `clothgan evaluate` would train it on."""
    from clothgan.data import load_split
    from clothgan.evaluation.judge import shipped_judge

    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("CLOTHGAN_HOME", str(shared_home))
    assert shipped_judge(DataConfig(), ClassifierConfig(), load_split(DataConfig(), "train").y) is not None
