"""Measurements behind notebook 01: samples per class, image sizes, EXIF orientation, backgrounds."""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..config import DataConfig
from .images import UnusableImage, load_image
from .inventory import Inventory


def samples_per_class(inv: Inventory, n: int, seed: int = 0) -> dict[str, list[str]]:
    """A fixed random choice of `n` image paths of each class (any split), in class order."""
    rng = random.Random(seed)
    by_class: dict[str, list[str]] = {}
    for r in sorted(inv.records, key=lambda r: r.path):
        by_class.setdefault(r.label, []).append(r.path)
    return {c: rng.sample(by_class[c], min(n, len(by_class[c]))) for c in sorted(by_class)}


def sample_paths(inv: Inventory, n: int | None, seed: int = 0) -> list[str]:
    """`n` image paths drawn at random from the whole inventory (all of them for None)."""
    paths = sorted(r.path for r in inv.records)
    return paths if n is None or n >= len(paths) else random.Random(seed).sample(paths, n)


def thumbnails(paths: list[str], size: int = 96, channels: int = 3) -> np.ndarray:
    """Images as float32 (N, size, size, channels) in [-1, 1], padded (unusable files: grey)."""
    cfg = DataConfig(image_size=size, channels=channels)
    out = np.zeros((len(paths), size, size, channels), np.float32)
    for i, p in enumerate(paths):
        try:
            out[i] = load_image(p, cfg)
        except UnusableImage:
            pass
    return out


def image_sizes(paths: list[str]) -> np.ndarray:
    """(N, 2) int array of (width, height) as displayed (EXIF rotation applied), from headers only."""
    out = np.zeros((len(paths), 2), np.int64)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as img:
                w, h = img.size
                if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):    # rotated by 90 degrees
                    w, h = h, w
                out[i] = w, h
        except (OSError, SyntaxError, ValueError):
            out[i] = 0, 0
    return out


def exif_orientations(paths: list[str]) -> dict[int, int]:
    """How many files carry each EXIF orientation value (1 = upright; missing counts as 1)."""
    counts: dict[int, int] = {}
    for p in paths:
        try:
            with Image.open(p) as img:
                o = int(img.getexif().get(0x0112, 1))
        except (OSError, SyntaxError, ValueError):
            continue
        counts[o] = counts.get(o, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class BackgroundStats:
    """Per-image measurements of the background, taken on a small RGB copy of each photo.

    border_mean: mean brightness (0-255) of a band along the edges; border_std: how much that
    band varies (low = a plain backdrop); foreground_share: share of pixels that differ clearly
    from the border's median colour (a rough garment size).
    """

    paths: list[str]
    border_mean: np.ndarray
    border_std: np.ndarray
    foreground_share: np.ndarray

    def plain_share(self, max_std: float = 12.0) -> float:
        """Share of photos whose border is plain (std below max_std grey levels)."""
        return float(np.mean(self.border_std < max_std))


def background_stats(paths: list[str], size: int = 64, band: float = 0.08,
                     threshold: float = 40.0) -> BackgroundStats:
    """Measure each photo's backdrop on a `size` x `size` squashed RGB copy."""
    k = max(1, round(size * band))
    edge = np.zeros((size, size), bool)
    edge[:k], edge[-k:], edge[:, :k], edge[:, -k:] = True, True, True, True
    means, stds, shares = [], [], []
    for p in paths:
        try:
            with Image.open(p) as img:
                img.draft("RGB", (size, size))
                a = np.asarray(img.convert("RGB").resize((size, size)), np.float32)
        except (OSError, SyntaxError, ValueError):
            means.append(np.nan), stds.append(np.nan), shares.append(np.nan)
            continue
        border = a[edge]
        grey = border.mean(axis=1)
        means.append(grey.mean())
        stds.append(grey.std())
        dist = np.linalg.norm(a - np.median(border, axis=0), axis=2)
        shares.append(float((dist[~edge] > threshold).mean()))
    return BackgroundStats(list(paths), np.array(means), np.array(stds), np.array(shares))


def class_means(x: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """The average image of each class (num_classes, H, W, C); NaN where a class is absent."""
    out = np.full((num_classes, *x.shape[1:]), np.nan, np.float32)
    for c in range(num_classes):
        if np.any(y == c):
            out[c] = x[y == c].mean(axis=0)
    return out
