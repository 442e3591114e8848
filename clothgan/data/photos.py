"""Which photos a run trains on: the training split, a stratified fraction of it, or a random
subset, recorded one per line in RUN_DIR/train_images.txt so the same photos can be used again.

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

TRAIN_IMAGES_FILE = "train_images.txt"


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
    """RUN_DIR/train_images.txt: each photo's path relative to the dataset root."""
    from ..core.files import atomic_write

    lines = "".join(f"{os.path.relpath(p, root)}\n" for p in paths)
    return atomic_write(Path(run_dir) / TRAIN_IMAGES_FILE, lambda tmp: Path(tmp).write_text(lines))


def read_train_images(run_dir: Path) -> list[str] | None:
    """The relative paths in RUN_DIR/train_images.txt (None when the run has no list)."""
    path = Path(run_dir) / TRAIN_IMAGES_FILE
    if not path.is_file():
        return None
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


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
    dataset's root), decoding only those photos; a resumed run with a train_images.txt gets
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
