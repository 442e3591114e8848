"""clothgan: synthetic labelled clothing images (cut-and-paste and a conditional GAN).

Importing the package is cheap: TensorFlow loads only when a model-related name is used.
"""
from __future__ import annotations

import importlib

from .config import CLASSES, DataConfig, fast_mode

__version__ = "0.1.0"

# name -> "module:attribute", resolved on first access so `import clothgan` never imports TensorFlow.
_LAZY = {
    "train": "clothgan.training:train",
    "generate": "clothgan.generation:generate",
}


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'clothgan' has no attribute {name!r}")
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["CLASSES", "DataConfig", "fast_mode", "__version__", *_LAZY]
