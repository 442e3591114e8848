"""Images -> training arrays: the article's function for teaching, and the default pipeline."""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .config import DataConfig
from .data import Inventory, Record, scan
from .datasets import cache_dir

CACHE_VERSION = 1


def article_preprocess(path: str | os.PathLike) -> np.ndarray:
    """The article's function, unchanged: squash to 28x28, convert('LA'), keep channel 0 (uint8)."""
    img = Image.open(path).resize((28, 28))
    return np.asarray(img.convert("LA"))[:, :, 0]


def load_image(path: str | os.PathLike, cfg: DataConfig) -> np.ndarray:
    """One image as float32 HxWxC in [-1, 1]: EXIF-oriented, resized per cfg.resize, padded white."""
    size = cfg.image_size
    with Image.open(path) as img:
        # Draft mode lets libjpeg decode at 1/2..1/8 scale: far less work for a 28x28 target.
        img.draft("RGB", (size * 2, size * 2))
        img = ImageOps.exif_transpose(img)
        img = img.convert("L" if cfg.channels == 1 else "RGB")
        if cfg.resize == "squash":
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        else:
            img = ImageOps.pad(img, (size, size), Image.Resampling.BILINEAR,
                               color=255 if cfg.channels == 1 else (255, 255, 255))
        arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr / 127.5 - 1.0


@dataclass
class Arrays:
    """A prepared split: images in [-1, 1] (N, H, W, C), integer labels, and their source files."""

    x: np.ndarray
    y: np.ndarray
    paths: list[str]
    class_names: tuple[str, ...]


def _cache_key(cfg: DataConfig, records: list[Record]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, "cfg": cfg.to_dict()}, sort_keys=True).encode())
    for r in records:
        st = os.stat(r.path)
        h.update(f"{r.path}|{r.label}|{r.split}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def prepare(cfg: DataConfig, inventory: Inventory | None = None, workers: int | None = None) -> Arrays:
    """All records of the source as arrays (every split), from the disk cache when it is valid."""
    inv = inventory or scan(cfg)
    records = sorted(inv.records, key=lambda r: r.path)
    path = cache_dir("prepared") / f"{_cache_key(cfg, records)}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return Arrays(z["x"], z["y"], [str(p) for p in z["paths"]], cfg.classes)
    index = {c: i for i, c in enumerate(cfg.classes)}
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        images = list(pool.map(lambda r: load_image(r.path, cfg), records))
    x = np.stack(images).astype(np.float32)
    y = np.array([index[r.label] for r in records], dtype=np.int32)
    paths = [r.path for r in records]
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, x=x, y=y, paths=np.array(paths))
    os.replace(tmp, path)
    return Arrays(x, y, paths, cfg.classes)


def load_split(cfg: DataConfig, split: str | None = "train") -> Arrays:
    """Prepared arrays of one split ("train", "val", "test") or of everything (None)."""
    inv = scan(cfg)
    arrays = prepare(cfg, inv)
    if split is None:
        return arrays
    wanted = {r.path for r in inv.select(split)}
    keep = np.array([p in wanted for p in arrays.paths], dtype=bool)
    return Arrays(arrays.x[keep], arrays.y[keep], [p for p, k in zip(arrays.paths, keep) if k],
                  arrays.class_names)


def make_tf_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                    seed: int = 0, drop_remainder: bool = True):
    """A shuffled, batched, prefetched tf.data pipeline of (image, label)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
