"""Garment foreground extraction with OpenCV GrabCut (no learned weights), cached per photo.

GrabCut runs on a small copy of the photo (speed), seeded with a border band of sure background
(and optionally a centred box of sure garment); the result is cleaned up (specks removed, the
largest part kept together with parts nearly as large, e.g. the second shoe of a pair, holes
filled), scaled back up, aligned to the photo's edges with a guided filter and feathered.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from ..config import Config, check_bool, check_float, check_int, set_fields
from ..core.cache import cache_dir
from ..core.files import atomic_write
from ..errors import ConfigError, DataError

#: Smaller photos have no border band and garment apart for GrabCut to learn from.
MIN_SIDE = 16
MASK_VERSION = 1   # bump when the algorithm changes: old cached masks are then ignored


@dataclass(frozen=True)
class ExtractConfig(Config):
    """GrabCut foreground extraction: a border/centre prior, then clean-up and a soft edge."""

    work_size: int = 128        # GrabCut runs on the photo shrunk so its longer side is this
    max_size: int = 512         # masks are kept at the photo's size, at most this (longer side)
    border: float = 0.04        # band along the edges taken as sure background (share of each side)
    center: float = 0.0         # centred box taken as sure garment (share of each side); 0: none
    iterations: int = 4         # GrabCut iterations on the small image
    keep_ratio: float = 0.35    # keep connected parts at least this share of the largest (shoe pairs)
    fill_holes: bool = True
    refine_radius: int = 4      # guided-filter radius (pixels at full size) aligning the edge; 0: off
    refine_eps: float = 1e-3    # guided-filter regulariser on [0, 1] intensities
    feather: float = 1.0        # soft-edge width (Gaussian sigma, pixels at full size)
    min_area: float = 0.03      # masks covering less of the photo than this are flagged as failures
    max_area: float = 0.92      # ... and more than this (nothing separated from the background)

    def __post_init__(self) -> None:
        set_fields(self, work_size=check_int("work_size", self.work_size, 32),
                   max_size=check_int("max_size", self.max_size, 32),
                   border=check_float("border", self.border), center=check_float("center", self.center),
                   iterations=check_int("iterations", self.iterations, 1),
                   keep_ratio=check_float("keep_ratio", self.keep_ratio),
                   fill_holes=check_bool("fill_holes", self.fill_holes),
                   refine_radius=check_int("refine_radius", self.refine_radius, 0),
                   refine_eps=check_float("refine_eps", self.refine_eps, 0, low_open=True),
                   feather=check_float("feather", self.feather, 0),
                   min_area=check_float("min_area", self.min_area),
                   max_area=check_float("max_area", self.max_area))
        if not 32 <= self.work_size <= self.max_size:
            raise ConfigError(f"work_size must be in [32, max_size], got {self.work_size}")
        if not 0 < self.border < 0.25:
            raise ConfigError(f"border must be in (0, 0.25), got {self.border}")
        if not 0 <= self.center < 1 - 2 * self.border:
            raise ConfigError(f"center must be in [0, 1 - 2*border), got {self.center}")
        if self.iterations < 1:
            raise ConfigError("iterations must be >= 1")
        if not 0 < self.keep_ratio <= 1:
            raise ConfigError(f"keep_ratio must be in (0, 1], got {self.keep_ratio}")
        if not 0 <= self.min_area < self.max_area <= 1:
            raise ConfigError("need 0 <= min_area < max_area <= 1")


#: Part of the preprocessing cache key for DataConfig(foreground=True): a changed extractor
#: (algorithm or default settings) never reuses arrays made with the old one.
FOREGROUND_VERSION = f"grabcut-{MASK_VERSION}-" + hashlib.sha256(
    ExtractConfig().digest().encode()).hexdigest()[:8]


def read_rgb(path: str | os.PathLike, max_size: int) -> np.ndarray:
    """A photo as uint8 RGB (EXIF-oriented), shrunk so its longer side is at most max_size."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max_size, max_size))   # JPEG: decode at a reduced scale directly
            img = ImageOps.exif_transpose(img).convert("RGB")
            if max(img.size) > max_size:
                img.thumbnail((max_size, max_size), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8).copy()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: cannot read this image ({exc}); remove it or re-save it as JPEG/PNG")


