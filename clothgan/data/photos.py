"""Which photos a run trains on: the training split, a stratified fraction of it, or a random
subset, listed in RUN_DIR/train_images.json so the same photos can be used again.

Only the chosen photos are decoded (plus the held-out splits when the run scores itself on
them), and a resumed run reads its list back, so it trains on exactly the same photos.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import DataConfig
from ..errors import ClothganError
from .arrays import Arrays, build_arrays, select
from .inventory import Inventory, Record, scan

TRAIN_IMAGES_FILE = "train_images.json"
#: Runs written before the list was JSON: one path per line (names holding a newline broke it).
OLD_TRAIN_IMAGES_FILE = "train_images.txt"


def choose_training(records: list[Record], classes, fraction: float | None = None,
                    max_images: int | None = None, seed: int = 0,
                    subset_seed: int = 0) -> list[Record]:
    """The training records a run uses, sorted by path.

    fraction: that share of each class's photos (at least one per class that has any), drawn
    with `seed`; max_images: then at most that many, drawn with `subset_seed`.
    """
    chosen = sorted(records, key=lambda r: r.path)
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise ClothganError(f"--fraction must be in (0, 1], got {fraction}")
        keep = []
        for i, c in enumerate(classes):
            of_class = [r for r in chosen if r.label == c]
            if not of_class:
                continue
            k = max(1, int(round(fraction * len(of_class))))
            pick = np.random.default_rng([seed, 0xF7AC, i]).permutation(len(of_class))[:k]
            keep += [of_class[j] for j in pick]
        chosen = sorted(keep, key=lambda r: r.path)
    if max_images is not None and max_images < len(chosen):
        pick = np.sort(np.random.default_rng([subset_seed, 0xDA7A]).permutation(len(chosen))[:max_images])
        chosen = [chosen[j] for j in pick]
    return chosen


def write_train_images(run_dir: Path, root: Path, paths: list[str]) -> Path:
    """RUN_DIR/train_images.json: each photo's path relative to the dataset root (JSON keeps any
    name a file system allows, newlines and spaces included)."""
    from ..core.files import write_json_atomic

    return write_json_atomic(Path(run_dir) / TRAIN_IMAGES_FILE,
                             {"photos": [os.path.relpath(p, root) for p in paths]}, indent=0)


def read_train_images(run_dir: Path) -> list[str] | None:
    """The relative paths in RUN_DIR/train_images.json, or an older run's train_images.txt
    (None when the run has no list)."""
    from ..core.files import read_json

    path = Path(run_dir) / TRAIN_IMAGES_FILE
    if path.is_file():
        photos = read_json(path, TRAIN_IMAGES_FILE, "start a new run").get("photos")
        if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
            raise ClothganError(f"{path}: broken {TRAIN_IMAGES_FILE} (no list of photos); start a "
                                "new run")
        return photos
    old = Path(run_dir) / OLD_TRAIN_IMAGES_FILE
    if not old.is_file():
        return None
    return [line.strip() for line in old.read_text().splitlines() if line.strip()]


def _listed(inv: Inventory, listed: list[str], run_dir: Path) -> list[Record]:
    by_rel = {os.path.relpath(r.path, inv.root): r for r in inv.records}
    missing = [p for p in listed if p not in by_rel]
    if missing:
        raise ClothganError(f"{Path(run_dir) / TRAIN_IMAGES_FILE}: {len(missing)} listed photo(s) "
                            f"are no longer in {inv.root} (e.g. {missing[0]}); restore them or "
                            "start a new run")
    return sorted((by_rel[p] for p in listed), key=lambda r: r.path)


def empty_classes(arrays: Arrays) -> list[str]:
    """The configured classes with no image in `arrays`."""
    counts = np.bincount(arrays.y, minlength=len(arrays.class_names))
    return [c for c, n in zip(arrays.class_names, counts) if n == 0]


def training_splits(data: DataConfig, run_dir: Path, *, fraction: float | None = None,
                    max_images: int | None = None, seed: int = 0, heldout: bool = True,
                    resume: bool = False, progress: bool = True
                    ) -> tuple[dict[str, Arrays], Path]:
    """({"train": the run's photos, "val", "test": the held-out splits (when `heldout`)}, the
    dataset's root), decoding only those photos; a resumed run with a list of photos gets
    exactly its listed photos."""
    inv = scan(data)
    listed = read_train_images(run_dir) if resume else None
    if listed is not None:
        train = _listed(inv, listed, run_dir)
    else:
        train = choose_training(inv.select("train"), data.classes, fraction, max_images,
                                seed=seed, subset_seed=data.split_seed)
    records = train + (inv.select("val") + inv.select("test") if heldout else [])
    arrays = build_arrays(data, replace(inv, records=records), progress=progress)
    splits = {"train": select(arrays, train)}
    if heldout:
        splits.update({s: select(arrays, inv.select(s)) for s in ("val", "test")})
    return splits, inv.root
