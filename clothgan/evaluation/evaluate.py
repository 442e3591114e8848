"""Judging synthetic images against real held-out ones; every number comes with its reference.

- FID and KID in the feature space of a small classifier trained on the real training split
  (`clothgan.evaluation.judge`), next to the same distance between two real held-out sets;
- class consistency: share of synthetic images the classifier assigns to their intended class,
  next to its accuracy on real held-out images;
- train-on-synthetic, test-on-real accuracy (Classification Accuracy Score), next to the same
  classifier trained on real images;
- augmentation gain: real + synthetic training against real alone, on the same real test set;
- memorisation: distance from each synthetic image to its nearest training image, with a
  threshold set by how close real held-out images come to the training set.

By default (class_mix="real") every comparison is made at the real data's class mix: a folder
with equal counts per class is weighted to the test split's mix for consistency and to the
training split's for the classifiers it trains. Otherwise a uniform set would be read against
an accuracy measured on a skewed mix, and a classifier trained on it would learn a uniform
class prior that the real-trained one does not have."""
from __future__ import annotations

import os
import time
from pathlib import Path
from dataclasses import dataclass, replace

import numpy as np

from ..config import (CLASS_MIXES, DataConfig, check_bool, check_choice, check_choice_int,
                      check_float, check_int, check_seed, set_fields)
from ..data.folder import ImageSet, common_geometry, folder_files, read_image_folder
from ..data.arrays import load_splits
from ..errors import ClothganError, ConfigError
from ..labelled import DATASET_FILE, read_dataset_json
from .distances import (ENV_INCEPTION, INCEPTION_FILE, FeatureSpace, fid, inception_features,
                        inception_weights, kid, memorisation_check)
from .judge import (ClassifierConfig, balanced_accuracy, domain_classifier, has_judge,
                    predict_proba, prior_weights, train_classifier)
from .report import EvaluationResult

@dataclass(frozen=True)
class EvalConfig:
    """What `evaluate` measures and with which classifier.

    data: the real data to compare with; None takes the generating run's data config (from
    DIR/dataset.json) or the defaults. Image size and channels always come from the images.
    """

    data: DataConfig | None = None
    classifier: ClassifierConfig = ClassifierConfig()
    judge: ClassifierConfig | None = None    # the judge's recipe where a judge of it is cached or
                                             # shipped (else `classifier`'s trains); None: `classifier`'s
    kid_subset_size: int = 200
    kid_subsets: int = 50
    memorisation_quantile: float = 0.01
    memorisation_space: str = "pixel"        # "pixel" or "features"
    cas: bool = True                         # train-on-synthetic, test-on-real
    augmentation: bool = True                # real + synthetic vs real alone
    memorisation: bool = True
    inception: bool | None = False           # True: required; None: when weights are present
    max_per_class: int | None = None
    seed: int = 0
    class_mix: str = "real"                  # "real": weigh synthetic images to the real mix;
                                             # "as-is": take the folder's own mix (CLASS_MIXES)
    classifier_runs: int = 1                 # classifiers trained per check (CAS, augmentation),
                                             # seeds seed, seed+1, ...: their median is reported;
                                             # above 1, the train-on-real baseline is trained
                                             # afresh with the same seeds (else: the judge)

    def __post_init__(self) -> None:
        if self.data is not None and not isinstance(self.data, DataConfig):
            raise ConfigError(f"data must be a DataConfig or None, got {self.data!r}")
        if not isinstance(self.classifier, ClassifierConfig):
            raise ConfigError(f"classifier must be a ClassifierConfig, got {self.classifier!r}")
        if self.inception is not None:
            check_bool("inception", self.inception)
        if self.max_per_class is not None:
            check_int("max_per_class", self.max_per_class, 1)
        set_fields(self, kid_subset_size=check_int("kid_subset_size", self.kid_subset_size, 2),
                   kid_subsets=check_int("kid_subsets", self.kid_subsets, 1),
                   memorisation_quantile=check_float("memorisation_quantile",
                                                     self.memorisation_quantile, 0, 1),
                   memorisation_space=check_choice("memorisation_space", self.memorisation_space,
                                                   ("pixel", "features")),
                   cas=check_bool("cas", self.cas), augmentation=check_bool("augmentation", self.augmentation),
                   memorisation=check_bool("memorisation", self.memorisation),
                   seed=check_seed("seed", self.seed),
                   class_mix=check_choice("class_mix", self.class_mix, CLASS_MIXES),
                   classifier_runs=check_int("classifier_runs", self.classifier_runs, 1))

    @classmethod
    def quick(cls, **changes) -> "EvalConfig":
        """Classifiers trained for 3 epochs, 10 KID subsets: rough numbers in seconds (CI, smoke
        runs). The judge is the full recipe's where one is shipped or cached (the default data),
        so FID, KID and class consistency rank as a full evaluation's do; only the classifiers
        the checks train (train on synthetic, real + synthetic) stay rough.
        """
        return cls(**{"classifier": ClassifierConfig(epochs=3), "judge": ClassifierConfig(),
                      "kid_subsets": 10, **changes})


