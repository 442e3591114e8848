"""A labelled image folder, DIR/<class>/<file>, as arrays: what `clothgan evaluate` scores.

Any images will do (generated PNGs, the user's own photos, another tool's output): each goes
through the same decoder as the training photos (clothgan.data.images), at one size and
channel count, so a folder of JPEGs of mixed sizes and modes reads like the training data.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..config import CLASSES, DataConfig
from ..core.parallel import parallel_map
from ..core.pixels import to_float
from ..errors import ClothganError
from .images import CORRUPT, UNREADABLE, Skipped, SkippedImageWarning, UnusableImage, decode
from .inventory import label_folders

#: Images with a side shorter than this carry no garment to judge; they are skipped.
MIN_SIDE = 8
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclass
class ImageSet:
    """Images of a DIR/<class>/<file> folder: x (N, H, W, C) in [-1, 1], labels, relative files.

    converted: how many files were resized or changed colour mode to fit; skipped: files that
    could not be used, with the reason.
    """

    root: Path
    x: np.ndarray
    y: np.ndarray
    files: list[str]
    class_names: tuple[str, ...]
    converted: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.y, minlength=len(self.class_names))
        return {n: int(k) for n, k in zip(self.class_names, c) if k}


def folder_files(root: str | os.PathLike, class_names: Sequence[str] = CLASSES,
                 max_per_class: int | None = None, unusable: list | None = None
                 ) -> tuple[list[str], list[int]]:
    """(image files, label indices) of DIR/<class>/<file>; a folder that is not a class, or
    no images at all, is a one-line error. Names that cannot be opened (not UTF-8 text, a
    looping link) are left out, and added to `unusable` as (printable path, reason) when given."""
    root = Path(root)
    if not root.is_dir():
        raise ClothganError(f"{root}: no such folder; pass the DIR written by `clothgan generate` "
                            "or `clothgan compose --mode classification`, or any DIR/<class>/<image>")
    names = tuple(class_names)
    files, labels = [], []
    for folder, label, images in label_folders(root, unusable)[0]:
        if label not in names:
            raise ClothganError(f"{folder}: folder name is not a class ({', '.join(names)}); "
                                "rename or remove it")
        images = images[:max_per_class]
        files += images
        labels += [names.index(label)] * len(images)
    if not files:
        raise ClothganError(f"{root}: no images found; expected {root}/<class>/<name>.png "
                            f"with class folders named {', '.join(names)}")
    return files, labels


def _header(path: str) -> tuple[int, int, int] | None:
    """(width, height, channels) from the file's header, None when it cannot be read."""
    try:
        with Image.open(path) as img:
            return img.width, img.height, 1 if img.mode in _GREY_MODES else 3
    except Exception:
        return None


def common_geometry(files: Sequence[str]) -> tuple[int, int] | None:
    """(side, channels) when every readable file is square with one size and channel count."""
    shapes = {h for h in map(_header, files) if h is not None}
    if len(shapes) != 1:
        return None
    w, h, c = shapes.pop()
    # Smaller images are skipped as too small to judge, whatever size they are read at.
    return (w, c) if w == h and w >= MIN_SIDE else None


def _read(path: str, cfg: DataConfig):
    header = _header(path)
    if header is not None and min(header[:2]) < MIN_SIDE:
        return None, Skipped(path, CORRUPT, f"{header[0]}x{header[1]} pixels, too small to judge")
    try:
        arr = decode(path, cfg)
    except UnusableImage as exc:
        return None, Skipped(path, exc.reason, exc.detail)
    same = header is not None and header == (cfg.image_size, cfg.image_size, cfg.channels)
    return (arr, not same), None


def read_image_folder(root: str | os.PathLike, class_names: Sequence[str] = CLASSES,
                      max_per_class: int | None = None, size: int | None = None,
                      channels: int | None = None) -> ImageSet:
    """Read DIR/<class>/<file> at size x size x channels (default: the files' own, when they
    all share one square size and mode; else 28x28 grey, the training default)."""
    root = Path(root)
    unusable: list[tuple[str, str]] = []
    files, labels = folder_files(root, class_names, max_per_class, unusable)
    if size is None or channels is None:
        side, chans = common_geometry(files) or (DataConfig().image_size, DataConfig().channels)
        size, channels = size or side, channels or chans
    cfg = DataConfig(image_size=size, channels=channels)
    results = parallel_map(partial(_read, cfg=cfg), files, desc="read images", progress=False)
    kept = [(i, r) for i, (r, _) in enumerate(results) if r is not None]
    skipped = [Skipped(p, UNREADABLE, why) for p, why in unusable]
    skipped += [s for _, s in results if s is not None]
    for s in skipped:
        warnings.warn(f"{s.path}: skipped, {s.reason}" + (f" ({s.detail})" if s.detail else ""),
                      SkippedImageWarning, stacklevel=2)
    if not kept:
        first = skipped[0]
        raise ClothganError(f"{root}: none of the {len(files)} images is usable (e.g. {first.path}: "
                            f"{first.reason}{f', {first.detail}' if first.detail else ''}); "
                            "replace them")
    x = to_float(np.stack([a for _, (a, _) in kept]))
    return ImageSet(root, x, np.array([labels[i] for i, _ in kept], np.int32),
                    [os.path.relpath(files[i], root) for i, _ in kept], tuple(class_names),
                    converted=sum(1 for _, (_, conv) in kept if conv), skipped=skipped)
