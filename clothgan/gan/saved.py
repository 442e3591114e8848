"""Loading a saved generator: the registered custom layers are imported first."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ClothganError
from ..runs import GENERATOR_FILE, RUN_FILE, RunInfo, generator_dir, read_run_info
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
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:   # keras reports a damaged archive in many ways, some misleading
        raise ClothganError(f"{path}: unreadable generator ({type(exc).__name__}); the file is "
                            "damaged or incomplete: resume the run to write it again "
                            "(`clothgan train --out RUN_DIR --resume`) or use another run") from None
    check_generator_shapes(model, info, path)
    return model, info


def check_generator_shapes(model, info: RunInfo, path) -> None:
    """Refuse a model that is not the run's generator: inputs [noise (N, latent_dim), labels (N,)
    or (N, 1)] and output (N, size, size, channels), as run.json describes."""
    def shape(t):
        return tuple(getattr(t, "shape", ()) or ())

    inputs = list(getattr(model, "inputs", None) or [])
    outputs = list(getattr(model, "outputs", None) or [])
    want_out = (info.image_size, info.image_size, info.channels)
    ok = (len(inputs) == 2 and len(outputs) == 1
          and shape(inputs[0])[1:] == (info.latent_dim,) and shape(inputs[1])[1:] in ((), (1,))
          and shape(outputs[0])[1:] == want_out)
    if not ok:
        got = f"inputs {[shape(t) for t in inputs]}, outputs {[shape(t) for t in outputs]}"
        raise ClothganError(f"{path}: not this run's generator ({got}; {RUN_FILE} expects noise "
                            f"(None, {info.latent_dim}), labels (None,) -> images (None, "
                            f"{', '.join(map(str, want_out))})); put the run's own generator.keras "
                            "back, or use another run")
