"""The noise scale of a generator the study did not train (the shipped one), chosen for use:
by train-on-synthetic accuracy on the validation photos (clothgan.training.selection), not FID."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.files import read_json, write_json_atomic
from ..training.selection import USEFUL_GRID


def useful_scale(run_dir, val_x: np.ndarray, val_y: np.ndarray, num_classes: int,
                 record: Path, grid=USEFUL_GRID) -> tuple[float, dict]:
    """(the scale of `grid` with the highest train-on-synthetic accuracy on (val_x, val_y),
    every scale's accuracy); remembered in `record` so that it is measured once."""
    from ..gan.saved import load_generator
    from ..training.selection import usefulness

    if record.is_file():
        saved = read_json(record, "usefulness record")
        return float(saved["truncation"]), saved["scores"]
    generator, _ = load_generator(run_dir, "best")
    scores = {f"{t:g}": usefulness(generator, val_x, val_y, num_classes, t) for t in grid}
    best = max(grid, key=lambda t: (scores[f"{t:g}"], t))
    write_json_atomic(record, {"truncation": best, "scores": scores}, indent=1)
    return float(best), scores
