"""The images a study cell adds to its real photos: generated, cut and pasted, unseen real photos
(the oracle) or noise (the control), with as many of each class as `class_counts` says.

Every source sees only its cell's fraction of the training photos (the oracle aside, whose point
is to add the photos the fraction left out), and images come out as the saved files would be:
8-bit pixels, in [-1, 1].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.pixels import as_saved
from ..errors import ClothganError


def class_counts(real_counts, total: int, balance: str = "rare") -> np.ndarray:
    """How many synthetic images of each class, `total` in all.

    "uniform": the same number per class (the remainder to the classes with fewest photos).
    "rare": one at a time to the class whose real + synthetic count is lowest, so the classes
    with few photos get the most and the totals come out as even as `total` allows.
    """
    real = np.asarray(real_counts, np.int64)
    k, total = len(real), int(total)
    if balance == "uniform":
        counts = np.full(k, total // k, np.int64)
        counts[np.argsort(real, kind="stable")[: total % k]] += 1
        return counts
    if balance != "rare":
        raise ValueError(f"balance must be 'uniform' or 'rare', got {balance!r}")
    have = real.copy()
    # Water-filling: the highest level L with sum(max(0, L - have)) <= total, by bisection.
    lo, hi = int(have.min()), int(have.min()) + total + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if np.maximum(mid - have, 0).sum() <= total else (lo, mid)
    level = lo
    counts = np.maximum(level - have, 0)
    # What is left (fewer than the classes at the level) goes to the lowest, then the first.
    for c in np.lexsort((np.arange(k), have + counts))[:total - counts.sum()]:
        counts[c] += 1
    return counts


def oracle_photos(y_train: np.ndarray, chosen: np.ndarray, counts, seed: int) -> np.ndarray:
    """Indices of training photos outside the fraction (`chosen` is its boolean mask): up to
    counts[c] of class c, drawn with the seed; fewer where the fraction left fewer."""
    rng = np.random.default_rng([seed, 0x0AC1E])
    picks = []
    for c, n in enumerate(counts):
        pool = np.flatnonzero((y_train == c) & ~chosen)
        picks.append(np.sort(rng.permutation(pool)[: int(n)]))
    return np.concatenate(picks).astype(np.int64)


def noise_images(counts, shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random images (coarse uniform noise, scaled up) labelled counts[c] times class c:
    a control that must not look like a gain."""
    h, w, ch = shape
    rng = np.random.default_rng([seed, 0x4015E])
    y = np.repeat(np.arange(len(counts)), np.asarray(counts, np.int64))
    coarse = rng.uniform(-1, 1, (len(y), 7, 7, ch)).astype(np.float32)
    rows, cols = np.arange(h) * 7 // h, np.arange(w) * 7 // w
    fine = rng.normal(0, 0.1, (len(y), h, w, ch)).astype(np.float32)
    x = np.clip(coarse[:, rows][:, :, cols] + fine, -1, 1)
    return as_saved(x), y


def filter_thresholds(judge, val_x: np.ndarray, val_y: np.ndarray, num_classes: int,
                      quantile: float) -> np.ndarray:
    """Per class c: the `quantile` quantile of the judge's probability of c over the validation
    photos of c (0 for a class without validation photos)."""
    from ..evaluation.judge import predict_proba

    p = predict_proba(judge, val_x)
    return np.array([np.quantile(p[val_y == c, c], quantile) if np.any(val_y == c) else 0.0
                     for c in range(num_classes)], np.float32)


def _discriminator(run_dir):
    from ..gan import build_discriminator
    from ..runs import read_run_info
    from ..training.checkpoint import CHECKPOINT_FILE, load_network

    info = read_run_info(run_dir)
    d = build_discriminator(info.model_config(), "float32")
    load_network(run_dir / CHECKPOINT_FILE, "discriminator", d)
    return d


def generated_images(run_dir, counts, seed: int, how: str = "judge", candidates: int = 4,
                     judge=None, thresholds: np.ndarray | None = None,
                     truncation: float | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """counts[c] images of class c from the run's kept generator (with its noise scale).

    how "none": the first drawn. "judge": of `candidates` per image, those the judge gives
    their class at least thresholds[c], in drawn order, topped up with the highest-scoring
    others when too few pass. "gold": the candidates the run's last discriminator scores most
    real (GOLD, Mo et al. 2019, without its classifier term: D is conditional already).
    truncation: the noise scale (None: the run's own). Returns (x, y, info) with the share of
    candidates that passed.
    """
    from ..evaluation.judge import predict_proba
    from ..sampling import Sampler

    sampler = Sampler.load(run_dir, truncation=truncation)
    per = 1 if how == "none" else int(candidates)
    disc = _discriminator(Path(run_dir)) if how == "gold" else None
    xs, ys, passed, drawn = [], [], 0, 0
    for c, n in enumerate(counts):
        n = int(n)
        if n == 0:
            continue
        x = as_saved(sampler.class_samples(c, n * per, seed=seed))
        if how == "none":
            keep = np.arange(n)
        elif how == "judge":
            if judge is None or thresholds is None:
                raise ValueError("the judge filter needs a judge and its thresholds")
            score = predict_proba(judge, x)[:, c]
            ok = np.flatnonzero(score >= thresholds[c])
            rest = np.setdiff1d(np.arange(len(x)), ok)
            keep = np.concatenate([ok[:n], rest[np.argsort(-score[rest], kind="stable")]])[:n]
            passed += min(len(ok), n)
        elif how == "gold":
            score = np.asarray(disc([x, np.full(len(x), c, np.int32)], training=False))[:, 0]
            keep = np.sort(np.argsort(-score, kind="stable")[:n])
            passed += n
        else:
            raise ValueError(f"unknown filter {how!r}")
        drawn += len(x)
        xs.append(x[keep])
        ys.append(np.full(len(keep), c, np.int64))
    if not xs:
        raise ClothganError("no synthetic images asked for: every class count is 0")
    info = {"filter": how, "candidates": drawn, "kept": int(sum(len(v) for v in ys)),
            "passed_threshold": passed, "generator": str(sampler.run_dir),
            "truncation": sampler.truncation}
    return np.concatenate(xs), np.concatenate(ys), info
