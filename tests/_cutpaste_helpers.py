"""Test data for the cut-and-paste tests: photos of garment-like shapes with known masks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from clothgan.config import CLASSES
from clothgan.cutpaste.synthetic import garment_photo


def garment_folder(root: Path, per_class: int = 2, size=(160, 200)) -> Path:
    """A `<label>/<file>.jpg` folder of synthetic garment photos, `per_class` for each class."""
    for ci, c in enumerate(CLASSES):
        for i in range(per_class):
            photo, _, _ = garment_photo(np.random.default_rng([ci, i]), size)
            p = root / c / f"{c}_{i}.jpg"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(photo).save(p, quality=92)
    return root


def build_test_bank(root: Path, home: Path, per_class: int = 2, longer_side: int = 160):
    """(bank, report) extracted from a garment folder, cached under `home` (module fixtures)."""
    import pytest

    from clothgan.config import DataConfig
    from clothgan.cutpaste.compose import build_bank, select_sources
    from clothgan.data import scan

    folder = garment_folder(root, per_class)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLOTHGAN_HOME", str(home))
        records = select_sources(scan(DataConfig(dataset=str(folder))), None, split=None)
        return build_bank(records, longer_side=longer_side, workers=1, progress=False)
