"""Judging synthetic images against real held-out ones; every number comes with its reference.

- FID and KID in the feature space of a small classifier trained on the real training split
  (`clothgan.classifier`), next to the same distance between two real held-out sets;
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
class prior that the real-trained one does not have.
"""
from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .classifier import (ClassifierConfig, JudgeInfo, balanced_accuracy, domain_classifier,
                         feature_model, predict_proba, prior_weights, run_batched, train_classifier)
from .config import CLASS_MIXES, CLASSES, DataConfig
from .errors import ClothganError

ENV_INCEPTION = "CLOTHGAN_INCEPTION_WEIGHTS"
INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


# -- distances between feature sets ------------------------------------------------------------

def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of features (N, D)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature rows (N, D), got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance between Gaussians: |mu1-mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^1/2).

    tr (C1 C2)^1/2 equals tr (s C2 s)^1/2 with s = C1^1/2, a symmetric PSD matrix whose
    eigenvalues are stable to compute: no complex parts to discard.
    """
    s = _psd_sqrt(cov1)
    inner = np.linalg.eigvalsh(s @ cov2 @ s)
    tr_sqrt = float(np.sum(np.sqrt(np.clip(inner, 0, None))))
    d = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)
    return max(d, 0.0)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between two feature sets (biased upwards for small N; compare equal N)."""
    return frechet_distance(*feature_stats(features_a), *feature_stats(features_b))


class FeatureSpace:
    """The judge's penultimate features (float64), divided by one constant: the RMS of the
    reference images' features. Distances then do not depend on the judge's arbitrary activation
    scale, and KID's cubic kernel (x.y / d + 1)^3 stays near 1 instead of overflowing into noisy
    huge values. `reference` holds the reference images' scaled features."""

    def __init__(self, judge, reference_images: np.ndarray):
        self.model = feature_model(judge)
        raw = run_batched(self.model, reference_images).astype(np.float64)
        self.scale = float(np.sqrt(np.mean(raw ** 2))) or 1.0
        self.reference = raw / self.scale

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return run_batched(self.model, images).astype(np.float64) / self.scale


def _poly_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased squared MMD with the cubic polynomial kernel (the KID estimator)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m, n = len(a), len(b)
    kaa, kbb, kab = _poly_kernel(a, a), _poly_kernel(b, b), _poly_kernel(a, b)
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * kab.mean())


def kid(features_a: np.ndarray, features_b: np.ndarray, subset_size: int = 100, subsets: int = 50,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance in the given feature space: mean and std over random subsets.

    Unbiased: for two samples of one distribution its expectation is 0 (single values can be
    slightly negative).
    """
    n = min(len(features_a), len(features_b), subset_size)
    if n < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(features_a[rng.choice(len(features_a), n, replace=False)],
                          features_b[rng.choice(len(features_b), n, replace=False)])
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))


# -- nearest neighbours and memorisation ------------------------------------------------------

def nearest_neighbours(queries: np.ndarray, refs: np.ndarray, chunk: int = 2048
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Index and RMS distance (per value) of each query's nearest reference row."""
    q = np.asarray(queries, np.float32).reshape(len(queries), -1)
    r = np.asarray(refs, np.float32).reshape(len(refs), -1)
    rn = np.einsum("ij,ij->i", r, r)
    idx, dist = np.empty(len(q), np.int64), np.empty(len(q), np.float64)
    for s in range(0, len(q), chunk):
        qc = q[s:s + chunk]
        d2 = np.einsum("ij,ij->i", qc, qc)[:, None] + rn[None, :] - 2.0 * qc @ r.T
        j = d2.argmin(1)
        idx[s:s + chunk] = j
        # The expansion above loses precision near 0; the winners' distances are recomputed exactly.
        diff = qc.astype(np.float64) - r[j]
        dist[s:s + chunk] = np.sqrt(np.einsum("ij,ij->i", diff, diff) / q.shape[1])
    return idx, dist


@dataclass
class Memorisation:
    """Nearest training image of each synthetic image, against real held-out images' distances.

    threshold: the `quantile` of real held-out images' nearest-training distances, so by
    construction about `quantile` of real unseen photos fall under it (share_real). A generator
    that copies training images puts far more of its samples under it (share_synthetic).
    """

    space: str
    quantile: float
    threshold: float
    share_synthetic: float
    share_real: float
    median_synthetic: float
    median_real: float
    closest: list[dict]                      # [{"file", "train_path", "distance"}], closest first
    pairs: np.ndarray | None = field(default=None, repr=False)   # (k, 2, H, W, C) in [-1, 1]

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "pairs"}


