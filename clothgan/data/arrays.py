"""Many images -> training arrays: parallel decoding, a disk cache, splits and tf.data.

The loader never stops on a bad file: each unusable file is skipped with a SkippedImageWarning
naming it, and `Arrays.skipped` lists every skip with its reason. Results are cached on disk
(uint8, keyed by the full config and the file list) and reloaded in well under a second.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import PIL

from ..config import DataConfig
from ..core.cache import cache_dir
from ..core.files import atomic_write
from ..core.hardware import available_memory
from ..core.parallel import BACKENDS, default_workers, parallel_map
from ..core.pixels import to_float
from ..errors import DataError
from . import images
from .images import (Skipped, SkippedImageWarning, UnusableImage, decode,
                     foreground_extractor, foreground_fingerprint)
from .inventory import SPLITS, Inventory, Record, scan

CACHE_VERSION = 3
_CHUNK = 64          # images per task sent to a worker


@dataclass
class Arrays:
    """A prepared split: images in [-1, 1] (N, H, W, C), integer labels, and their source files.

    `skipped` lists the files of this selection that could not be used, with the reason.
    """

    x: np.ndarray
    y: np.ndarray
    paths: list[str]
    class_names: tuple[str, ...]
    skipped: list[Skipped] = field(default_factory=list)
    cache_path: str | None = None
    from_cache: bool = False

    def skip_counts(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped).most_common())


def _cache_key(cfg: DataConfig, records: list[Record]) -> str:
    """Digest of everything the arrays depend on: config, code/library versions, file list."""
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, "cfg": cfg.to_dict(), "pillow": PIL.__version__,
                         "max_pixels": images.MAX_PIXELS, "fg": foreground_fingerprint(cfg)},
                        sort_keys=True).encode())
    for r in records:
        try:
            st = os.stat(r.path)
            stamp = f"{st.st_size}|{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{r.path}|{r.label}|{r.split}|{stamp}\n".encode())
    return h.hexdigest()[:32]


def _read_cache(path: Path, key: str, cfg: DataConfig) -> Arrays | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                raise ValueError("key mismatch")
            x8, y = z["x"], z["y"]
            paths = z["paths"].tolist()
            skipped = [Skipped(*t) for t in z["skipped"].tolist()]
        if x8.shape[1:] != (cfg.image_size, cfg.image_size, cfg.channels) or len(x8) != len(y):
            raise ValueError(f"arrays of shape {x8.shape}")
    except Exception as exc:          # damaged or foreign file: rebuild it
        warnings.warn(f"{path}: prepared-data cache unreadable ({exc}); rebuilding it",
                      stacklevel=3)
        path.unlink(missing_ok=True)
        return None
    return Arrays(to_float(x8), y, paths, cfg.classes, skipped, str(path), True)


def _write_cache(path: Path, key: str, x8: np.ndarray, y: np.ndarray, paths: list[str],
                 skipped: list[Skipped]) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), x=x8, y=y, paths=np.array(paths, dtype=str),
                     skipped=np.array([[s.path, s.reason, s.detail] for s in skipped],
                                      dtype=str).reshape(-1, 3))

    try:
        atomic_write(path, write)
    except OSError as exc:            # a full disk must not lose the prepared arrays in memory
        warnings.warn(f"{path}: could not write the prepared-data cache ({exc})", stacklevel=3)


def _decode_chunk(paths: list[str], cfg: DataConfig):
    """Worker task: [(uint8 array or None, reason, detail)] for each path."""
    fg = foreground_extractor(cfg)
    out = []
    for p in paths:
        try:
            out.append((decode(p, cfg, fg), "", ""))
        except UnusableImage as exc:
            out.append((None, exc.reason, exc.detail))
    return out


def _decode_all(paths: list[str], cfg: DataConfig, workers: int, backend: str, progress: bool):
    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    if len(paths) < 2 * _CHUNK:
        backend = "serial"
    parts = parallel_map(partial(_decode_chunk, cfg=cfg), chunks, workers, "prepare images",
                         progress, backend, unit="img", weight=len)
    return [r for part in parts for r in part]


#: Bytes of memory per pixel value while preparing: the decoded uint8 images, their stacked
#: copy, the float32 arrays and the per-split float32 copies.
_MEMORY_PER_VALUE = 1 + 1 + 4 + 4


def check_room(n_images: int, cfg: DataConfig, cache: Path) -> None:
    """Refuse, before decoding anything, a preparation that would not fit in memory or on disk."""
    import shutil

    values = n_images * cfg.image_size ** 2 * cfg.channels
    need, have = values * _MEMORY_PER_VALUE, available_memory()
    if have is not None and need > 0.8 * have:
        raise DataError(f"{n_images} images at {cfg.image_size}x{cfg.image_size}x{cfg.channels} "
                        f"need about {need / 2**30:.1f} GiB of memory to prepare, and "
                        f"{have / 2**30:.1f} GiB is available; use a smaller --image-size "
                        "(or --max-images / --fraction, or fewer classes)")
    free = shutil.disk_usage(cache).free
    if values > free:
        raise DataError(f"{cache}: the prepared arrays need {values / 2**30:.1f} GiB and the disk "
                        f"has {free / 2**30:.1f} GiB free; free some space or set CLOTHGAN_HOME "
                        "to a larger disk")


def _warn_skipped(skipped: list[Skipped]) -> None:
    for s in skipped:
        warnings.warn(f"{s.path}: skipped, {s.reason}" + (f" ({s.detail})" if s.detail else ""),
                      SkippedImageWarning, stacklevel=4)


def build_arrays(cfg: DataConfig, inventory: Inventory | None = None, workers: int | None = None,
                 *, backend: str = "auto", progress: bool = True) -> Arrays:
    """All records of the source as arrays (every split), from the disk cache when it is valid.

    Unusable files are skipped (SkippedImageWarning each, listed in `Arrays.skipped`).
    `backend`: "auto" (forked processes where fork is safe, else threads), "process", "thread"
    or "serial"; fewer than 128 images are always decoded serially.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    inv = inventory or scan(cfg)
    records = sorted(inv.records, key=lambda r: r.path)
    key = _cache_key(cfg, records)
    path = cache_dir("prepared") / f"{key}.npz"
    cached = _read_cache(path, key, cfg)
    if cached is not None:
        _warn_skipped(cached.skipped)
        return cached
    check_room(len(records), cfg, path.parent)
    results = _decode_all([r.path for r in records], cfg, workers or default_workers(), backend,
                          progress)
    index = {c: i for i, c in enumerate(cfg.classes)}
    kept = [(r, a) for r, (a, _, _) in zip(records, results) if a is not None]
    skipped = [Skipped(r.path, reason, detail)
               for r, (a, reason, detail) in zip(records, results) if a is None]
    if not kept:
        reasons = ", ".join(f"{n} {k}" for k, n in Counter(s.reason for s in skipped).items())
        raise DataError(f"{inv.root}: none of the {len(records)} image files is usable "
                        f"({reasons or 'no files'}); check the files or the dataset path")
    x8 = np.stack([a for _, a in kept])
    y = np.array([index[r.label] for r, _ in kept], dtype=np.int32)
    paths = [r.path for r, _ in kept]
    _write_cache(path, key, x8, y, paths, skipped)
    _warn_skipped(skipped)
    return Arrays(to_float(x8), y, paths, cfg.classes, skipped, str(path), False)


