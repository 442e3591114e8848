"""The datasets clothgan knows by name: where to get each and how it is laid out."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..config import ENV_DATA_DIR

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


def data_dir_override() -> Path | None:
    """The folder named by CLOTHGAN_DATA_DIR, if set."""
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser() if env else None


def has_layout(root: Path, source: DatasetSource) -> bool:
    """Whether folder `root` is laid out like `source` (a quick look, not a full verification)."""
    if source.layout == "csv":
        return (root / (source.csv_name or "images.csv")).is_file()
    return any((root / s).is_dir() for s in source.splits)
