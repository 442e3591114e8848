"""What every notebook's setup cell calls: seeding, mode (fast or full), shared run locations."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import DEFAULT_PRESET, ENV_FAST, fast_mode
from ..core.cache import cache_dir
from ..errors import ClothganError
from ..runs import GENERATOR_FILE

ENV_RUN = "CLOTHGAN_RUN"   # a run directory for notebook 07 to use instead of notebook 06's


@dataclass(frozen=True)
class Session:
    """The notebook's settings, printed once by setup()."""

    seed: int
    fast: bool

    def pick(self, fast, full):
        """`fast` under CLOTHGAN_FAST=1 (CI), `full` otherwise: one notebook, two workloads."""
        return fast if self.fast else full


def in_colab() -> bool:
    return "COLAB_RELEASE_TAG" in os.environ or "google.colab" in __import__("sys").modules


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when it is already imported) TensorFlow/Keras."""
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in __import__("sys").modules:
        import keras
        keras.utils.set_random_seed(seed)


def setup(seed: int = 42) -> Session:
    """Seed everything and report the mode; call once at the top of each notebook."""
    seed_everything(seed)
    session = Session(seed=seed, fast=fast_mode())
    mode = f"fast ({ENV_FAST}=1: tiny workloads)" if session.fast else "full"
    where = "Colab" if in_colab() else "local"
    print(f"clothgan notebook: {mode} mode, {where}, seed {seed}, cache {cache_dir()}")
    return session


def notebook_run_dir(name: str = "notebook") -> Path:
    """Where notebook 06 trains and notebook 07 looks for that run (fast and full kept apart)."""
    return cache_dir("runs") / (f"{name}-fast" if fast_mode() else name)


def find_run(run: str | os.PathLike | None = None) -> Path | None:
    """The run notebook 07 shows: `run`, else $CLOTHGAN_RUN, else notebook 06's run if finished."""
    for candidate in (run, os.environ.get(ENV_RUN) or None):
        if candidate:
            path = Path(candidate).expanduser()
            if not (path / GENERATOR_FILE).is_file():
                raise ClothganError(f"{path}: no {GENERATOR_FILE} there; pass a finished run "
                                    f"directory (set {ENV_RUN} or train one in notebook 06)")
            return path
    default = notebook_run_dir()
    return default if (default / GENERATOR_FILE).is_file() else None


#: The shipped generator notebooks show when the user has not trained one: the default preset's.
PRETRAINED_FALLBACK = DEFAULT_PRESET


def results_run(run: str | os.PathLike | None = None, train_if_missing: bool | None = None) -> Path:
    """The run notebooks 07 and 09 show: find_run's, else the generator shipped with clothgan
    for the default preset (clothgan.pretrained); with neither, fast mode trains a tiny one.

    train_if_missing defaults to fast mode: a one-epoch run on a few hundred images, enough to
    execute every cell (its samples are blobs). Full mode asks for notebook 06's run instead.
    """
    from ..pretrained import available, pretrained_dir

    found = find_run(run)
    if found is not None:
        return found
    if PRETRAINED_FALLBACK in available():
        return pretrained_dir(PRETRAINED_FALLBACK)
    out = notebook_run_dir()
    if not (fast_mode() if train_if_missing is None else train_if_missing):
        raise ClothganError(f"no trained generator found: run notebook 06 (it trains into {out}), "
                            f"or set {ENV_RUN} to a run directory made by `clothgan train`")
    from ..training import train

    train(out, epochs=1, max_images=512, resume=(out / "checkpoint.npz").is_file(), verbose=False)
    return out
