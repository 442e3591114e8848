"""Scene backgrounds: a user's folder of images, procedural ones (no data needed), or plain white.

Every background depends only on (seed, what the scene's generator draws), never on which worker
process asks for it or what it made before, so datasets are identical for any number of workers.
"""
from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from ..core.cache import cache_dir
from ..core.files import atomic_write
from ..data.foreground import read_rgb
from ..data.images import IMAGE_SUFFIXES, SkippedImageWarning
from ..errors import DataError
from .synthetic import smooth_noise, texture

PROCEDURAL_KINDS = ("gradient", "radial", "noise", "wood", "carpet", "tiles", "plaid", "mottled")
PLAIN = "white"   # the `backgrounds` value that asks for a plain white background
POOL_VERSION = 1  # bump when procedural() changes: cached pools are then remade


def _color(rng: np.random.Generator) -> np.ndarray:
    hsv = np.array([[[rng.integers(0, 180), rng.integers(0, 200), rng.integers(40, 250)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def procedural(rng: np.random.Generator, size: int, kind: str | None = None) -> np.ndarray:
    """A uint8 RGB size x size background: gradients, smooth noise or a floor/fabric texture."""
    kind = kind or str(rng.choice(PROCEDURAL_KINDS))
    c0, c1 = _color(rng), _color(rng)
    if kind in ("gradient", "radial"):
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        if kind == "gradient":
            t = np.deg2rad(rng.uniform(0, 360))
            v = (xx - 0.5) * np.cos(t) + (yy - 0.5) * np.sin(t) + 0.5
        else:
            cx, cy = rng.uniform(0.2, 0.8, 2)
            v = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) * rng.uniform(1.0, 2.0)
        v = np.clip(v, 0, 1)[:, :, None]
        img = c0 * (1 - v) + c1 * v
    elif kind == "noise":
        v = sum(smooth_noise(rng, size, size, c) * w for c, w in ((4, 0.5), (12, 0.3), (40, 0.2)))
        v = v[:, :, None]
        img = c0 * (1 - v) + c1 * v
    else:
        img = texture(rng, size, size, c0, kind)
    img = img + rng.normal(0, 3, (size, size, 1)).astype(np.float32)   # sensor grain
    return np.clip(img, 0, 255).astype(np.uint8)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in a folder or below it, sorted; a clear error when there are none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: backgrounds folder does not exist; pass a folder of images "
                        "or leave --backgrounds out for procedural ones")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        raise DataError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def _readable(files: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """(the files that decode, [(file, reason)] for those that do not), each skip warned about."""
    good, bad = [], []
    for p in files:
        try:
            read_rgb(p, 64)
            good.append(p)
        except DataError as exc:
            bad.append((str(p), str(exc).split(": ", 1)[-1]))
            warnings.warn(f"{p}: skipped, unreadable background", SkippedImageWarning, stacklevel=3)
    return good, bad


class Backgrounds:
    """Draws a background for a scene from its own generator: `bg = backgrounds.draw(rng)`."""

    def __init__(self, size: int, source: str | None = None, seed: int = 0, pool: int = 48,
                 cache_items: int = 64) -> None:
        self.size, self.source, self.seed, self.pool = size, source, seed, pool
        self.files = list_images(source) if source not in (None, PLAIN) else []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_items = cache_items
        self._lock = threading.Lock()
        self.skipped: list[tuple[str, str]] = []   # (file, reason): unreadable backgrounds
        self._checked = False
        self._pool: np.ndarray | None = None

    def pool_path(self) -> Path:
        return cache_dir("backgrounds") / f"v{POOL_VERSION}-{self.size}-{self.seed}-{self.pool}.npy"

    def prepare(self) -> "Backgrounds":
        """Check a folder's images (unreadable ones are left out, each named in a warning), or
        make the procedural pool once and keep it on disk, where every process maps the same
        file (no per-worker regeneration, pages shared)."""
        if self.files and not self._checked:
            self.files, self.skipped = _readable(self.files)
            self._checked = True
            if not self.files:
                raise DataError(f"{self.source}: none of its {len(self.skipped)} images can be read "
                                f"(e.g. {self.skipped[0][0]}: {self.skipped[0][1]}); replace them")
        if self.files or self.source == PLAIN or self._pool is not None:
            return self
        path = self.pool_path()
        if not path.is_file():
            pool = np.stack([self._procedural(j) for j in range(self.pool)])
            atomic_write(path, lambda tmp: np.save(tmp, pool))
        self._pool = np.load(path, mmap_mode="r")
        return self

    def _procedural(self, j: int) -> np.ndarray:
        return procedural(np.random.default_rng([self.seed, 7919, j]), self.size)

    def _get(self, j: int) -> np.ndarray:
        """Pool entry j (procedural: made from (seed, j) alone)."""
        if self._pool is not None:
            return self._pool[j]
        with self._lock:   # worker threads share one cache
            img = self._cache.get(j)
            if img is not None:
                self._cache.move_to_end(j)
        if img is None:
            if self.files:
                img = read_rgb(self.files[j], 2 * self.size)
                # Cover size x size with room for a random crop.
                s = 1.25 * self.size / min(img.shape[:2])
                img = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
                                 interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            else:
                img = self._procedural(j)
            with self._lock:
                self._cache[j] = img
                if len(self._cache) > self._cache_items:
                    self._cache.popitem(last=False)
        return img

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh uint8 RGB size x size background (a new array the caller may paint on)."""
        u = rng.random(8)   # fixed number of draws per scene whatever the source
        if self.source == PLAIN:
            return np.full((self.size, self.size, 3), 255, np.uint8)
        n = len(self.files) if self.files else self.pool
        img = self._get(int(u[0] * n) % n)
        if self.files:
            h, w = img.shape[:2]
            y, x = int(u[1] * (h - self.size + 1)), int(u[2] * (w - self.size + 1))
            img = img[y:y + self.size, x:x + self.size]
        else:
            k = int(u[1] * 4) % 4
            if k:
                img = cv2.rotate(img, (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180,
                                       cv2.ROTATE_90_COUNTERCLOCKWISE)[k - 1])
        # cv2 returns new arrays: the cached pool entry is never painted on.
        out = cv2.flip(img, 1) if u[3] < 0.5 else np.array(img)
        # A per-channel gain: the same background under different light.
        gains = 0.85 + 0.3 * u[4:7]
        lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gains[None, :].astype(np.float32)
                      + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)
        cv2.LUT(out, lut, dst=out)
        return out