def memorisation_check(synthetic: np.ndarray, train: np.ndarray, heldout: np.ndarray,
                       quantile: float = 0.01, top: int = 8, files: Sequence[str] | None = None,
                       train_paths: Sequence[str] | None = None, space: str = "pixel",
                       synthetic_images: np.ndarray | None = None,
                       train_images: np.ndarray | None = None) -> Memorisation:
    """Memorisation check in the space of the given arrays (pixels, or classifier features).

    `synthetic_images` / `train_images` (pixels) fill the closest-pairs grid when the distances
    are measured in another space.
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    si, sd = nearest_neighbours(synthetic, train)
    _, rd = nearest_neighbours(heldout, train)
    threshold = float(np.quantile(rd, quantile))
    order = np.argsort(sd)[:top]
    syn_px = synthetic if synthetic_images is None else synthetic_images
    tr_px = train if train_images is None else train_images
    closest = [{"file": files[i] if files is not None else int(i),
                "train_path": train_paths[si[i]] if train_paths is not None else int(si[i]),
                "distance": float(sd[i])} for i in order]
    pairs = None
    if syn_px is not None and np.ndim(syn_px) == 4:
        pairs = np.stack([np.stack([syn_px[i], tr_px[si[i]]]) for i in order]) if len(order) else None
    return Memorisation(space=space, quantile=quantile, threshold=threshold,
                        share_synthetic=float(np.mean(sd <= threshold)),
                        share_real=float(np.mean(rd <= threshold)),
                        median_synthetic=float(np.median(sd)), median_real=float(np.median(rd)),
                        closest=closest, pairs=pairs)


# -- reading an image folder ------------------------------------------------------------------

@dataclass
class ImageSet:
    """Images of a DIR/<class>/*.png folder: x (N, H, W, C) in [-1, 1], labels, relative files."""

    root: Path
    x: np.ndarray
    y: np.ndarray
    files: list[str]
    class_names: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.y, minlength=len(self.class_names))
        return {n: int(k) for n, k in zip(self.class_names, c) if k}


def load_image_folder(root: str | os.PathLike, class_names: Sequence[str] = CLASSES,
                      max_per_class: int | None = None) -> ImageSet:
    """Read DIR/<class>/<file> images (size and channels from the files; all must agree)."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from .data import IMAGE_SUFFIXES, normalize_label

    root = Path(root)
    if not root.is_dir():
        raise ClothganError(f"{root}: no such folder; pass the DIR written by `clothgan generate` "
                            "or `clothgan compose --mode classification`")
    names = tuple(class_names)
    files, labels = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = normalize_label(d.name)
        if label not in names:
            raise ClothganError(f"{d}: folder name is not a class ({', '.join(names)}); "
                                "rename or remove it")
        imgs = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                      and not p.name.startswith("."))[:max_per_class]
        files += imgs
        labels += [names.index(label)] * len(imgs)
    if not files:
        raise ClothganError(f"{root}: no images found; expected {root}/<class>/<name>.png "
                            f"with class folders named {', '.join(names)}")

    def read(p: Path) -> np.ndarray:
        try:
            with Image.open(p) as img:
                mode = "L" if img.mode in ("L", "LA", "I;16", "I", "1") else "RGB"
                return np.asarray(img.convert(mode))
        except OSError as exc:
            raise ClothganError(f"{p}: unreadable image ({exc}); delete or replace it") from None

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        arrays = list(pool.map(read, files))
    shape = arrays[0].shape
    for p, a in zip(files, arrays):
        if a.shape != shape:
            raise ClothganError(f"{p}: {a.shape[1]}x{a.shape[0]} image with {a.shape[2:] or 1} "
                                f"channels differs from {files[0]} ({shape}); all images must "
                                "share one size and colour mode")
    if shape[0] != shape[1]:
        raise ClothganError(f"{files[0]}: images must be square, got {shape[1]}x{shape[0]}")
    x = np.stack(arrays).astype(np.float32) / 127.5 - 1.0
    if x.ndim == 3:
        x = x[..., None]
    return ImageSet(root, x, np.array(labels, np.int32),
                    [str(p.relative_to(root)) for p in files], names)


# -- the evaluation ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalConfig:
    """What `evaluate` measures and with which classifier.

    data: the real data to compare with; None takes the generating run's data config (from
    DIR/dataset.json) or the defaults. Image size and channels always come from the images.
    """

    data: DataConfig | None = None
    classifier: ClassifierConfig = ClassifierConfig()
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
        if self.memorisation_space not in ("pixel", "features"):
            raise ValueError("memorisation_space must be 'pixel' or 'features'")
        if self.classifier_runs < 1:
            raise ValueError(f"classifier_runs must be >= 1, got {self.classifier_runs}")
        if self.class_mix not in CLASS_MIXES:
            raise ValueError(f"class_mix must be one of {', '.join(CLASS_MIXES)}, got {self.class_mix!r}")

    @classmethod
    def quick(cls, **changes) -> "EvalConfig":
        """Classifiers trained for 3 epochs, 10 KID subsets: rough numbers in seconds (CI, smoke runs).

        Notebooks 08 and 09 both use it in fast mode, so they share one cached judge.
        """
        return cls(**{"classifier": ClassifierConfig(epochs=3), "kid_subsets": 10, **changes})


@dataclass(frozen=True)
class Comparison:
    """One number and the reference it must be read against."""

    metric: str
    value: float
    reference: float
    reference_is: str
    better: str          # "lower" or "higher"
    meaning: str
    value_std: float | None = None       # spread over random subsets, where measured
    reference_std: float | None = None


@dataclass
class EvaluationResult:
    """Everything `evaluate` measured (to_dict() is JSON-ready; report() is the printed table)."""

    images: str
    n_images: int
    counts: dict[str, int]
    image_size: int
    channels: int
    data: dict
    judge: JudgeInfo
    n_fid: int
    fid: float
    fid_reference: float
    kid: float
    kid_std: float
    kid_reference: float
    kid_reference_std: float
    kid_subsets: int
    class_consistency: float
    real_accuracy: float
    per_class_consistency: dict[str, float]
    per_class_real_accuracy: dict[str, float]
    class_mix: str = "as-is"
    class_consistency_balanced: float | None = None   # mean over classes: no class mix at all
    real_balanced_accuracy: float | None = None
    cas_accuracy: float | None = None       # the median over cas_runs
    cas_balanced: float | None = None
    cas_runs: list[float] | None = None     # one accuracy per classifier training (EvalConfig.classifier_runs)
    augmented_runs: list[float] | None = None
    real_trained_accuracy: float | None = None   # the judge's, or the median over real_trained_runs
    real_trained_balanced: float | None = None
    real_trained_runs: list[float] | None = None  # train on real, same seeds (classifier_runs > 1)
    augmented_accuracy: float | None = None  # the median over augmented_runs
    augmented_balanced: float | None = None
    real_full_accuracy: float | None = None
    memorisation: Memorisation | None = None
    inception_fid: float | None = None
    inception_fid_reference: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def comparisons(self) -> list[Comparison]:
        n = self.n_fid
        weighted = "; synthetic weighted to its class mix" if self.class_mix == "real" else ""
        rows = [
            Comparison("FID (judge features)", self.fid, self.fid_reference,
                       f"real val vs real test, {n} images each, same class mix", "lower",
                       "distance between synthetic and real feature statistics"),
            Comparison("KID x 1000 (judge features)", 1000 * self.kid, 1000 * self.kid_reference,
                       f"real val vs real test, same subsets (mean +- std of {self.kid_subsets})",
                       "lower", "unbiased kernel distance; about 0 for a perfect generator",
                       1000 * self.kid_std, 1000 * self.kid_reference_std),
            Comparison("class consistency", self.class_consistency, self.real_accuracy,
                       f"judge accuracy on real test images (n={self.judge.n_test}){weighted}",
                       "higher", "synthetic images classified as their intended class"),
        ]
        if self.class_consistency_balanced is not None:
            rows.append(Comparison("class consistency, mean over classes",
                                   self.class_consistency_balanced, self.real_balanced_accuracy,
                                   "judge's mean per-class accuracy on real test images", "higher",
                                   "the same, every class counted equally"))
        if self.cas_accuracy is not None:
            rows.append(Comparison("train on synthetic, test on real", self.cas_accuracy,
                                   self.real_trained_accuracy,
                                   f"same classifier trained on real train"
                                   f"{_median_of(self.real_trained_runs, ', ')}{weighted}", "higher",
                                   "accuracy on real test images (CAS)" + _median_of(self.cas_runs),
                                   _spread(self.cas_runs), _spread(self.real_trained_runs)))
        if self.augmented_accuracy is not None:
            rows.append(Comparison("train on real + synthetic", self.augmented_accuracy,
                                   self.real_full_accuracy, f"trained on real train alone"
                                   f"{_median_of(self.real_trained_runs, ', ')}{weighted}",
                                   "higher", "accuracy on real test images (augmentation gain)"
                                   + _median_of(self.augmented_runs), _spread(self.augmented_runs)))
        if self.memorisation is not None:
            m = self.memorisation
            rows.append(Comparison(f"near-copies of training images ({m.space})", m.share_synthetic,
                                   m.share_real, "real held-out images under the same threshold",
                                   "lower", f"share closer than {m.threshold:.3f} (RMS) to a training image"))
        if self.inception_fid is not None:
            rows.append(Comparison("FID (Inception-v3)", self.inception_fid,
                                   self.inception_fid_reference, "real val vs real test", "lower",
                                   "ImageNet features; unreliable for 28x28 grayscale"))
        return rows

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["judge"] = asdict(self.judge)
        d["memorisation"] = self.memorisation.to_dict() if self.memorisation else None
        d["comparisons"] = [asdict(c) for c in self.comparisons()]
        return json.loads(json.dumps(d, default=_json_default))

    def report(self) -> str:
        return render_report(self)

    def to_markdown(self) -> str:
        """The comparisons as a Markdown table (notebooks: IPython.display.Markdown)."""
        lines = ["| metric | synthetic | reference | better | reference is |",
                 "| --- | ---: | ---: | --- | --- |"]
        lines += [f"| {c.metric} | {_fmt(c.value, c.value_std)} | {_fmt(c.reference, c.reference_std)} "
                  f"| {c.better} | {c.reference_is} |" for c in self.comparisons()]
        return "\n".join(lines)


def _median_of(runs: list[float] | None, sep: str = "; ") -> str:
    return f"{sep}median of {len(runs)} trainings" if runs and len(runs) > 1 else ""


def _spread(runs: list[float] | None) -> float | None:
    """Standard deviation over classifier trainings; None for one training."""
    return float(np.std(runs)) if runs and len(runs) > 1 else None


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def _fmt(v: float | None, std: float | None = None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    text = f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return text if std is None else f"{text} +- {_fmt(std)}"


def render_report(result: EvaluationResult) -> str:
    """The evaluation as a plain-text table: every number beside its reference."""
    j = result.judge
    lines = [
        f"clothgan evaluation of {result.images}",
        f"  {result.n_images} images, {len(result.counts)} classes, "
        f"{result.image_size}x{result.image_size}x{result.channels}; real data: {result.data.get('dataset')}",
        f"  judge classifier: trained on {j.n_train} real train images, accuracy {j.test_accuracy:.3f} "
        f"on {j.n_test} real test images ({'cached' if j.cached else f'trained in {j.train_seconds:.0f} s'})",
        "",
    ]
    rows = [("metric", "synthetic", "reference", "better", "reference is")]
    rows += [(c.metric, _fmt(c.value, c.value_std), _fmt(c.reference, c.reference_std), c.better,
              c.reference_is) for c in result.comparisons()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, r in enumerate(rows):
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i])
                                      for i in range(4)) + "  " + r[4])
        if k == 0:
            lines.append("  " + "-" * (sum(widths) + 8 + max(len(x[4]) for x in rows)))
    lines.append("")
    lines.append("  per class: consistency (synthetic) / judge accuracy (real test)")
    for name in result.per_class_consistency:
        lines.append(f"    {name:<11} {_fmt(result.per_class_consistency[name])} / "
                     f"{_fmt(result.per_class_real_accuracy.get(name))}")
    return "\n".join(lines)


def _match_class_counts(y_a: np.ndarray, y_b: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Index subsets of a and b with equal per-class counts (min of the two, per class)."""
    ia, ib = [], []
    for c in np.intersect1d(np.unique(y_a), np.unique(y_b)):
        a, b = np.flatnonzero(y_a == c), np.flatnonzero(y_b == c)
        k = min(len(a), len(b))
        ia.append(rng.choice(a, k, replace=False))
        ib.append(rng.choice(b, k, replace=False))
    return np.concatenate(ia), np.concatenate(ib)


def inception_weights() -> Path | None:
    """Local Inception-v3 (no top) weights: $CLOTHGAN_INCEPTION_WEIGHTS or Keras' cache. Never downloads."""
    env = os.environ.get(ENV_INCEPTION)
    candidates = [Path(env).expanduser()] if env else []
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    candidates.append(keras_home / "models" / INCEPTION_FILE)
    return next((p for p in candidates if p.is_file()), None)


@functools.lru_cache(maxsize=1)
def _inception(weights: str | None):
    import keras

    return keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                          input_shape=(299, 299, 3))


def inception_features(x: np.ndarray, weights: str | os.PathLike | None, batch_size: int = 64) -> np.ndarray:
    """2048-d pooled Inception-v3 features of images in [-1, 1] (resized to 299, grey -> RGB).

    weights: a local .h5 file; None gives random weights (only for testing the plumbing).
    """
    import tensorflow as tf

    model = _inception(str(weights) if weights else None)
    out = []
    for s in range(0, len(x), batch_size):
        b = tf.image.resize(x[s:s + batch_size], (299, 299), method="bilinear")
        if b.shape[-1] == 1:
            b = tf.repeat(b, 3, axis=-1)
        out.append(np.asarray(model(b, training=False)))
    return np.concatenate(out)


def _data_config_for(images: ImageSet, cfg: EvalConfig) -> DataConfig:
    data = cfg.data
    if data is None:
        data = DataConfig()
        info = images.root / "dataset.json"
        if info.is_file():
            run_data = (json.loads(info.read_text()).get("run_config") or {}).get("data")
            if isinstance(run_data, dict):
                data = DataConfig.from_dict(run_data)
    return data.replace(image_size=int(images.x.shape[1]), channels=int(images.x.shape[3]))


def evaluate(images: str | os.PathLike | ImageSet, cfg: EvalConfig = EvalConfig(),
             progress: bool = True, real=None) -> EvaluationResult:
    """Score a labelled synthetic image folder against the real data (see the module docstring).

    `real` may pass already loaded real splits {"train", "val", "test"} (Arrays) for cfg.data.
    """
    from tqdm.auto import tqdm

    from .preprocess import load_splits

    weights = inception_weights() if cfg.inception is not False else None
    if cfg.inception and weights is None:
        raise ClothganError(f"Inception-v3 weights not found: put {INCEPTION_FILE} in "
                            f"~/.keras/models/ or set {ENV_INCEPTION} (clothgan never downloads them)")
    times: dict[str, float] = {}
    t = time.perf_counter()
    syn = images if isinstance(images, ImageSet) else load_image_folder(
        images, (cfg.data or DataConfig()).classes, cfg.max_per_class)
    data = _data_config_for(syn, cfg)
    if tuple(data.classes) != tuple(syn.class_names):
        raise ClothganError(f"{syn.root}: classes {syn.class_names} differ from the data config's "
                            f"{data.classes}")
    real = real or load_splits(data)
    tr, va, te = real["train"], real["val"], real["test"]
    for name, arr in (("train", tr), ("val", va), ("test", te)):
        if len(arr.x) < 2:
            raise ClothganError(f"the real {name} split of {data.dataset} has {len(arr.x)} images; "
                                "the evaluation needs real held-out images of every split")
    times["load"] = time.perf_counter() - t

    stages = ["judge", "features", "cas", "augmentation", "memorisation"]
    bar = tqdm(total=len(stages), desc="evaluate", unit="step", disable=not progress)

    def done(stage: str, t0: float) -> None:
        times[stage] = round(time.perf_counter() - t0, 2)
        bar.update(1)

    t = time.perf_counter()
    judge, judge_info = domain_classifier(data, cfg.classifier, real, progress=progress)
    done("judge", t)

    # Distances are taken on the classes the synthetic set has, with equal per-class counts on
    # both sides: FID depends on the sample size and on the class mix.
    t = time.perf_counter()
    present = np.unique(syn.y)
    rng = np.random.default_rng(cfg.seed)
    te_mask, va_mask = np.isin(te.y, present), np.isin(va.y, present)
    i_syn, i_val = _match_class_counts(syn.y, va.y[va_mask], rng)
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
        inception_fid_reference=inc_ref, seconds=times)
