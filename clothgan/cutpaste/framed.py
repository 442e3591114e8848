"""Classification images framed like the dataset's photos: a garment cut from one photo, pasted
where another photo of its class had its garment, over that photo's own background.

Each photo gives a frame: its background with the garment removed (the GrabCut mask, dilated,
filled by `cv2.inpaint`), its shape, and its garment's bounding box. A garment of the same class
is fitted to the box (with scale, in-plane rotation, tilt, flip and brightness jitter), and the
canvas is reduced exactly as `prepare` reduces a photo (aspect kept, centred on white). So the
images have the photos' framing, margins and backgrounds, and only the garment is new.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ..config import CLASSES, Config, check_bool, check_float, check_int, set_fields
from ..data.foreground import Cutout, ExtractConfig, extract
from ..data.images import fit
from ..data.inventory import Record
from ..errors import ConfigError, DataError
from .compose import GarmentBank, _blend, _feather_pad
from .config import ComposeConfig
from .transforms import TransformParams, transform_garment


@dataclass(frozen=True)
class FrameConfig(Config):
    """How a garment is fitted to a frame's box: each value drawn uniformly from its range."""

    side: int = 128                            # frames are kept at this longer side
    dilate: float = 0.04                       # mask grown by this share of the side before inpainting
    scale: tuple[float, float] = (0.85, 1.05)  # garment's size / the box's (fitted inside it)
    shift: float = 0.03                        # box centre moved by N(0, shift) of the frame
    rotation: float = 8.0                      # degrees either way
    tilt: float = 12.0                         # degrees either way, about each image axis
    flip: float = 0.5                          # probability of mirroring garment, and frame
    brightness: float = 0.1                    # share of full scale either way
    contrast: tuple[float, float] = (0.85, 1.15)
    any_class: bool = False                    # frames of every class, not only the garment's

    def __post_init__(self) -> None:
        set_fields(self, side=check_int("side", self.side, 16), dilate=check_float("dilate", self.dilate),
                   scale=tuple(check_float("scale", v, 0) for v in self.scale),
                   shift=check_float("shift", self.shift, 0),
                   rotation=check_float("rotation", self.rotation, 0, 180),
                   tilt=check_float("tilt", self.tilt, 0, 75), flip=check_float("flip", self.flip, 0, 1),
                   brightness=check_float("brightness", self.brightness, 0, 1),
                   contrast=tuple(check_float("contrast", v, 0, 4) for v in self.contrast),
                   any_class=check_bool("any_class", self.any_class))
        if len(self.scale) != 2 or len(self.contrast) != 2 or self.contrast[0] > self.contrast[1]:
            raise ConfigError(f"scale and contrast must be (low, high) pairs, got {self.scale}, "
                              f"{self.contrast}")
        if self.side < 16 or not 0 <= self.dilate < 0.5 or not 0 < self.scale[0] <= self.scale[1]:
            raise ConfigError("need side >= 16, dilate in [0, 0.5) and 0 < scale low <= high")


@dataclass
class Frame:
    """One photo as a canvas for another garment of its class."""

    label: int
    background: np.ndarray                   # uint8 RGB, longer side FrameConfig.side
    box: tuple[float, float, float, float]   # garment's x0, y0, x1, y1 as shares of width, height
    source: str


def frame_of(cut: Cutout, label: int, cfg: FrameConfig = FrameConfig()) -> Frame | None:
    """The photo's frame, or None when its mask failed the quality checks or is empty."""
    if not cut.quality.ok:
        return None
    h, w = cut.alpha.shape
    ys, xs = np.nonzero(cut.alpha >= 128)
    if len(xs) == 0:
        return None
    s = cfg.side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(cut.rgb, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(cut.alpha, size, interpolation=cv2.INTER_LINEAR) >= 64
    k = max(3, int(round(cfg.dilate * cfg.side)) | 1)
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8))
    background = cv2.inpaint(small, mask, 5, cv2.INPAINT_TELEA)
    box = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)
    return Frame(label, background, box, cut.path)


def _frame_item(args) -> Frame | None:
    path, label, extract_cfg, cfg = args
    try:
        return frame_of(extract(path, extract_cfg), label, cfg)
    except Exception:          # an unreadable photo gives no frame; the others still do
        return None


