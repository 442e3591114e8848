"""What every notebook's setup cell calls: seeding, mode (fast or full), shared run locations."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import ENV_FAST, fast_mode
from .datasets import cache_dir


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
