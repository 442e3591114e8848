"""Distances between image sets: FID and KID in a feature space, nearest neighbours and the
memorisation check, Inception-v3 features (local weights only)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Sequence

import numpy as np

from .judge import feature_model, run_batched

ENV_INCEPTION = "CLOTHGAN_INCEPTION_WEIGHTS"
INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


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
