"""Random garment transforms: scale, in-plane rotation, flip, perspective tilt, brightness/contrast.

The geometric part is one homography per garment, so image and mask are warped together in a
single call (the mask is the cut-out's alpha channel) and never drift apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .config import TransformConfig


@dataclass(frozen=True)
class TransformParams:
    """One draw from TransformConfig's ranges."""

    scale: float = 0.5          # garment's longer side / reference length (scene's shorter side)
    rotation: float = 0.0       # degrees, counter-clockwise on screen
    flip: bool = False
    tilt_x: float = 0.0         # degrees about the horizontal axis (> 0: top edge towards the camera)
    tilt_y: float = 0.0         # degrees about the vertical axis (> 0: left edge away)
    brightness: float = 0.0     # share of full scale
    contrast: float = 1.0


def sample_transform(rng: np.random.Generator, cfg: TransformConfig) -> TransformParams:
    """Draw every setting uniformly from its range (a fixed number of draws: stable streams)."""
    u = rng.random(7)

    def pick(r, x):
        return float(r[0] + (r[1] - r[0]) * x)

    return TransformParams(scale=pick(cfg.scale, u[0]), rotation=pick(cfg.rotation, u[1]),
                           flip=bool(u[2] < cfg.flip), tilt_x=pick(cfg.tilt_x, u[3]),
                           tilt_y=pick(cfg.tilt_y, u[4]), brightness=pick(cfg.brightness, u[5]),
                           contrast=pick(cfg.contrast, u[6]))


def tilt_homography(tilt_x: float, tilt_y: float, focal: float) -> np.ndarray:
    """Plane through the origin rotated in 3-D (about x, then y) and seen by a pinhole camera.

    Coordinates are centred and in units of the garment's longer side; `focal` is the camera's
    focal length and also its distance to the plane, so an untilted garment keeps its size.
    """
    ax, ay = math.radians(tilt_x), math.radians(tilt_y)
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    r = ry @ rx
    # Image of (x, y, 0): u = f * (R p + t)_x / (R p + t)_z with t = (0, 0, f); divide through by f.
    return np.array([[r[0, 0], r[0, 1], 0.0],
                     [r[1, 0], r[1, 1], 0.0],
                     [r[2, 0] / focal, r[2, 1] / focal, 1.0]])


def garment_homography(width: int, height: int, p: TransformParams, reference: float,
                       focal: float = 1.5) -> np.ndarray:
    """3x3 map from cut-out pixels to output pixels relative to the garment's centre.

    Order: centre and normalise, flip, tilt (perspective), rotate in plane, scale to
    `p.scale * reference` pixels for the longer side.
    """
    longer = float(max(width, height))
    centre = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1]], float)
    unit = np.diag([1 / longer, 1 / longer, 1.0])
    flip = np.diag([-1.0 if p.flip else 1.0, 1.0, 1.0])
    a = math.radians(-p.rotation)   # image y points down: negate for counter-clockwise on screen
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    s = p.scale * reference
    return np.diag([s, s, 1.0]) @ rot @ tilt_homography(p.tilt_x, p.tilt_y, focal) @ flip @ unit @ centre


def warp_rgba(rgba: np.ndarray, h: np.ndarray, pad: int = 0) -> tuple[np.ndarray, int, int]:
    """Warp a cut-out (HxWx4) by h into its own tight box: (patch, left, top).

    `left`/`top` are the integer offset of the patch's top-left pixel relative to h's origin;
    `pad` transparent pixels are kept around the garment (room for a feathered edge).
    """
    hh, ww = rgba.shape[:2]
    corners = np.array([[0, 0, 1], [ww, 0, 1], [0, hh, 1], [ww, hh, 1]], float) @ h.T
    xy = corners[:, :2] / corners[:, 2:3]
    left = int(math.floor(xy[:, 0].min())) - pad
    top = int(math.floor(xy[:, 1].min())) - pad
    w = int(math.ceil(xy[:, 0].max())) + pad - left
    hgt = int(math.ceil(xy[:, 1].max())) + pad - top
    shift = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]], float)
    patch = cv2.warpPerspective(rgba, shift @ h, (max(w, 1), max(hgt, 1)), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return patch, left, top


def jitter_lut(brightness: float, contrast: float, mean: float = 128.0) -> np.ndarray:
    """256-entry table: (v - mean) * contrast + mean + brightness * 255, saturated."""
    v = (np.arange(256, dtype=np.float32) - mean) * contrast + mean + brightness * 255.0
    return np.clip(v + 0.5, 0, 255).astype(np.uint8)


def transform_garment(rgba: np.ndarray, p: TransformParams, reference: float, focal: float = 1.5,
                      mean: float = 128.0, pad: int = 0) -> tuple[np.ndarray, int, int]:
    """Geometric warp plus brightness/contrast jitter of one cut-out: (patch RGBA, left, top)."""
    h = garment_homography(rgba.shape[1], rgba.shape[0], p, reference, focal)
    patch, left, top = warp_rgba(rgba, h, pad)
    if p.brightness != 0.0 or p.contrast != 1.0:
        lut = jitter_lut(p.brightness, p.contrast, mean)
        # One 4-channel table (alpha mapped to itself): no copy of the colour planes.
        lut4 = np.stack([lut, lut, lut, np.arange(256, dtype=np.uint8)], axis=1).reshape(256, 1, 4)
        cv2.LUT(patch, lut4, dst=patch)
    return patch, left, top
