"""The run directory contract shared by training, sampling and evaluation.

A run directory holds `run.json` (what later commands need to know) and `generator.keras`
(a Keras model: inputs [noise (N, latent_dim) float32, labels (N,) int32] -> images (N, H, W, C)
in [-1, 1]); training adds checkpoints, samples and logs beside them.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .config import (PRESET_ALIASES, check_choice_int, check_int, check_names, check_truncation,
                     set_fields)
from .core.files import atomic_write, process_alive, read_json
from .errors import ClothganError, ConfigError

RUN_FILE = "run.json"
GENERATOR_FILE = "generator.keras"
BEST_DIR = "best"            # RUN_DIR/best/: the kept generator, itself a run directory
BEST_FILE = "best.json"      # ... with its validation scores
TRUNCATION_FILE = "truncation.json"   # the noise scales tried after training and their scores
LOCK_FILE = ".training"      # the pid of the process training into the run directory
GENERATORS = ("best", "last")


@dataclass(frozen=True)
class RunInfo:
    class_names: tuple[str, ...]
    image_size: int
    channels: int
    latent_dim: int
    preset: str = "reference"
    config: dict = field(default_factory=dict)   # the full configs used (data, model, training)
    epochs_done: int = 0
    truncation: float = 1.0   # noise scale to sample with (clothgan.training.selection.tune_truncation)

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str) or not isinstance(self.config, dict):
            raise ConfigError(f"preset must be a name and config a mapping, got {self.preset!r}, "
                              f"{type(self.config).__name__}")
        set_fields(self, preset=PRESET_ALIASES.get(self.preset, self.preset),   # an earlier name
                   class_names=check_names("class_names", self.class_names),
                   image_size=check_int("image_size", self.image_size, 8),
                   channels=check_choice_int("channels", self.channels, (1, 3)),
                   latent_dim=check_int("latent_dim", self.latent_dim, 1),
                   epochs_done=check_int("epochs_done", self.epochs_done, 0),
                   truncation=check_truncation(self.truncation))

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
    return atomic_write(Path(run_dir) / RUN_FILE, lambda tmp: Path(tmp).write_text(info.to_json()))


def read_run_info(run_dir: str | os.PathLike) -> RunInfo:
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ClothganError(f"{run_dir}: not a clothgan run directory (no {RUN_FILE}); "
                            "train one with `clothgan train --out DIR`")
    d = read_json(path, RUN_FILE, "the run directory is damaged: train it again into another --out")
    known = {f.name for f in fields(RunInfo)}
    try:
        d = {k: v for k, v in d.items() if k in known}
        return RunInfo(**d)
    except (TypeError, ConfigError) as exc:    # a missing field, or one of the wrong type
        raise ClothganError(f"{path}: broken {RUN_FILE} ({exc}); the run directory is damaged: "
                            "train it again into another --out") from None


def generator_dir(run_dir: str | os.PathLike, which: str = "best") -> Path:
    """The folder whose generator.keras to use: RUN_DIR/best/ when kept and `which` is "best",
    else RUN_DIR itself (its generator of the last finished epoch)."""
    if which not in GENERATORS:
        raise ClothganError(f"generator must be one of {', '.join(GENERATORS)}, got {which!r}")
    best = Path(run_dir) / BEST_DIR
    if which == "best" and (best / GENERATOR_FILE).is_file() and (best / RUN_FILE).is_file():
        return best
    return Path(run_dir)


class TrainingLock:
    """RUN_DIR/.training holds the training process's pid while it runs (see `training_pid`)."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK_FILE
        self.path.write_text(str(os.getpid()))

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def training_pid(run_dir: str | os.PathLike) -> int | None:
    """The pid of a live process still training into run_dir (a killed run's stale lock is
    ignored), else None."""
    try:
        pid = int((Path(run_dir) / LOCK_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and process_alive(pid) else None
