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
from ..core.files import read_json
from ..data.folder import ImageSet, common_geometry, folder_files, read_image_folder
from ..data.arrays import load_splits
from ..errors import ClothganError, ConfigError
from .distances import (ENV_INCEPTION, INCEPTION_FILE, FeatureSpace, fid, inception_features,
                        inception_weights, kid, memorisation_check)
from .judge import (ClassifierConfig, balanced_accuracy, domain_classifier, has_judge,
                    predict_proba, prior_weights, train_classifier)
from .report import EvaluationResult

#: The file `clothgan generate` and `clothgan compose` write beside the images.
DATASET_FILE = "dataset.json"


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
    meta = read_json(meta_path, DATASET_FILE, "delete it or write the folder again") if meta_path.is_file() else {}
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
    syn, data = load_images(images, cfg)
    if tuple(data.classes) != tuple(syn.class_names):
        raise ClothganError(f"{syn.root}: classes {syn.class_names} differ from the data config's "
                            f"{data.classes}")
    real = real or load_splits(data, progress=progress)
    tr, va, te = real["train"], real["val"], real["test"]
    for name, arr in (("train", tr), ("val", va), ("test", te)):
        if len(arr.x) < 2:
            raise ClothganError(f"the real {name} split of {data.dataset} has {len(arr.x)} images; "
                                "the evaluation needs real held-out images of every split")
    # Distances are taken on the classes the synthetic set has, with equal per-class counts on
    # both sides: FID depends on the sample size and on the class mix. Checked before any
    # classifier trains.
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
    times["load"] = time.perf_counter() - t

    stages = ["judge", "features", "cas", "augmentation", "memorisation"]
    bar = tqdm(total=len(stages), desc="evaluate", unit="step", disable=not progress)

    def done(stage: str, t0: float) -> None:
        times[stage] = round(time.perf_counter() - t0, 2)
        bar.update(1)

    t = time.perf_counter()
    recipe = cfg.judge if cfg.judge is not None and has_judge(data, cfg.judge, real) else cfg.classifier
    judge, judge_info = domain_classifier(data, recipe, real, progress=progress)
    done("judge", t)

    t = time.perf_counter()
    f = FeatureSpace(judge, te.x[te_mask])   # scaled by the real test features
    f_test, f_val, f_syn = f.reference, f(va.x[va_mask][i_val]), f(syn.x[i_syn])
    fid_syn, fid_ref = fid(f_syn, f_test), fid(f_val, f_test)
    kid_syn = kid(f_syn, f_test, cfg.kid_subset_size, cfg.kid_subsets, cfg.seed)
    kid_ref = kid(f_val, f_test, cfg.kid_subset_size, cfg.kid_subsets, cfg.seed)

    pred_syn = predict_proba(judge, syn.x).argmax(1)
    pred_te = predict_proba(judge, te.x).argmax(1)
    names = syn.class_names
    per_syn = {names[c]: float(np.mean(pred_syn[syn.y == c] == c)) for c in present}
    per_real = {names[c]: float(np.mean(pred_te[te.y == c] == c)) if np.any(te.y == c) else float("nan")
                for c in present}
    real_acc = float(np.mean(pred_te[te_mask] == te.y[te_mask]))
    real_bal = balanced_accuracy(pred_te[te_mask], te.y[te_mask])
    # The test split's class mix weights per-class consistency: the accuracy it is read against
    # was measured at that mix.
    n_test = np.array([np.sum(te.y == c) for c in present], np.float64)
    consistency = (float(np.dot([per_syn[names[c]] for c in present], n_test) / n_test.sum())
                   if cfg.class_mix == "real" and n_test.sum() > 0
                   else float(np.mean(pred_syn == syn.y)))
    train_mix = np.bincount(tr.y, minlength=len(names))
    syn_weights = prior_weights(syn.y, train_mix) if cfg.class_mix == "real" else None
    inc, inc_ref = None, None
    if weights is not None:
        g_test = inception_features(te.x[te_mask], weights)
        inc = fid(inception_features(syn.x[i_syn], weights), g_test)
        inc_ref = fid(inception_features(va.x[va_mask][i_val], weights), g_test)
    done("features", t)

    def fits(x, y, w, desc) -> list[np.ndarray]:
        """Predicted test labels of cfg.classifier_runs classifiers (seeds seed, seed+1, ...)
        trained on (x, y, w)."""
        preds, n = [], cfg.classifier_runs
        for k in range(n):
            clf = train_classifier(x, y, len(names), replace(cfg.classifier, seed=cfg.classifier.seed + k),
                                   desc=desc if n == 1 else f"{desc} {k + 1}/{n}",
                                   progress=progress, sample_weight=w)
            preds.append(predict_proba(clf, te.x).argmax(1))
        return preds

    def scores(preds, mask) -> tuple[list[float], float, float]:
        """Each run's accuracy on the test images in `mask`, the median accuracy and the median
        balanced accuracy."""
        acc = [float(np.mean(p[mask] == te.y[mask])) for p in preds]
        bal = [balanced_accuracy(p[mask], te.y[mask]) for p in preds]
        return acc, float(np.median(acc)), float(np.median(bal))

    everything = np.ones(len(te.y), bool)
    t = time.perf_counter()
    # One training per seed varies by several points (0.64-0.76 on the real photos), so with
    # several runs the real baseline gets the same seeds instead of the judge's single training.
    real_preds, real_runs, real_med, real_med_bal = None, None, real_acc, real_bal
    if cfg.classifier_runs > 1 and (cfg.cas or cfg.augmentation):
        real_preds = fits(tr.x, tr.y, None, "train on real")
        real_runs, real_med, real_med_bal = scores(real_preds, te_mask)
    cas_runs = cas = cas_bal = real_cas = real_cas_bal = None
    if cfg.cas:
        cas_runs, cas, cas_bal = scores(fits(syn.x, syn.y, syn_weights, "train on synthetic"), te_mask)
        real_cas, real_cas_bal = real_med, real_med_bal
    done("cas", t)

    t = time.perf_counter()
    aug_runs = aug = aug_bal = real_full = None
    if cfg.augmentation:
        mixed_weights = None if syn_weights is None else np.concatenate([np.ones(len(tr.y)), syn_weights])
        aug_runs, aug, aug_bal = scores(fits(np.concatenate([tr.x, syn.x]), np.concatenate([tr.y, syn.y]),
                                             mixed_weights, "train on real + synthetic"), everything)
        real_full = (float(np.mean(pred_te == te.y)) if real_preds is None
                     else scores(real_preds, everything)[1])
    done("augmentation", t)

    t = time.perf_counter()
    mem = None
    if cfg.memorisation:
        if cfg.memorisation_space == "pixel":
            a, b, c = syn.x, tr.x, np.concatenate([va.x, te.x])
        else:
            a, b, c = f(syn.x), f(tr.x), f(np.concatenate([va.x, te.x]))
        mem = memorisation_check(a, b, c, cfg.memorisation_quantile, files=syn.files,
                                 train_paths=tr.paths, space=cfg.memorisation_space,
                                 synthetic_images=syn.x, train_images=tr.x)
    done("memorisation", t)
    bar.close()

    return EvaluationResult(
        images=str(syn.root), n_images=len(syn.x), counts=syn.counts(), image_size=int(syn.x.shape[1]),
        channels=int(syn.x.shape[3]), data=data.to_dict(), judge=judge_info, n_fid=len(i_syn),
        fid=fid_syn, fid_reference=fid_ref, kid=kid_syn[0], kid_std=kid_syn[1], kid_reference=kid_ref[0],
        kid_reference_std=kid_ref[1], kid_subsets=cfg.kid_subsets, class_consistency=consistency,
        real_accuracy=real_acc, per_class_consistency=per_syn, per_class_real_accuracy=per_real,
        class_mix=cfg.class_mix, class_consistency_balanced=float(np.mean(list(per_syn.values()))),
        real_balanced_accuracy=real_bal,
        cas_accuracy=cas, cas_balanced=cas_bal, cas_runs=cas_runs, augmented_runs=aug_runs,
        real_trained_accuracy=real_cas, real_trained_runs=real_runs,
        real_trained_balanced=real_cas_bal, augmented_accuracy=aug, augmented_balanced=aug_bal,
        real_full_accuracy=real_full, memorisation=mem, inception_fid=inc,
        inception_fid_reference=inc_ref, seconds=times, images_converted=syn.converted,
        images_skipped=[{"path": k.path, "reason": k.reason + (f" ({k.detail})" if k.detail else "")}
                        for k in syn.skipped])
