"""Dataset registry and the one place where downloaded and cached files live."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import ENV_DATA_DIR, ENV_HOME

#: File written last into a dataset folder in the cache: present = downloaded, extracted, verified.
COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class DatasetSource:
    """A named public dataset: where to get it and how it is laid out once extracted."""

    name: str
    url: str
    layout: str                  # "csv": images/<id>.jpg + a CSV; "folders": <split>/<label>/<file>
    archive_root: str            # top folder inside the archive
    sha256: str | None = None    # archive digest where the archive is immutable
    csv_name: str | None = None
    csv_columns: tuple[str, ...] = ()   # columns the CSV must have ("csv" layout)
    splits: tuple[str, ...] = ()        # split folders the archive must have ("folders" layout)
    min_images: int = 1
    license: str = "CC0-1.0"


# GitHub builds branch archives on demand, so their bytes (and digest) are not stable: these
# entries carry no sha256 and are verified by layout, CSV columns and image count instead.
REGISTRY: dict[str, DatasetSource] = {
    "clothing-full": DatasetSource(
        name="clothing-full",
        url="https://github.com/alexeygrigorev/clothing-dataset/archive/refs/heads/master.zip",
        layout="csv",
        archive_root="clothing-dataset-master",
        csv_name="images.csv",
        csv_columns=("image", "sender_id", "label", "kids"),
        min_images=5000,     # the public archive holds about 5,400 photos
    ),
    "clothing-small": DatasetSource(
        name="clothing-small",
        url="https://github.com/alexeygrigorev/clothing-dataset-small/archive/refs/heads/master.zip",
        layout="folders",
        archive_root="clothing-dataset-small-master",
        splits=("train", "validation", "test"),
        min_images=3000,     # about 3,800 photos of the top-10 classes
    ),
}


def cache_dir(*parts: str) -> Path:
    """Root of everything clothgan caches (created), or a sub-folder of it.

    `CLOTHGAN_HOME` wins; on Colab it is /content/clothgan (survives the session's runtime, not
    its end); elsewhere `$XDG_CACHE_HOME/clothgan` or ~/.cache/clothgan.
    """
    env = os.environ.get(ENV_HOME)
    if env:
        root = Path(env).expanduser()
    elif Path("/content").is_dir() and "COLAB_RELEASE_TAG" in os.environ:
        root = Path("/content/clothgan")
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "clothgan"
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir_override() -> Path | None:
    """The folder named by CLOTHGAN_DATA_DIR, if set."""
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser() if env else None


def has_layout(root: Path, source: DatasetSource) -> bool:
    """Whether folder `root` is laid out like `source` (a quick look, not a full verification)."""
    if source.layout == "csv":
        return (root / (source.csv_name or "images.csv")).is_file()
    return any((root / s).is_dir() for s in source.splits)


def _describe_override(override: Path) -> str:
    if (override / "images.csv").is_file():
        return "a copy of clothing-full (images.csv + images/)"
    return "no dataset layout clothgan knows"


def resolve_dataset(name_or_path: str, download: bool = True) -> Path:
    """Local folder (or CSV) holding a dataset: a path as given, or a registry name.

    A registry name uses CLOTHGAN_DATA_DIR when it holds that dataset's layout, else the cache
    (a folder with a `.complete` marker), else downloads into the cache.
    """
    from .errors import DataError

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
            raise DataError(f"{ENV_DATA_DIR}={override}: folder does not exist; "
                            f"unset {ENV_DATA_DIR} to download, or point it at a copy of the dataset")
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
    from .download import fetch_dataset
    try:
        return fetch_dataset(source, target)
    except DataError as exc:
        if note:
            raise DataError(f"{exc}{note}") from exc
        raise
