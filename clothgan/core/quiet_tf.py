"""TensorFlow without its start-up noise.

Importing TensorFlow prints lines that read as failures to a learner (oneDNN notices, "Could
not find cuda drivers", "All log messages before absl::InitializeLog()"), and on a machine
without a GPU the first device query logs a CUDA `cuInit` error. Setting TF_CPP_MIN_LOG_LEVEL
silences the later messages but not the ones written while the libraries load, so the import
itself runs with the process's stderr (file descriptor 2) pointed at /dev/null. A Python
exception raised by the import still reaches the caller with stderr restored.

`quiet_on_import()` makes the first `import tensorflow` quiet wherever it happens (a library
function, `import keras`, a learner's own cell), so a notebook that starts without TensorFlow
stays quiet when a later cell needs it.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager


@contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class _QuietLoader:
    """TensorFlow's own loader, run with stderr silenced; puts the real loader back after."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        spec = module.__spec__
        try:
            with _stderr_to_devnull():
                self.loader.exec_module(module)
                module.config.list_physical_devices("GPU")   # CUDA's initialisation logs here, once
        finally:
            spec.loader = module.__loader__ = self.loader


class _QuietFinder:
    """Finds `tensorflow` as the other finders on sys.meta_path do, once, and hands it a quiet
    loader."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        _remove_finder()
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def _remove_finder() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietFinder)]


def quiet_on_import() -> None:
    """Make the process's first `import tensorflow` quiet, whoever imports it (no-op once it is
    imported); a user's own TF_CPP_MIN_LOG_LEVEL wins over the level it sets."""
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


def import_tensorflow():
    """The tensorflow module, imported (once) quietly; a user's own TF_CPP_MIN_LOG_LEVEL wins."""
    quiet_on_import()
    import tensorflow as tf

    return tf
