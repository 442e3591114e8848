"""Shared fixtures: real-data access (fails under CI when missing), isolated cache, tiny image folders."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothgan.config import CLASSES, ENV_DATA_DIR, ENV_HOME

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def _real_dir() -> Path | None:
    env = os.environ.get(ENV_DATA_DIR)
    candidates = [Path(env)] if env else [_DEFAULT_SHARED / "clothing-dataset-full"]
    for c in candidates:
        if (c / "images.csv").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real clothing dataset; under CI=true its absence is a failure, never a skip."""
    d = _real_dir()
    if d is None:
        msg = f"real clothing dataset not found: set {ENV_DATA_DIR} to a copy of clothing-dataset-full"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return d


@pytest.fixture(scope="session")
def small_split_csv() -> Path:
    """The public small subset's split file (image,split,label), as CI lays it beside the project."""
    env = os.environ.get("CLOTHGAN_SMALL_SPLIT_CSV")
    p = Path(env) if env else _DEFAULT_SHARED / "clothing-dataset-small-split.csv"
    if not p.is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{p} missing")
        pytest.skip(f"{p} missing")
    return p


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test caches under its own CLOTHGAN_HOME unless it opts into the session cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv(ENV_HOME, str(home))
    return home


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory) -> Path:
    """A cache shared by the slow real-data tests so the full dataset is prepared once."""
    return tmp_path_factory.mktemp("shared_home")


def run_python_result(script: str, timeout: int = 300) -> dict:
    """Run `script` in a fresh interpreter (e.g. to configure logical devices before TensorFlow
    starts) and return the JSON it prints after "RESULT"."""
    import json
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
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


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """A <label>/<file> folder with 6 small images for each of the ten classes."""
    return make_tiny_folder(tmp_path / "tiny")
