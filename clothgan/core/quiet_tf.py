"""TensorFlow without its start-up noise.

Importing TensorFlow prints lines that read as failures to a learner (oneDNN notices, "Could
not find cuda drivers", "All log messages before absl::InitializeLog()"), and on a machine
without a GPU the first device query logs a CUDA `cuInit` error. Setting TF_CPP_MIN_LOG_LEVEL
silences the later messages but not the ones written while the libraries load, so the import
itself runs with the process's stderr (file descriptor 2) pointed at /dev/null. A Python
exception raised by the import still reaches the caller with stderr restored.
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


def import_tensorflow():
    """The tensorflow module, imported (once) quietly; a user's own TF_CPP_MIN_LOG_LEVEL wins."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")   # CUDA's initialisation logs here, once
    return tf
