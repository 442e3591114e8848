"""Images -> training arrays: the article's function for teaching, and the default pipeline.

The default pipeline never stops on a bad file: each unusable file is skipped with a
SkippedImageWarning naming it, and `Arrays.skipped` lists every skip with its reason. Results
are cached on disk (uint8, keyed by the full config and the file list) and reloaded in well under
a second.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import time
import warnings
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import DataConfig
from .data import SPLITS, Inventory, Record, scan
from .datasets import cache_dir
from .errors import ClothganError, DataError

CACHE_VERSION = 3
#: Images with more pixels than this are skipped unread ("too large"): decompression bombs.
MAX_PIXELS = 8192 * 8192

# Why a file was skipped (the summary counts skips by these).
EMPTY = "empty file"
NOT_IMAGE = "not an image"
CORRUPT = "corrupt or truncated"
TOO_LARGE = "too large"
UNSUPPORTED = "unsupported colour mode"
UNREADABLE = "unreadable"
FOREGROUND_FAILED = "foreground extraction failed"

_CHUNK = 64          # images per task sent to a worker


class SkippedImageWarning(UserWarning):
    """A file was left out of a load; the message names it and says why."""


class UnusableImage(DataError):
    """One image file that cannot be used; `reason` is one of the skip reasons above."""

    def __init__(self, path: str | os.PathLike, reason: str, detail: str = ""):
        self.path, self.reason, self.detail = str(path), reason, detail
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


class _UnsupportedMode(ValueError):
    pass


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    detail: str = ""


def article_preprocess(path: str | os.PathLike) -> np.ndarray:
    """The article's function, unchanged: squash to 28x28, convert('LA'), keep channel 0 (uint8)."""
    img = Image.open(path).resize((28, 28))
    return np.asarray(img.convert("LA"))[:, :, 0]


# ----------------------------------------------------------------------------- one image

def _foreground_extractor():
    """HOOK for `DataConfig(foreground=True)`, wired by the cut-and-paste work (issue 5).

    Contract: `clothgan.cutpaste.foreground_on_white(img: PIL.Image (RGB), path: str) ->
    PIL.Image (RGB, same size)` puts the garment on a plain white background; an optional
    `clothgan.cutpaste.FOREGROUND_VERSION` string is part of the cache key, so changing the
    extractor never reuses stale arrays.
    """
    try:
        cutpaste = importlib.import_module(f"{__package__}.cutpaste")
    except ImportError as exc:
        raise ClothganError("DataConfig(foreground=True) needs clothgan.cutpaste (garment "
                            "extraction), which this version does not have; use "
                            "foreground=False") from exc
    fn = getattr(cutpaste, "foreground_on_white", None)
    if fn is None:
        raise ClothganError("DataConfig(foreground=True) is not available yet: "
                            "clothgan.cutpaste has no foreground_on_white(img, path); use "
                            "foreground=False")
    return fn


def _foreground_fingerprint(cfg: DataConfig) -> str:
    if not cfg.foreground:
        return ""
    cutpaste = importlib.import_module(f"{__package__}.cutpaste")
    return str(getattr(cutpaste, "FOREGROUND_VERSION", "unversioned"))


