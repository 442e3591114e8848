"""Loading a saved generator: the registered custom layers are imported first."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ClothganError
from ..runs import GENERATOR_FILE, RunInfo, generator_dir, read_run_info
from . import layers  # noqa: F401 (registers the custom layers saved models use)


def load_generator(run_dir: str | os.PathLike, which: str = "last"):
    """(generator, RunInfo) of a run directory; which="best" prefers its kept best generator."""
    import keras

    run_dir = generator_dir(run_dir, which)
    info: RunInfo = read_run_info(run_dir)
    path = Path(run_dir) / GENERATOR_FILE
    if not path.is_file():
        raise ClothganError(f"{path}: missing; the run has not finished an epoch yet, "
                            "or resume it with `clothgan train --out DIR --resume`")
    try:
        return keras.saving.load_model(path, compile=False), info
    except Exception as exc:   # keras reports a damaged archive in many ways, some misleading
        raise ClothganError(f"{path}: unreadable generator ({type(exc).__name__}); the file is "
                            "damaged or incomplete: resume the run to write it again "
                            "(`clothgan train --out RUN_DIR --resume`) or use another run") from None
