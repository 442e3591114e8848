"""Typed settings of the cut-and-paste method: transforms and composition (extraction:
clothgan.data.foreground.ExtractConfig)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import (Config, check_bool, check_choice, check_choice_int, check_float,
                      check_int, set_fields)
from ..data.foreground import ExtractConfig
from ..errors import ConfigError

__all__ = ["BLENDS", "MODES", "ComposeConfig", "ExtractConfig", "TransformConfig"]


def _check_range(name: str, r: tuple[float, float], lo: float | None = None,
                 hi: float | None = None) -> tuple[float, float]:
    if isinstance(r, (str, bytes)) or not isinstance(r, (list, tuple)) or len(r) != 2:
        raise ConfigError(f"{name} must be a (low, high) pair, got {r!r}")
    r = tuple(check_float(name, v, lo, hi) for v in r)
    if r[0] > r[1]:
        raise ConfigError(f"{name} must be a (low, high) pair with low <= high, got {r}")
    if (lo is not None and r[0] < lo) or (hi is not None and r[1] > hi):
        raise ConfigError(f"{name} must lie within [{lo}, {hi}], got {r}")
    return r


@dataclass(frozen=True)
class TransformConfig(Config):
    """Ranges of the random garment transform; each value is drawn uniformly from its range."""

    scale: tuple[float, float] = (0.3, 0.6)         # garment's longer side / scene's shorter side
    rotation: tuple[float, float] = (-20.0, 20.0)   # in-plane rotation, degrees
    flip: float = 0.5                               # probability of a horizontal flip
    tilt_x: tuple[float, float] = (-30.0, 30.0)     # rotation about the horizontal axis, degrees
    tilt_y: tuple[float, float] = (-30.0, 30.0)     # rotation about the vertical axis, degrees
    focal: float = 1.5                              # camera focal length / garment's longer side
    brightness: tuple[float, float] = (-0.12, 0.12) # added, as a share of full scale
    contrast: tuple[float, float] = (0.8, 1.2)      # multiplies the deviation from the mean

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _check_range("scale", self.scale, 0.01, 4.0))
        object.__setattr__(self, "rotation", _check_range("rotation", self.rotation, -180, 180))
        object.__setattr__(self, "tilt_x", _check_range("tilt_x", self.tilt_x, -75, 75))
        object.__setattr__(self, "tilt_y", _check_range("tilt_y", self.tilt_y, -75, 75))
        object.__setattr__(self, "brightness", _check_range("brightness", self.brightness, -1, 1))
        object.__setattr__(self, "contrast", _check_range("contrast", self.contrast, 0, 4))
        # Below focal 0.75 garment lengths, a tilted garment's far corner can swing behind the camera.
        set_fields(self, flip=check_float("flip", self.flip, 0, 1),
                   focal=check_float("focal", self.focal, 0.75))

    @classmethod
    def identity(cls, scale: float = 0.5) -> "TransformConfig":
        """No randomness: a fixed scale, everything else off (galleries vary one setting at a time)."""
        return cls(scale=(scale, scale), rotation=(0, 0), flip=0.0, tilt_x=(0, 0), tilt_y=(0, 0),
                   brightness=(0, 0), contrast=(1, 1))


BLENDS = ("hard", "gaussian", "poisson")
#: Most garments a scene may ask for: with the default transform, a 512 px scene has room for
#: 8 to 14 garments within the occlusion and truncation limits (more are drawn, then dropped).
MAX_OBJECTS = 10
MODES = ("scene", "classification")


@dataclass(frozen=True)
class ComposeConfig(Config):
    """One synthetic dataset: what goes into each image and how it is written."""

    mode: str = "scene"               # "scene": 1..K garments + COCO/YOLO/masks; "classification"
    size: int = 512                   # output side (square), pixels
    channels: int = 3                 # 1 = grayscale output (classification at the GAN's size)
    objects: tuple[int, int] = (1, 3) # garments per scene, inclusive range
    blend: str = "gaussian"           # "hard", "gaussian" (feathered alpha), "poisson" (seamless)
    feather: float = 2.0              # Gaussian sigma of the feathered alpha, pixels at output size
    max_occlusion: float = 0.3        # a garment may hide at most this share of an earlier one
    max_truncation: float = 0.25      # ... and lose at most this share of itself past the border
    placement_tries: int = 12         # draws per garment before it is dropped from the scene
    image_format: str = "jpg"         # scene images: "jpg" (quality 95) or "png"
    segmentation: str = "rle"         # COCO segmentation: "rle" (compressed) or "polygon"
    backgrounds: str | None = None    # folder of background images; None: procedural
    procedural_pool: int = 48         # distinct procedural backgrounds (recoloured per image)
    source_size: int = 320            # cut-outs are stored with this longer side (scene mode)
    transform: TransformConfig = field(default_factory=TransformConfig)

    def __post_init__(self) -> None:
        objects = self.objects
        if isinstance(objects, (str, bytes)) or not isinstance(objects, (list, tuple)) or len(objects) != 2:
            raise ConfigError(f"objects must be a (low, high) pair, got {objects!r}")
        objects = tuple(check_int("objects", v, 1, MAX_OBJECTS) for v in objects)
        if objects[0] > objects[1]:
            raise ConfigError(f"objects must be (low, high) with low <= high, got {objects}")
        if self.backgrounds is not None and not isinstance(self.backgrounds, str):
            raise ConfigError(f"backgrounds must be a folder, 'white' or None, got {self.backgrounds!r}")
        set_fields(self, mode=check_choice("mode", self.mode, MODES),
                   blend=check_choice("blend", self.blend, BLENDS),
                   size=check_int("size", self.size, 8, 4096),
                   channels=check_choice_int("channels", self.channels, (1, 3)), objects=objects,
                   feather=check_float("feather", self.feather, 0),
                   max_occlusion=check_float("max_occlusion", self.max_occlusion, 0, 1),
                   max_truncation=check_float("max_truncation", self.max_truncation, 0, 1,
                                              high_open=True),
                   placement_tries=check_int("placement_tries", self.placement_tries, 1),
                   image_format=check_choice("image_format", self.image_format, ("jpg", "png")),
                   segmentation=check_choice("segmentation", self.segmentation, ("rle", "polygon")),
                   procedural_pool=check_int("procedural_pool", self.procedural_pool, 1),
                   source_size=check_int("source_size", self.source_size, 16))
        if isinstance(self.transform, dict):
            object.__setattr__(self, "transform", TransformConfig.from_dict(self.transform))
        if not isinstance(self.transform, TransformConfig):
            raise ConfigError(f"transform must be a TransformConfig, got {self.transform!r}")

    @classmethod
    def for_classification(cls, size: int = 28, channels: int = 1, **changes) -> "ComposeConfig":
        """One garment per image at the GAN's size; it fills most of the frame, never truncated."""
        t = TransformConfig(scale=(0.75, 0.95), rotation=(-12, 12), tilt_x=(-20, 20),
                            tilt_y=(-20, 20))
        base = dict(mode="classification", size=size, channels=channels, objects=(1, 1),
                    max_truncation=0.0, transform=t, image_format="png")
        base.update(changes)
        return cls(**base)