def _to_rgb_or_l(img: Image.Image, rgb: bool) -> Image.Image:
    """Any Pillow mode -> 'RGB' or 'L': 16-bit and float scaled, transparency over white."""
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img).astype(np.float32)
        top = float(a.max()) if a.size else 0.0
        if mode.startswith("I;16"):
            a = a / 257.0
        elif top > 255:
            a = a * (255.0 / max(top, 65535.0) if top > 65535 else 255.0 / 65535.0)
        elif mode == "F" and top <= 1.0:
            a = a * 255.0
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    elif "transparency" in img.info and mode in ("P", "L", "RGB"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if img.mode not in ("L", "RGB"):
        try:
            img = img.convert("RGB")
        except ValueError as exc:
            raise _UnsupportedMode(f"colour mode {img.mode}") from exc
    target = "RGB" if rgb else "L"
    return img if img.mode == target else img.convert(target)


def _orient(img: Image.Image) -> Image.Image:
    """The decoded image as it is meant to be seen (EXIF orientation applied)."""
    try:
        if img.getexif().get(0x0112, 1) in (2, 3, 4, 5, 6, 7, 8):
            return ImageOps.exif_transpose(img)
    except Exception:          # broken EXIF: the pixels are still good, keep them as stored
        pass
    img.load()
    return img


def _fit(img: Image.Image, size: int, resize: str) -> np.ndarray:
    """uint8 (size, size[, c]): squashed, or scaled to fit and centred on white (pad)."""
    if resize == "squash":
        return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    w, h = img.size
    nw, nh = max(1, round(w * size / max(w, h))), max(1, round(h * size / max(w, h)))
    small = np.asarray(img.resize((nw, nh), Image.Resampling.BILINEAR), dtype=np.uint8)
    out = np.full((size, size, *small.shape[2:]), 255, np.uint8)
    y0, x0 = round((size - nh) * 0.5), round((size - nw) * 0.5)     # as ImageOps.pad places it
    out[y0:y0 + nh, x0:x0 + nw] = small
    return out


def _decode(path: str, cfg: DataConfig, foreground=None) -> np.ndarray:
    """One image as uint8 (size, size, channels); raises UnusableImage with the reason."""
    size = cfg.image_size
    rgb = cfg.channels == 3 or cfg.foreground
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise UnusableImage(path, TOO_LARGE, f"{w}x{h} pixels, limit {MAX_PIXELS:,}")
            if img.format == "JPEG":
                # libjpeg decodes at the smallest 1/2..1/8 scale still at least `size` on each
                # side (and only luminance for "L"): far less work than a full decode.
                img.draft("RGB" if rgb else "L", (size, size))
            img = _orient(img)
            try:
                img = _to_rgb_or_l(img, rgb)
            except _UnsupportedMode as exc:
                raise UnusableImage(path, UNSUPPORTED, str(exc)) from exc
            if foreground is not None:
                try:
                    img = foreground(img, path)
                except ClothganError:
                    raise
                except Exception as exc:
                    raise UnusableImage(path, FOREGROUND_FAILED, repr(exc)) from exc
                if cfg.channels == 1:
                    img = img.convert("L")
            arr = _fit(img, size, cfg.resize)
    except (UnusableImage, ClothganError):
        raise
    except Image.DecompressionBombError as exc:
        raise UnusableImage(path, TOO_LARGE, str(exc)) from exc
    except UnidentifiedImageError as exc:
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            raise UnusableImage(path, EMPTY, "0 bytes") from exc
        raise UnusableImage(path, NOT_IMAGE, "no image format recognised") from exc
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise UnusableImage(path, UNREADABLE, exc.strerror or str(exc)) from exc
    except Exception as exc:       # Pillow reports damaged data with many exception types
        raise UnusableImage(path, CORRUPT, str(exc) or type(exc).__name__) from exc
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape != (size, size, cfg.channels):
        raise UnusableImage(path, CORRUPT, f"decoded to shape {arr.shape}")
    return arr


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [-1, 1] (the one conversion used fresh and from the cache)."""
    return images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def load_image(path: str | os.PathLike, cfg: DataConfig) -> np.ndarray:
    """One image as float32 HxWxC in [-1, 1]: EXIF-oriented, resized per cfg.resize, padded white.

    Raises UnusableImage (a DataError naming the file and the reason) for a file that cannot
    be used.
    """
    fg = _foreground_extractor() if cfg.foreground else None
    return to_float(_decode(str(path), cfg, fg))


def _decode_chunk(paths: list[str], cfg: DataConfig):
    """Worker task: [(uint8 array or None, reason, detail)] for each path."""
    fg = _foreground_extractor() if cfg.foreground else None
    out = []
    for p in paths:
        try:
            out.append((_decode(p, cfg, fg), "", ""))
        except UnusableImage as exc:
            out.append((None, exc.reason, exc.detail))
    return out


def _worker_init() -> None:
    # Pillow's own warning for big images is noise here: such files are skipped and reported.
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)


# ----------------------------------------------------------------------------- many images

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
                         "max_pixels": MAX_PIXELS, "fg": _foreground_fingerprint(cfg)},
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
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), x=x8, y=y, paths=np.array(paths, dtype=str),
                     skipped=np.array([[s.path, s.reason, s.detail] for s in skipped],
                                      dtype=str).reshape(-1, 3))
        os.replace(tmp, path)
    except OSError as exc:            # a full disk must not lose the prepared arrays in memory
        tmp.unlink(missing_ok=True)
        warnings.warn(f"{path}: could not write the prepared-data cache ({exc})", stacklevel=3)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _fork_is_safe() -> bool:
    """Worker processes by fork are fastest, but unsafe once a framework with its own threads
    is loaded (TensorFlow, PyTorch, JAX) and on macOS; threads are used then."""
    if not sys.platform.startswith("linux"):
        return False
    return not any(m in sys.modules for m in ("tensorflow", "torch", "jax"))


def _make_executor(backend: str, workers: int) -> Executor | None:
    if backend == "serial" or workers <= 1:
        return None
    if backend == "auto" and _fork_is_safe() or backend == "process":
        if not _fork_is_safe():
            # spawn would re-run the user's script in every worker (no __main__ guard in
            # notebooks-turned-scripts), so threads it is.
            warnings.warn("process workers need fork, which is unsafe here (TensorFlow, PyTorch "
                          "or JAX loaded, or not Linux); using threads", stacklevel=4)
            return ThreadPoolExecutor(workers)
        import multiprocessing as mp
        return ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"),
                                   initializer=_worker_init)
    return ThreadPoolExecutor(workers)


def _decode_all(paths: list[str], cfg: DataConfig, workers: int, backend: str, progress: bool):
    from tqdm.auto import tqdm

    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    if len(paths) < 2 * _CHUNK:
        backend = "serial"
    ex = _make_executor(backend, min(workers, len(chunks)))
    results = []
    try:
        # Submit before the progress bar starts its monitor thread: fork then sees one thread.
        jobs = ([ex.submit(_decode_chunk, c, cfg) for c in chunks] if ex else chunks)
        with tqdm(total=len(paths), desc="prepare images", unit="img", disable=not progress,
                  leave=False) as bar:
            for job in jobs:
                part = job.result() if ex else _decode_chunk(job, cfg)
                results.extend(part)
                bar.update(len(part))
    except BaseException:
        if ex:
            ex.shutdown(wait=True, cancel_futures=True)
        raise
    if ex:
        ex.shutdown()
    return results


def _warn_skipped(skipped: list[Skipped]) -> None:
    for s in skipped:
        warnings.warn(f"{s.path}: skipped, {s.reason}" + (f" ({s.detail})" if s.detail else ""),
                      SkippedImageWarning, stacklevel=4)


def prepare(cfg: DataConfig, inventory: Inventory | None = None, workers: int | None = None,
            *, backend: str = "auto", progress: bool = True) -> Arrays:
    """All records of the source as arrays (every split), from the disk cache when it is valid.

    Unusable files are skipped (SkippedImageWarning each, listed in `Arrays.skipped`).
    `backend`: "auto" (forked processes where fork is safe, else threads), "process", "thread"
    or "serial"; fewer than 128 images are always decoded serially.
    """
    if backend not in ("auto", "process", "thread", "serial"):
        raise ValueError(f"backend must be auto, process, thread or serial, got {backend!r}")
    if cfg.foreground:
        _foreground_extractor()        # a clear error now rather than one per image
    inv = inventory or scan(cfg)
    records = sorted(inv.records, key=lambda r: r.path)
    key = _cache_key(cfg, records)
    path = cache_dir("prepared") / f"{key}.npz"
    cached = _read_cache(path, key, cfg)
    if cached is not None:
        _warn_skipped(cached.skipped)
        return cached
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
        return prepare(cfg, scan(cfg))
    return load_splits(cfg, (split,))[split]


def load_splits(cfg: DataConfig, splits: tuple[str, ...] = SPLITS) -> dict[str, Arrays]:
    """Prepared arrays of several splits from one scan and one cache read."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"splits must be among {', '.join(SPLITS)}, got {unknown}")
    inv = scan(cfg)
    arrays = prepare(cfg, inv)
    return {s: select(arrays, inv.select(s)) for s in splits}


def make_tf_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                    seed: int = 0, drop_remainder: bool = True):
    """A shuffled, batched, prefetched tf.data pipeline of (image, label)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------- summary

@dataclass
class PrepareReport:
    """What `clothgan prepare` prints: the data that loaded, what was left out and why."""

    dataset: str
    root: str
    config: dict
    counts: dict[str, dict[str, int]]          # split -> class -> images loaded
    skipped: list[Skipped]
    excluded_labels: dict[str, int]
    kids_excluded: int
    missing_files: list[str]
    unlisted_files: list[str]
    duplicate_rows: int
    own_split: bool
    cache_path: str | None
    from_cache: bool
    seconds: float

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def skip_counts(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped).most_common())

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset, "root": self.root, "config": self.config,
            "images": self.total, "counts": self.counts,
            "skipped": [{"path": s.path, "reason": s.reason, "detail": s.detail}
                        for s in self.skipped],
            "skipped_by_reason": self.skip_counts(),
            "excluded_labels": self.excluded_labels, "kids_excluded": self.kids_excluded,
            "missing_files": len(self.missing_files), "unlisted_files": len(self.unlisted_files),
            "missing_examples": self.missing_files[:5], "unlisted_examples": self.unlisted_files[:5],
            "duplicate_rows": self.duplicate_rows, "split_from_source": self.own_split,
            "cache_path": self.cache_path, "from_cache": self.from_cache,
            "seconds": round(self.seconds, 3),
        }

    def format(self, max_skipped: int = 20) -> str:
        """The human-readable summary: a class x split table, then what was left out."""
        splits = [s for s in SPLITS if s in self.counts]
        classes = self.config["classes"]
        w = max(8, *(len(c) for c in classes))
        lines = [f"dataset {self.dataset} ({self.root}): {self.total} images, "
                 f"{self.config['image_size']}x{self.config['image_size']}x"
                 f"{self.config['channels']}, split "
                 f"{'from the source' if self.own_split else 'by hash of the image id'}",
                 f"{'class':<{w}}" + "".join(f"{s:>8}" for s in splits) + f"{'total':>8}"]
        for c in classes:
            row = [self.counts[s].get(c, 0) for s in splits]
            lines.append(f"{c:<{w}}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
        totals = [sum(self.counts[s].values()) for s in splits]
        lines.append(f"{'total':<{w}}" + "".join(f"{n:>8}" for n in totals) + f"{sum(totals):>8}")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s): " + ", ".join(
                f"{n} {r}" for r, n in self.skip_counts().items()))
            lines += [f"  {s.path}: {s.reason}" + (f" ({s.detail})" if s.detail else "")
                      for s in self.skipped[:max_skipped]]
            if len(self.skipped) > max_skipped:
                lines.append(f"  ... and {len(self.skipped) - max_skipped} more (--json lists all)")
        else:
            lines.append("skipped 0 files")
        if self.excluded_labels:
            lines.append(f"excluded labels ({sum(self.excluded_labels.values())} images): " +
                         ", ".join(f"{k} {v}" for k, v in self.excluded_labels.items()))
        if self.kids_excluded:
            lines.append(f"excluded kids' clothes: {self.kids_excluded}")
        lines.append(f"CSV rows without a file: {len(self.missing_files)}; image files without a "
                     f"row or label: {len(self.unlisted_files)}"
                     + (f"; duplicate rows: {self.duplicate_rows}" if self.duplicate_rows else ""))
        lines.append(f"cache: {self.cache_path} ({'reused' if self.from_cache else 'written'}) "
                     f"in {self.seconds:.2f} s")
        return "\n".join(lines)


def prepare_report(cfg: DataConfig, workers: int | None = None, *, progress: bool = True,
                   backend: str = "auto", inventory: Inventory | None = None
                   ) -> tuple[Arrays, PrepareReport]:
    """prepare() plus the summary of what was loaded, skipped and left out (timed)."""
    t0 = time.perf_counter()
    inv = inventory or scan(cfg)
    arrays = prepare(cfg, inv, workers, progress=progress, backend=backend)
    loaded = set(arrays.paths)
    counts = {s: dict(sorted(Counter(r.label for r in inv.records
                                     if r.split == s and r.path in loaded).items()))
              for s in SPLITS}
    counts = {s: c for s, c in counts.items() if c}
    report = PrepareReport(
        dataset=cfg.dataset, root=str(inv.root), config=cfg.to_dict(), counts=counts,
        skipped=arrays.skipped, excluded_labels=dict(inv.excluded_labels.most_common()),
        kids_excluded=inv.kids_excluded, missing_files=inv.missing_files,
        unlisted_files=inv.unlisted_files, duplicate_rows=inv.duplicate_rows,
        own_split=inv.own_split, cache_path=arrays.cache_path, from_cache=arrays.from_cache,
        seconds=time.perf_counter() - t0)
    return arrays, report
