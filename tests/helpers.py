"""Helpers the tests import (`from helpers import ...`): a module of its own, because two
conftest.py files (tests/ and notebooks/) share the module name `conftest` in one session."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from clothgan.config import CLASSES


def run_python_result(script: str, timeout: int = 300) -> dict:
    """Run `script` in a fresh interpreter (e.g. to configure logical devices before TensorFlow
    starts) and return the JSON it prints after "RESULT"."""
    import json
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          env=env, timeout=timeout)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert proc.returncode == 0 and line, proc.stderr[-3000:]
    return json.loads(line[0][len("RESULT"):])


def write_image(path: Path, size=(40, 60), color=(200, 30, 30), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    arr = np.full((size[1], size[0], 3), color, np.uint8)
    arr[size[1] // 4: 3 * size[1] // 4, size[0] // 4: 3 * size[0] // 4] = rng.integers(0, 255, 3)
    Image.fromarray(arr).convert(mode).save(path)
    return path


def checkpoint_arrays(path) -> dict[str, np.ndarray]:
    """Every array of a checkpoint.npz (networks, optimizers, EMA, RNG state) except its meta."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k != "meta"}


def make_tiny_folder(root: Path, per_class: int = 6) -> Path:
    """A <label>/<file> folder with `per_class` small images for each of the ten classes."""
    for ci, c in enumerate(CLASSES):
        for i in range(per_class):
            write_image(root / c / f"{c}_{i}.png", color=(20 * ci, 255 - 20 * ci, 100 + i * 10))
    return root


def random_batch(n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A (images in [-1, 1] of shape (n, 28, 28, 1), labels of the ten classes) training batch."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (n, 28, 28, 1)).astype("float32"),
            rng.integers(0, 10, n).astype("int32"))


def build_test_bank(root: Path, home: Path, per_class: int = 2, longer_side: int = 160):
    """(bank, report) extracted from a synthetic garment folder, cached under `home` (module
    fixtures)."""
    import pytest

    from clothgan.config import DataConfig
    from clothgan.cutpaste.compose import build_bank, select_sources
    from clothgan.cutpaste.synthetic import garment_folder
    from clothgan.data import scan

    folder = garment_folder(root, per_class)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLOTHGAN_HOME", str(home))
        records = select_sources(scan(DataConfig(dataset=str(folder))), None, split=None)
        return build_bank(records, longer_side=longer_side, workers=1, progress=False)


#: `clothgan train` options for a few quick float32 steps (no keeper, no bar, a fixed seed).
TINY_TRAIN = ["--batch-size", "16", "--precision", "float32", "--keep-best", "none",
              "--no-progress", "--seed", "7"]


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root, by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


LATENT = 8


def make_tiny_run(run_dir: Path, size: int = 28, channels: int = 1, dtype: str = "float32") -> Path:
    """A small random generator that follows the clothgan.runs contract (not trained)."""
    import keras
    from keras import layers

    from clothgan.runs import RunInfo, write_run_info

    keras.utils.set_random_seed(1)
    z = keras.Input((LATENT,), name="noise")
    y = keras.Input((), dtype="int32", name="label")
    e = layers.Flatten()(layers.Embedding(len(CLASSES), 4)(y[:, None]))
    h = layers.Dense((size // 4) ** 2 * 4, activation="relu", dtype=dtype)(layers.Concatenate()([z, e]))
    h = layers.Reshape((size // 4, size // 4, 4))(h)
    h = layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu", dtype=dtype)(h)
    h = layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu", dtype=dtype)(h)
    out = layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype=dtype)(h)
    model = keras.Model([z, y], out)
    write_run_info(run_dir, RunInfo(class_names=CLASSES, image_size=size, channels=channels,
                                    latent_dim=LATENT, preset="test"))
    model.save(run_dir / "generator.keras")
    return run_dir