def match_class_counts(y_a: np.ndarray, y_b: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Index subsets of a and b with equal per-class counts (min of the two, per class)."""
    ia, ib = [], []
    for c in np.intersect1d(np.unique(y_a), np.unique(y_b)):
        a, b = np.flatnonzero(y_a == c), np.flatnonzero(y_b == c)
        k = min(len(a), len(b))
        ia.append(rng.choice(a, k, replace=False))
        ib.append(rng.choice(b, k, replace=False))
    return np.concatenate(ia), np.concatenate(ib)


def _real_data_for(root, cfg: EvalConfig) -> tuple[DataConfig, tuple[int, int] | None]:
    """(the real data to compare with, the (size, channels) its maker wrote, if recorded):
    cfg.data, else the data config in DIR/dataset.json (the generating run's), else defaults."""
    meta_path = Path(root) / DATASET_FILE
    meta = read_dataset_json(root)
    data = cfg.data
    run_config = meta.get("run_config") or {}
    if not isinstance(run_config, dict):
        raise ClothganError(f"{meta_path}: broken {DATASET_FILE} (run_config is not a mapping); "
                            "delete it or write the folder again")
    if data is None:
        run_data = run_config.get("data")
        try:
            data = DataConfig.from_dict(run_data) if isinstance(run_data, dict) else DataConfig()
        except (ConfigError, TypeError) as exc:
            raise ClothganError(f"{meta_path}: broken {DATASET_FILE} ({exc}); delete it or write "
                                "the folder again") from None
    size, channels = meta.get("image_size"), meta.get("channels")
    made = None
    if size is not None or channels is not None:
        try:
            made = check_int("image_size", size, 8), check_choice_int("channels", channels, (1, 3))
        except ConfigError as exc:
            raise ClothganError(f"{meta_path}: broken {DATASET_FILE} ({exc}); delete it or write "
                                "the folder again") from None
    return data, made


def load_images(images, cfg: EvalConfig) -> tuple[ImageSet, DataConfig]:
    """The folder's images at the judge's size and channels, and the real data config.

    Size and channels: what the folder's dataset.json records, else the images' own when they
    all share one square size and mode, else the real data config's (28x28 grey by default);
    other images are converted by the training photos' decoder.
    """
    if isinstance(images, ImageSet):
        data = cfg.data or DataConfig()
        return images, data.replace(image_size=int(images.x.shape[1]),
                                    channels=int(images.x.shape[3]))
    data, made = _real_data_for(images, cfg)
    files, _ = folder_files(images, data.classes, cfg.max_per_class)
    size, channels = made or common_geometry(files) or (data.image_size, data.channels)
    syn = read_image_folder(images, data.classes, cfg.max_per_class, size, channels)
    return syn, data.replace(image_size=size, channels=channels)


def evaluate(images: str | os.PathLike | ImageSet, cfg: EvalConfig = EvalConfig(),
             progress: bool = True, real=None) -> EvaluationResult:
    """Score a labelled synthetic image folder against the real data (see the module docstring).

    `real` may pass already loaded real splits {"train", "val", "test"} (Arrays) for cfg.data.
    Each metric family is one function returning its own EvaluationResult fields (distances,
    consistency, train_on_synthetic, augmentation, memorisation); the report is all of them
    together, and `seconds` times each step.
    """
    from tqdm.auto import tqdm

    if not isinstance(cfg, EvalConfig):
        raise ConfigError(f"cfg must be an EvalConfig, got {cfg!r}")
    check_bool("progress", progress)
    weights = inception_weights() if cfg.inception is not False else None
    if cfg.inception and weights is None:
        raise ClothganError(f"Inception-v3 weights not found: put {INCEPTION_FILE} in "
                            f"~/.keras/models/ or set {ENV_INCEPTION} (clothgan never downloads them)")
    times: dict[str, float] = {}
    t = time.perf_counter()
    s = load_sets(images, cfg, real, progress)
    times["load"] = time.perf_counter() - t
    steps = ["judge", "features", "cas", "augmentation", "memorisation"]
    bar = tqdm(total=len(steps), desc="evaluate", unit="step", disable=not progress)

    def timed(name: str, measure):
        t0 = time.perf_counter()
        out = measure()
        times[name] = round(time.perf_counter() - t0, 2)
        bar.update(1)
        return out

    # The judge's own recipe where a judge of it is shipped or cached (EvalConfig.judge).
    recipe = (cfg.judge if cfg.judge is not None and has_judge(s.data, cfg.judge, s.real)
              else cfg.classifier)
    judge, judge_info = timed("judge", lambda: domain_classifier(s.data, recipe, s.real,
                                                                 progress=progress))
    dist, cons = timed("features", lambda: (distances(s, judge, weights, cfg),
                                            consistency(s, judge, cfg)))
    trainer = Classifiers(s, cfg, progress)
    cas = timed("cas", lambda: train_on_synthetic(trainer, s, cfg, cons))
    aug = timed("augmentation", lambda: augmentation(trainer, s, cfg, cons))
    mem = timed("memorisation", lambda: memorisation(s, judge, cfg))
    bar.close()
    syn = s.syn
    return EvaluationResult(
        images=str(syn.root), n_images=len(syn.x), counts=syn.counts(),
        image_size=int(syn.x.shape[1]), channels=int(syn.x.shape[3]), data=s.data.to_dict(),
        judge=judge_info, **_reported(dist), **_reported(cons), **_reported(cas),
        **_reported(aug), memorisation=mem, seconds=times, images_converted=syn.converted,
        images_skipped=[{"path": k.path, "reason": k.reason + (f" ({k.detail})" if k.detail else "")}
                        for k in syn.skipped])


def _reported(part: dict) -> dict:
    """A metric family's EvaluationResult fields (underscored keys are for the other checks)."""
    return {k: v for k, v in part.items() if not k.startswith("_")}


@dataclass
class Sets:
    """The synthetic images and the real splits they are compared with: `present` the classes
    the synthetic set has; i_syn and i_val equal per-class subsets of the synthetic and the real
    validation images of those classes (distances depend on the sample size and class mix)."""

    syn: ImageSet
    data: DataConfig
    real: dict
    present: np.ndarray
    te_mask: np.ndarray
    va_mask: np.ndarray
    i_syn: np.ndarray
    i_val: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        return self.syn.class_names


def load_sets(images, cfg: EvalConfig, real, progress: bool) -> Sets:
    """The synthetic images and the real splits, checked before any classifier trains."""
    syn, data = load_images(images, cfg)
    if tuple(data.classes) != tuple(syn.class_names):
        raise ClothganError(f"{syn.root}: classes {syn.class_names} differ from the data config's "
                            f"{data.classes}")
    real = real or load_splits(data, progress=progress)
    for name in ("train", "val", "test"):
        if len(real[name].x) < 2:
            raise ClothganError(f"the real {name} split of {data.dataset} has {len(real[name].x)} "
                                "images; the evaluation needs real held-out images of every split")
    va, te = real["val"], real["test"]
    present = np.unique(syn.y)
    rng = np.random.default_rng(cfg.seed)
    te_mask, va_mask = np.isin(te.y, present), np.isin(va.y, present)
    i_syn, i_val = match_class_counts(syn.y, va.y[va_mask], rng)
    if len(i_syn) < 2:
        raise ClothganError(f"{syn.root}: {len(syn.y)} usable image(s) of classes the real "
                            f"validation photos have; the evaluation needs at least 2 (more than "
                            "100 per class for stable numbers)")
    if cfg.cas and len(present) < 2:
        raise ClothganError(f"{syn.root}: images of one class only ({syn.class_names[present[0]]}); "
                            "a classifier trained on them can only ever answer that class. Give "
                            "images of at least 2 classes, or --skip cas")
    return Sets(syn, data, real, present, te_mask, va_mask, i_syn, i_val)


def distances(s: Sets, judge, weights, cfg: EvalConfig) -> dict:
    """FID and KID in the judge's feature space (and Inception-v3's), each beside the same
    distance between two real held-out sets."""
    va, te, syn = s.real["val"], s.real["test"], s.syn
    f = FeatureSpace(judge, te.x[s.te_mask])   # scaled by the real test features
    f_test, f_val, f_syn = f.reference, f(va.x[s.va_mask][s.i_val]), f(syn.x[s.i_syn])
    kid_syn = kid(f_syn, f_test, cfg.kid_subset_size, cfg.kid_subsets, cfg.seed)
    kid_ref = kid(f_val, f_test, cfg.kid_subset_size, cfg.kid_subsets, cfg.seed)
    inc, inc_ref = None, None
    if weights is not None:
        g_test = inception_features(te.x[s.te_mask], weights)
        inc = fid(inception_features(syn.x[s.i_syn], weights), g_test)
        inc_ref = fid(inception_features(va.x[s.va_mask][s.i_val], weights), g_test)
    return dict(n_fid=len(s.i_syn), fid=fid(f_syn, f_test), fid_reference=fid(f_val, f_test),
                kid=kid_syn[0], kid_std=kid_syn[1], kid_reference=kid_ref[0],
                kid_reference_std=kid_ref[1], kid_subsets=cfg.kid_subsets, inception_fid=inc,
                inception_fid_reference=inc_ref)


def consistency(s: Sets, judge, cfg: EvalConfig) -> dict:
    """The share of synthetic images the judge assigns to their intended class, beside its
    accuracy on real test photos (and, not reported, its test predictions for the checks)."""
    syn, te, names, present = s.syn, s.real["test"], s.names, s.present
    pred_syn = predict_proba(judge, syn.x).argmax(1)
    pred_te = predict_proba(judge, te.x).argmax(1)
    per_syn = {names[c]: float(np.mean(pred_syn[syn.y == c] == c)) for c in present}
    per_real = {names[c]: float(np.mean(pred_te[te.y == c] == c)) if np.any(te.y == c) else float("nan")
                for c in present}
    mask = s.te_mask
    # The test split's class mix weights per-class consistency: the accuracy it is read against
    # was measured at that mix.
    n_test = np.array([np.sum(te.y == c) for c in present], np.float64)
    value = (float(np.dot([per_syn[names[c]] for c in present], n_test) / n_test.sum())
             if cfg.class_mix == "real" and n_test.sum() > 0
             else float(np.mean(pred_syn == syn.y)))
    return dict(class_consistency=value, real_accuracy=float(np.mean(pred_te[mask] == te.y[mask])),
                per_class_consistency=per_syn, per_class_real_accuracy=per_real,
                class_mix=cfg.class_mix,
                class_consistency_balanced=float(np.mean(list(per_syn.values()))),
                real_balanced_accuracy=balanced_accuracy(pred_te[mask], te.y[mask]),
                _judge_test_predictions=pred_te)


class Classifiers:
    """Classifiers trained for the checks, each scored on the real test photos. With several runs
    per check the train-on-real baseline is trained afresh with the same seeds (one training per
    seed varies by several points, 0.64-0.76 on the real photos), once for both checks."""

    def __init__(self, s: Sets, cfg: EvalConfig, progress: bool):
        self.s, self.cfg, self.progress = s, cfg, progress
        self._real_preds = None
        tr = s.real["train"]
        # "real": synthetic images weighed to the real training split's class mix.
        self.syn_weights = (prior_weights(s.syn.y, np.bincount(tr.y, minlength=len(s.names)))
                            if cfg.class_mix == "real" else None)

    def fits(self, x, y, w, desc) -> list[np.ndarray]:
        """Predicted test labels of cfg.classifier_runs classifiers (seeds seed, seed+1, ...)
        trained on (x, y, w)."""
        preds, n, cfg = [], self.cfg.classifier_runs, self.cfg
        for k in range(n):
            clf = train_classifier(x, y, len(self.s.names),
                                   replace(cfg.classifier, seed=cfg.classifier.seed + k),
                                   desc=desc if n == 1 else f"{desc} {k + 1}/{n}",
                                   progress=self.progress, sample_weight=w)
            preds.append(predict_proba(clf, self.s.real["test"].x).argmax(1))
        return preds

    def scores(self, preds, mask) -> tuple[list[float], float, float]:
        """Each run's accuracy on the test images in `mask`, the median accuracy and the median
        balanced accuracy."""
        te = self.s.real["test"]
        acc = [float(np.mean(p[mask] == te.y[mask])) for p in preds]
        bal = [balanced_accuracy(p[mask], te.y[mask]) for p in preds]
        return acc, float(np.median(acc)), float(np.median(bal))

    def real_preds(self) -> list[np.ndarray] | None:
        """The train-on-real baseline's predictions (None with one run: the judge is it)."""
        cfg = self.cfg
        if self._real_preds is None and cfg.classifier_runs > 1 and (cfg.cas or cfg.augmentation):
            tr = self.s.real["train"]
            self._real_preds = self.fits(tr.x, tr.y, None, "train on real")
        return self._real_preds


def train_on_synthetic(c: Classifiers, s: Sets, cfg: EvalConfig, judged: dict) -> dict:
    """Classification Accuracy Score: a classifier trained on the synthetic images, tested on
    real photos, beside the same classifier trained on real photos."""
    real_preds = c.real_preds()   # trained here, where it is first needed, also without CAS
    real_runs = None
    real_med, real_med_bal = judged["real_accuracy"], judged["real_balanced_accuracy"]
    if real_preds is not None:
        real_runs, real_med, real_med_bal = c.scores(real_preds, s.te_mask)
    if not cfg.cas:
        return dict(real_trained_runs=real_runs)
    syn = s.syn
    runs, acc, bal = c.scores(c.fits(syn.x, syn.y, c.syn_weights, "train on synthetic"), s.te_mask)
    return dict(cas_accuracy=acc, cas_balanced=bal, cas_runs=runs, real_trained_accuracy=real_med,
                real_trained_balanced=real_med_bal, real_trained_runs=real_runs)


def augmentation(c: Classifiers, s: Sets, cfg: EvalConfig, judged: dict) -> dict:
    """Real + synthetic training against real alone, on every real test photo."""
    if not cfg.augmentation:
        return {}
    tr, te, syn = s.real["train"], s.real["test"], s.syn
    w = None if c.syn_weights is None else np.concatenate([np.ones(len(tr.y)), c.syn_weights])
    everything = np.ones(len(te.y), bool)
    runs, acc, bal = c.scores(c.fits(np.concatenate([tr.x, syn.x]), np.concatenate([tr.y, syn.y]),
                                     w, "train on real + synthetic"), everything)
    real_preds = c.real_preds()
    real_full = (float(np.mean(judged["_judge_test_predictions"] == te.y)) if real_preds is None
                 else c.scores(real_preds, everything)[1])
    return dict(augmented_accuracy=acc, augmented_balanced=bal, augmented_runs=runs,
                real_full_accuracy=real_full)


def memorisation(s: Sets, judge, cfg: EvalConfig):
    """Distances from each synthetic image to its nearest training photo, with the threshold real
    held-out photos set (None when cfg.memorisation is off)."""
    if not cfg.memorisation:
        return None
    syn, tr, va, te = s.syn, s.real["train"], s.real["val"], s.real["test"]
    if cfg.memorisation_space == "pixel":
        a, b, c = syn.x, tr.x, np.concatenate([va.x, te.x])
    else:
        f = FeatureSpace(judge, te.x[s.te_mask])
        a, b, c = f(syn.x), f(tr.x), f(np.concatenate([va.x, te.x]))
    return memorisation_check(a, b, c, cfg.memorisation_quantile, files=syn.files,
                              train_paths=tr.paths, space=cfg.memorisation_space,
                              synthetic_images=syn.x, train_images=tr.x)
