"""The run directory contract shared by training, generation and evaluation.

A run directory holds `run.json` (what later commands need to know) and `generator.keras`
(a Keras model: inputs [noise (N, latent_dim) float32, labels (N,) int32] -> images (N, H, W, C)
in [-1, 1]); training adds checkpoints, samples and logs beside them.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ClothganError

RUN_FILE = "run.json"
GENERATOR_FILE = "generator.keras"
BEST_DIR = "best"            # RUN_DIR/best/: the kept generator, itself a run directory
BEST_FILE = "best.json"      # ... with its validation scores
TRUNCATION_FILE = "truncation.json"   # the noise scales tried after training and their scores
GENERATORS = ("best", "last")


@dataclass(frozen=True)
class RunInfo:
    class_names: tuple[str, ...]
    image_size: int
    channels: int
    latent_dim: int
    preset: str = "seed"
    config: dict = field(default_factory=dict)   # the full configs used (data, model, training)
    epochs_done: int = 0
    truncation: float = 1.0   # noise scale to sample with (clothgan.selection.tune_truncation)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def code_version() -> dict:
    """{"commit": git HEAD of the clothgan source, "dirty": uncommitted changes} (None outside git)."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def write_run_info(run_dir: str | os.PathLike, info: RunInfo) -> Path:
    """Write run.json atomically."""
    path = Path(run_dir) / RUN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(info.to_json())
    os.replace(tmp, path)
    return path


def read_run_info(run_dir: str | os.PathLike) -> RunInfo:
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ClothganError(f"{run_dir}: not a clothgan run directory (no {RUN_FILE}); "
                            "train one with `clothgan train --out DIR`")
    d = json.loads(path.read_text())
    d["class_names"] = tuple(d["class_names"])
    return RunInfo(**d)


def generator_dir(run_dir: str | os.PathLike, which: str = "best") -> Path:
    """The folder whose generator.keras to use: RUN_DIR/best/ when kept and `which` is "best",
    else RUN_DIR itself (its generator of the last finished epoch)."""
    if which not in GENERATORS:
        raise ClothganError(f"generator must be one of {', '.join(GENERATORS)}, got {which!r}")
    best = Path(run_dir) / BEST_DIR
    if which == "best" and (best / GENERATOR_FILE).is_file() and (best / RUN_FILE).is_file():
        return best
    return Path(run_dir)


def load_generator(run_dir: str | os.PathLike, which: str = "last"):
    """(generator, RunInfo) of a run directory; which="best" prefers its kept best generator."""
    import keras

    from . import models, quality  # noqa: F401 (registers the custom layers saved models use)

    run_dir = generator_dir(run_dir, which)
    info = read_run_info(run_dir)
    path = Path(run_dir) / GENERATOR_FILE
    if not path.is_file():
        raise ClothganError(f"{path}: missing; the run has not finished an epoch yet, "
                            "or resume it with `clothgan train --out DIR --resume`")
    return keras.saving.load_model(path, compile=False), info
