"""Where a dataset is on this machine: a path as given, or a registry name found or fetched."""
from __future__ import annotations

from pathlib import Path

from ..config import ENV_DATA_DIR
from ..core.cache import cache_dir
from ..errors import DataError
from .download import fetch_dataset
from .registry import COMPLETE_MARKER, REGISTRY, data_dir_override, has_layout


def _describe_override(override: Path) -> str:
    if (override / "images.csv").is_file():
        return "a copy of clothing-full (images.csv + images/)"
    return "no dataset layout clothgan knows"


def resolve_dataset(name_or_path: str, download: bool = True) -> Path:
    """Local folder (or CSV) holding a dataset: a path as given, or a registry name.

    A registry name uses CLOTHGAN_DATA_DIR when it holds that dataset's layout, else the cache
    (a folder with a `.complete` marker), else downloads into the cache.
    """
    if name_or_path not in REGISTRY:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise DataError(f"{path}: no such file or folder; pass a registry name "
                            f"({', '.join(REGISTRY)}), an image folder or a CSV")
        return path
    source = REGISTRY[name_or_path]
    override = data_dir_override()
    note = ""
    if override is not None:
        if not override.is_dir():
            raise DataError(f"{ENV_DATA_DIR}={override}: folder does not exist; point it at a "
                            f"copy of the dataset (unpacked from {source.url}), or unset "
                            f"{ENV_DATA_DIR} to download it")
        if has_layout(override, source):
            return override
        # CLOTHGAN_DATA_DIR holds another dataset (usually clothing-full while clothing-small is
        # asked for): fall back to the cache, and say so if that fails.
        note = f" ({ENV_DATA_DIR}={override} holds {_describe_override(override)}, not {source.name})"
    target = cache_dir("datasets") / source.name
    if (target / COMPLETE_MARKER).is_file():
        return target
    if not download:
        raise DataError(f"dataset {source.name!r} is not in the cache ({target}){note}; "
                        f"download it or set {ENV_DATA_DIR} to an existing copy")
    try:
        return fetch_dataset(source, target)
    except DataError as exc:
        if note:
            raise DataError(f"{exc}{note}") from exc
        raise
