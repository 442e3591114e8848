"""Shared fixtures: real-data access (fails under CI when missing), isolated cache, tiny image folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import make_tiny_folder

from clothgan.config import ENV_DATA_DIR, ENV_HOME

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


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """A <label>/<file> folder with 6 small images for each of the ten classes."""
    return make_tiny_folder(tmp_path / "tiny")