def _box_filter(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, cv2.CV_32F, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-aware smoothing of src (float32 HxW) steered by a grayscale guide in [0, 1] (He et al.)."""
    mean_i = _box_filter(guide, radius)
    mean_p = _box_filter(src, radius)
    var_i = _box_filter(guide * guide, radius) - mean_i * mean_i
    cov_ip = _box_filter(guide * src, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box_filter(a, radius) * guide + _box_filter(b, radius)


def clean_mask(fg: np.ndarray, keep_ratio: float, fill_holes: bool) -> np.ndarray:
    """Binary mask (bool) without specks, keeping the largest part (and parts >= keep_ratio of it)."""
    m = fg.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros(fg.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= keep_ratio * areas.max()) + 1
    out = np.isin(labels, keep)
    if fill_holes:
        # Background not reachable from outside the image is a hole.
        padded = np.pad(~out, 1, constant_values=True).astype(np.uint8)
        flood = padded.copy()
        cv2.floodFill(flood, None, (0, 0), 2)
        out |= (flood[1:-1, 1:-1] == 1)
    return out


def grabcut_alpha(rgb: np.ndarray, cfg: ExtractConfig = ExtractConfig()) -> np.ndarray:
    """Soft garment mask (uint8 0..255, same height and width) of an RGB photo."""
    h, w = rgb.shape[:2]
    s = min(1.0, cfg.work_size / max(h, w))
    sw, sh = max(8, round(w * s)), max(8, round(h * s))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else rgb
    init = np.full((sh, sw), cv2.GC_PR_FGD, np.uint8)
    by, bx = max(1, round(cfg.border * sh)), max(1, round(cfg.border * sw))
    init[:by], init[-by:], init[:, :bx], init[:, -bx:] = (cv2.GC_BGD,) * 4
    if cfg.center > 0:
        cy, cx = round(sh * (1 - cfg.center) / 2), round(sw * (1 - cfg.center) / 2)
        init[cy:sh - cy, cx:sw - cx] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)   # GrabCut seeds its colour models with k-means: same photo, same mask
    cv2.grabCut(np.ascontiguousarray(small[:, :, ::-1]), init, None, bgd, fgd,
                cfg.iterations, cv2.GC_INIT_WITH_MASK)
    fg = clean_mask((init == cv2.GC_FGD) | (init == cv2.GC_PR_FGD), cfg.keep_ratio, cfg.fill_holes)
    if not fg.any():
        return np.zeros((h, w), np.uint8)
    alpha = cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    if cfg.refine_radius > 0 and s < 1:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        alpha = guided_filter(gray, alpha, cfg.refine_radius, cfg.refine_eps)
        # Re-binarise: the filter moved the edge onto the photo's edges; the feather below
        # decides the soft-edge width, not the filter's halo.
        alpha = (alpha >= 0.5).astype(np.float32)
    if cfg.feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), cfg.feather)
    return np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class MaskQuality:
    """Cheap signs of a failed extraction (no ground truth needed)."""

    area: float            # share of the photo covered by the mask
    border_contact: float  # share of the photo's outermost pixels inside the mask
    ok: bool
    reason: str            # "" when ok

    @classmethod
    def of(cls, alpha: np.ndarray, cfg: ExtractConfig) -> "MaskQuality":
        m = alpha >= 128
        area = float(m.mean())
        edge = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
        contact = float(edge.mean())
        if area < cfg.min_area:
            return cls(area, contact, False, f"mask covers only {area:.1%} of the photo")
        if area > cfg.max_area:
            return cls(area, contact, False, f"mask covers {area:.1%} of the photo: no background found")
        return cls(area, contact, True, "")


def mask_key(path: str | os.PathLike, cfg: ExtractConfig) -> str:
    """Cache key: the file's bytes and every extraction setting."""
    h = hashlib.sha256(f"v{MASK_VERSION}|{cfg.digest()}|".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:32]


def _mask_path(key: str) -> Path:
    return cache_dir("masks", key[:2]) / f"{key}.png"


@dataclass
class Cutout:
    """A photo (at most cfg.max_size) with its garment mask and a quality verdict."""

    path: str
    rgb: np.ndarray        # uint8 HxWx3
    alpha: np.ndarray      # uint8 HxW, 0..255
    quality: MaskQuality


def extract(path: str | os.PathLike, cfg: ExtractConfig = ExtractConfig(),
            use_cache: bool = True) -> Cutout:
    """Photo and garment mask; the mask comes from the disk cache when this file was seen before."""
    rgb = read_rgb(path, cfg.max_size)
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise DataError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} pixels, too small to find a "
                        f"garment in (at least {MIN_SIDE} a side)")
    alpha = None
    target = None
    if use_cache:
        target = _mask_path(mask_key(path, cfg))
        if target.is_file():
            alpha = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
            if alpha is None or alpha.shape != rgb.shape[:2]:
                alpha = None   # unreadable or stale entry: recompute and overwrite
    if alpha is None:
        alpha = grabcut_alpha(rgb, cfg)
        if target is not None:
            atomic_write(target, lambda tmp: cv2.imwrite(str(tmp), alpha,
                                                         [cv2.IMWRITE_PNG_COMPRESSION, 3]))
    return Cutout(str(path), rgb, alpha, MaskQuality.of(alpha, cfg))


def on_plain_background(cutout: Cutout, color: int = 255) -> np.ndarray:
    """The garment over a plain background (uint8 RGB), blended with the soft mask."""
    a = cutout.alpha.astype(np.float32)[:, :, None] / 255.0
    out = cutout.rgb.astype(np.float32) * a + float(color) * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class ForegroundFailed(ValueError):
    """The extractor found no usable garment mask in a photo."""


def garment_on_white(path: str | os.PathLike, cfg: ExtractConfig = ExtractConfig()) -> np.ndarray:
    """The photo's garment on white (uint8 RGB, photo size up to cfg.max_size).

    Raises ForegroundFailed (with the reason) when the mask looks wrong, rather than passing
    the photo's background on as if it were a garment.
    """
    cut = extract(path, cfg)
    if not cut.quality.ok:
        raise ForegroundFailed(f"{path}: {cut.quality.reason}")
    return on_plain_background(cut, 255)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks (bool, or uint8 alphas thresholded at half)."""
    a = a >= 128 if a.dtype == np.uint8 else a.astype(bool)
    b = b >= 128 if b.dtype == np.uint8 else b.astype(bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def foreground_on_white(img: Image.Image, path: str) -> Image.Image:
    """`img` (PIL RGB, already decoded small) as its garment on white, at the same size.

    The mask is made from the photo at `path` at extraction resolution (cached per file), since
    GrabCut on a 56-pixel draft would be unreliable; raises ForegroundFailed when extraction fails.
    """
    out = Image.fromarray(garment_on_white(path))
    return out if out.size == img.size else out.resize(img.size, Image.Resampling.BILINEAR)
