"""What every notebook's setup cell calls: seeding, mode (fast or full), shared run locations."""
from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import DEFAULT_PRESET, ENV_FAST, fast_mode
from ..core.cache import cache_dir
from ..core.quiet_tf import import_tensorflow, quiet_on_import
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
    return "COLAB_RELEASE_TAG" in os.environ or "google.colab" in sys.modules


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when it is already imported) TensorFlow/Keras."""
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules:
        import keras
        keras.utils.set_random_seed(seed)


def setup(seed: int = 42, tensorflow: bool = True) -> Session:
    """Seed everything and report the mode; call once at the top of each notebook.

    tensorflow: import TensorFlow and Keras now (the notebooks that train or sample); False for
    the ones that only look at data. Either way TensorFlow's start-up log lines never reach a
    cell, whichever later cell or library function first imports it.
    """
    quiet_on_import()
    if tensorflow:
        import_tensorflow()
        import keras  # noqa: F401 (seeded below)
    seed_everything(seed)
    session = Session(seed=seed, fast=fast_mode())
    mode = f"fast ({ENV_FAST}=1: tiny workloads)" if session.fast else "full"
    where = "Colab" if in_colab() else "local"
    print(f"clothgan notebook: {mode} mode, {where}, seed {seed}, cache {cache_dir()}")
    return session


def add_to_class(cls):
    """Decorator: attach the function below it to `cls` as a method, so that a class can be
    written over several notebook cells, one idea each (the d2l book's idiom)."""
    def register(fn):
        setattr(cls, fn.__name__, fn)
        return fn
    return register


def notebook_run_dir(name: str = "notebook") -> Path:
    """Where notebook 06 trains and notebook 07 looks for that run (fast and full kept apart)."""
    return cache_dir("runs") / (f"{name}-fast" if fast_mode() else name)


#: Epochs notebook 06's run must have trained before notebooks 07 and 09 show it instead of the
#: shipped generator (fast mode's 2-epoch run draws stripes).
WORTH_SHOWING = 50


def results_run(run: str | os.PathLike | None = None, verbose: bool = True) -> Path:
    """The run notebooks 07 and 09 show, saying which and why: `run` or $CLOTHGAN_RUN when
    given; else notebook 06's run once it has trained WORTH_SHOWING epochs; else the generator
    shipped with clothgan for the default preset."""
    from ..pretrained import pretrained_dir
    from ..runs import read_run_info

    for given in (run, os.environ.get(ENV_RUN) or None):
        if given:
            path = Path(given).expanduser()
            if not (path / GENERATOR_FILE).is_file():
                raise ClothganError(f"{path}: no {GENERATOR_FILE} there; pass a finished run "
                                    f"directory (set {ENV_RUN} or train one in notebook 06)")
            if verbose:
                print(f"showing {path} (the run you chose)")
            return path
    own = notebook_run_dir()
    epochs = read_run_info(own).epochs_done if (own / GENERATOR_FILE).is_file() else 0
    if epochs >= WORTH_SHOWING:
        if verbose:
            print(f"showing your notebook 06 run: {own} ({epochs} epochs)")
        return own
    shipped = pretrained_dir(DEFAULT_PRESET)
    if verbose:
        why = (f"your notebook 06 run has {epochs} epoch(s), fewer than {WORTH_SHOWING}"
               if epochs else "notebook 06 has not trained a run yet")
        print(f"showing the generator shipped with clothgan ({DEFAULT_PRESET} preset): {why}; "
              f"train longer in notebook 06, or set {ENV_RUN} to a run of yours")
    return shipped
