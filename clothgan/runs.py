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

from .config import (FROM_DATA, PRESET_ALIASES, SCHEDULE_ALIASES, DataConfig, GANConfig,
                     TrainConfig, check_choice_int, check_int, check_names, check_truncation, set_fields)
from .core.files import atomic_write, process_alive, read_json
from .errors import ClothganError, ConfigError

RUN_FILE = "run.json"
GENERATOR_FILE = "generator.keras"
BEST_DIR = "best"            # RUN_DIR/best/: the kept generator, itself a run directory
BEST_FILE = "best.json"      # ... with its validation scores
TRUNCATION_FILE = "truncation.json"   # the noise scales tried after training and their scores
LOCK_FILE = ".training"      # the pid of the process training into the run directory
GENERATORS = ("best", "last")
#: RunInfo fields that its config records too, and where: run.json keeps them there only.
_IN_CONFIG = {"image_size": ("data", "image_size"), "channels": ("data", "channels"),
              "class_names": ("data", "classes"), "latent_dim": ("model", "latent_dim"),
              "preset": ("model", "preset")}


def _plain(value):
    return json.loads(json.dumps(value, default=str))


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
        """run.json's text: each fact once (a field its config records is left to the config)."""
        d = asdict(self)
        for name, (part, key) in _IN_CONFIG.items():
            if _plain((self.config.get(part) or {}).get(key)) == _plain(d[name]):
                del d[name]
        return json.dumps(d, indent=2, sort_keys=True)

    def data_config(self) -> DataConfig:
        """The data the run trained on (for a run.json without configs: its images' geometry)."""
        if self.config.get("data"):
            return DataConfig.from_dict(self.config["data"])
        return DataConfig(image_size=self.image_size, channels=self.channels,
                          classes=self.class_names)

    def model_config(self) -> GANConfig:
        """The run's model, at its data's image size, channels and class count."""
        return GANConfig.from_dict(self.config["model"]).for_data(self.data_config())


def model_record(model: GANConfig) -> dict:
    """The model's settings as run.json keeps them: without those that follow from the data."""
    return {k: v for k, v in model.to_dict().items() if k not in FROM_DATA}


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
        config = d.get("config") if isinstance(d.get("config"), dict) else {}
        for name, (part, key) in _IN_CONFIG.items():
            if name not in d and isinstance(config.get(part), dict) and key in config[part]:
                d[name] = config[part][key]
        return RunInfo(**d)
    except (TypeError, ConfigError) as exc:    # a missing field, or one of the wrong type
        raise ClothganError(f"{path}: broken {RUN_FILE} ({exc}); the run directory is damaged: "
                            "train it again into another --out") from None


def run_configs(run_dir: str | os.PathLike) -> tuple[DataConfig, GANConfig, TrainConfig]:
    """The (data, model, training) configs a run was started with, to continue it."""
    path = Path(run_dir) / RUN_FILE
    info = read_run_info(run_dir)
    try:
        return (info.data_config(), info.model_config(),
                TrainConfig.from_dict(info.config["training"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ClothganError(f"{path}: its configuration is damaged ({exc}); the run cannot be "
                            "resumed, start a new one with another --out") from None


def resume_conflicts(run_dir: str | os.PathLike, given: dict, name=lambda part, field: field
                     ) -> list[str]:
    """The settings given to continue a run that differ from its own, as "NAME: run VALUE, given
    VALUE". given: {(part, field): value}, part "data", "model" or "training" (a config field)
    or None (an option recorded beside the configs, such as max_images); name(part, field) is
    how the caller spells the setting. Equal values are fine: the same command again."""
    own = dict(zip(("data", "model", "training"), (c.to_dict() for c in run_configs(run_dir))))
    own[None] = read_run_info(run_dir).config
    aliases = {"preset": PRESET_ALIASES, "schedule": SCHEDULE_ALIASES}   # old names, same thing
    out = []
    for (part, key), value in given.items():
        have = own[part].get(key)
        if isinstance(have, list):
            have = tuple(have)
        if key in aliases:
            have, value = aliases[key].get(have, have), aliases[key].get(value, value)
        if have != value:
            out.append(f"{name(part, key)}: run {have!r}, given {value!r}")
    return out


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