def build_frames(records: list[Record], extract_cfg: ExtractConfig = ExtractConfig(),
                 cfg: FrameConfig = FrameConfig(), classes: tuple[str, ...] = CLASSES,
                 workers: int | None = None, progress: bool = True) -> list[Frame]:
    """The frames of these photos (their masks come from the cache `build_bank` fills)."""
    from ..core.parallel import parallel_map

    index = {c: i for i, c in enumerate(classes)}
    items = [(r.path, index[r.label], extract_cfg, cfg) for r in records]
    frames = [f for f in parallel_map(_frame_item, items, workers, desc="framing photos",
                                      progress=progress) if f is not None]
    if not frames:
        raise DataError(f"none of the {len(records)} photos gave a usable garment mask")
    return frames


def compose_framed(rng: np.random.Generator, bank: GarmentBank, frames: list[Frame], label: int,
                   size: int = 28, channels: int = 1, cfg: FrameConfig = FrameConfig()) -> np.ndarray:
    """One image of class `label` (uint8, size x size x channels): a garment of that class from
    the bank in a frame of that class (of any class with cfg.any_class, or if it has none)."""
    pool = frames if cfg.any_class else ([f for f in frames if f.label == label] or frames)
    garments = bank.of_class(label)
    if garments.size == 0:
        raise DataError(f"no garment of class {bank.classes[label]!r} to paste")
    u = rng.random(10)
    frame = pool[int(u[0] * len(pool)) % len(pool)]
    g = int(garments[int(u[1] * garments.size) % garments.size])
    canvas = frame.background.copy()
    x0, y0, x1, y1 = frame.box
    if u[2] < cfg.flip:
        canvas = np.ascontiguousarray(canvas[:, ::-1])
        x0, x1 = 1 - x1, 1 - x0
    H, W = canvas.shape[:2]
    rgba = bank.rgba[g]
    gh, gw = rgba.shape[:2]
    fit_scale = min((x1 - x0) * W / gw, (y1 - y0) * H / gh)
    lo, hi = cfg.scale
    p = TransformParams(scale=float(max(gw, gh) * fit_scale * (lo + (hi - lo) * u[3])),
                        rotation=float((2 * u[4] - 1) * cfg.rotation), flip=bool(u[5] < 0.5),
                        tilt_x=float((2 * u[6] - 1) * cfg.tilt), tilt_y=float((2 * u[7] - 1) * cfg.tilt),
                        brightness=float((2 * u[8] - 1) * cfg.brightness),
                        contrast=float(cfg.contrast[0] + (cfg.contrast[1] - cfg.contrast[0]) * u[9]))
    blend = ComposeConfig(size=max(H, W), blend="gaussian", feather=1.0)
    # reference 1.0: TransformParams.scale is then the garment's longer side in pixels
    patch, _, _ = transform_garment(rgba, p, 1.0, 1.5, float(bank.means[g]), _feather_pad(blend))
    shift = rng.normal(0.0, cfg.shift, 2)
    cx, cy = ((x0 + x1) / 2 + shift[0]) * W, ((y0 + y1) / 2 + shift[1]) * H
    _blend(canvas, patch, int(round(cx - patch.shape[1] / 2)), int(round(cy - patch.shape[0] / 2)),
           blend, blend.feather)
    img = Image.fromarray(canvas)
    out = fit(img.convert("L") if channels == 1 else img, size, "pad")
    return out[:, :, None] if out.ndim == 2 else out


def framed_images(bank: GarmentBank, frames: list[Frame], counts, seed: int, size: int = 28,
                  channels: int = 1, cfg: FrameConfig = FrameConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images, labels): counts[c] framed images of class c; image i of class c depends
    only on (seed, c, i)."""
    xs, ys = [], []
    for c, n in enumerate(counts):
        for i in range(int(n)):
            xs.append(compose_framed(np.random.default_rng([seed, c, i, 0xF4A3]), bank, frames, c,
                                     size, channels, cfg))
            ys.append(c)
    if not xs:
        return np.zeros((0, size, size, channels), np.uint8), np.zeros(0, np.int64)
    return np.stack(xs), np.array(ys, np.int64)
