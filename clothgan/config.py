"""Typed configuration shared by every part of clothgan, plus the project's environment variables."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

#: The article's ten classes, in label-index order.
CLASSES: tuple[str, ...] = (
    "dress", "hat", "longsleeve", "outwear", "pants",
    "shirt", "shoes", "shorts", "skirt", "t-shirt",
)

#: Environment variables the project reads (documented in README.md).
ENV_HOME = "CLOTHGAN_HOME"          # cache root: datasets, prepared arrays, masks, classifiers
ENV_DATA_DIR = "CLOTHGAN_DATA_DIR"  # an existing copy of the dataset: skips the download
ENV_FAST = "CLOTHGAN_FAST"          # "1": notebooks and examples run tiny workloads (CI)


def fast_mode() -> bool:
    """True when CLOTHGAN_FAST asks for tiny workloads (set by CI for the notebooks)."""
    return os.environ.get(ENV_FAST, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class DataConfig:
    """Which images to load and how to turn them into training arrays."""

    dataset: str = "clothing-full"      # registry name, or a path to a folder / CSV
    image_size: int = 28
    channels: int = 1                   # 1 = grayscale, 3 = RGB
    classes: tuple[str, ...] = CLASSES
    include_kids: bool = True
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    resize: str = "pad"                 # "pad" keeps aspect ratio; "squash" is the article's resize
    foreground: bool = False            # cut the garment out onto a plain background first

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.resize not in ("pad", "squash"):
            raise ValueError(f"resize must be 'pad' or 'squash', got {self.resize!r}")
        if not 0 <= self.val_fraction + self.test_fraction < 1:
            raise ValueError("val_fraction + test_fraction must be in [0, 1)")
        object.__setattr__(self, "classes", tuple(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DataConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: (tuple(v) if k == "classes" else v) for k, v in d.items() if k in known})

    def replace(self, **changes) -> "DataConfig":
        return replace(self, **changes)