def select(arrays: Arrays, records: list[Record]) -> Arrays:
    """The part of `arrays` (and of its skips) whose files are among `records`."""
    wanted = {r.path for r in records}
    keep = np.fromiter((p in wanted for p in arrays.paths), dtype=bool, count=len(arrays.paths))
    return Arrays(arrays.x[keep], arrays.y[keep], [p for p, k in zip(arrays.paths, keep) if k],
                  arrays.class_names, [s for s in arrays.skipped if s.path in wanted],
                  arrays.cache_path, arrays.from_cache)


def load_split(cfg: DataConfig, split: str | None = "train") -> Arrays:
    """Prepared arrays of one split ("train", "val", "test") or of everything (None)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or None, got {split!r}")
    if split is None:
        return build_arrays(cfg, scan(cfg))
    return load_splits(cfg, (split,))[split]


def load_splits(cfg: DataConfig, splits: tuple[str, ...] = SPLITS,
                progress: bool = True) -> dict[str, Arrays]:
    """Prepared arrays of several splits from one scan and one cache read."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"splits must be among {', '.join(SPLITS)}, got {unknown}")
    inv = scan(cfg)
    arrays = build_arrays(cfg, inv, progress=progress)
    return {s: select(arrays, inv.select(s)) for s in splits}


def make_tf_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                    seed: int = 0, drop_remainder: bool = True):
    """A shuffled, batched, prefetched tf.data pipeline of (image, label)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

