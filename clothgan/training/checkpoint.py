"""Atomic training checkpoints: both networks, both optimizers, RNG state, epoch and history.

One `.npz` file, written to a temporary name, flushed to disk and renamed over the previous
checkpoint: a reader (or a resumed run) sees either the old complete file or the new one.
"""
from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..core.files import atomic_write
from ..errors import ClothganError

CHECKPOINT_FILE = "checkpoint.npz"
FORMAT_VERSION = 1


def _groups(gan) -> dict[str, list]:
    """Every stateful variable of a ConditionalGAN, by group, in a stable order."""
    groups = {
        "generator": list(gan.generator.variables),
        "discriminator": list(gan.discriminator.variables),   # includes Dropout's RNG state
        "d_optimizer": list(gan.d_optimizer.variables),
        "g_optimizer": list(gan.g_optimizer.variables),
        "rng": [gan.noise_seed.state],
    }
    if getattr(gan, "ema_weights", None):                     # the generator's moving average
        groups["ema"] = [*gan.ema_weights, gan.ema_steps]
    if getattr(gan, "lecam_ema", None) is not None:           # LeCam's moving averages of D
        groups["lecam"] = [gan.lecam_ema]
    return groups


def _value(v) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def save_checkpoint(path: str | os.PathLike, gan, epoch: int, history: list[dict],
                    extra: dict | None = None) -> Path:
    """Write the full training state after `epoch` completed epochs."""
    arrays = {}
    for group, variables in _groups(gan).items():
        for i, v in enumerate(variables):
            arrays[f"{group}/{i:04d}"] = _value(v)
    meta = {"format": FORMAT_VERSION, "epoch": int(epoch), "history": history,
            "counts": {g: len(vs) for g, vs in _groups(gan).items()}, **(extra or {})}
    arrays["meta"] = np.array(json.dumps(meta))

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(Path(path), write)


#: What numpy raises for a truncated, empty or overwritten .npz.
_DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def _unreadable(path, exc) -> ClothganError:
    return ClothganError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc}); start a "
                         "new run with another --out, or delete the file to train from scratch")


def read_checkpoint_meta(path: str | os.PathLike) -> dict:
    """The checkpoint's metadata (epoch, history, ...) without touching any model."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["meta"]))
    except _DAMAGED as exc:
        raise _unreadable(path, exc) from None


def _restore(z, meta: dict, path, group: str, variables: list) -> None:
    stored = meta["counts"].get(group)
    if stored != len(variables):
        raise ClothganError(f"{path}: {group} has {stored} variables in the checkpoint but "
                            f"{len(variables)} in the model; it was written by a different "
                            "architecture or optimizer")
    for i, v in enumerate(variables):
        value = z[f"{group}/{i:04d}"]
        if tuple(value.shape) != tuple(v.shape):
            raise ClothganError(f"{path}: {group} variable {v.path} has shape {value.shape} "
                                f"in the checkpoint but {tuple(v.shape)} in the model")
        v.assign(value)


def load_checkpoint(path: str | os.PathLike, gan) -> dict:
    """Restore every variable of `gan` (optimizers must be built) and return the metadata."""
    meta = read_checkpoint_meta(path)
    groups = _groups(gan)
    try:
        with np.load(path, allow_pickle=False) as z:
            for group, variables in groups.items():
                _restore(z, meta, path, group, variables)
    except _DAMAGED as exc:
        raise _unreadable(path, exc) from None
    return meta


def load_network(path: str | os.PathLike, group: str, model) -> dict:
    """Restore one network of a checkpoint ("generator" or "discriminator") into `model`, built
    from the run's config, without the optimizers; returns the metadata."""
    meta = read_checkpoint_meta(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            _restore(z, meta, path, group, list(model.variables))
    except _DAMAGED as exc:
        raise _unreadable(path, exc) from None
    return meta
