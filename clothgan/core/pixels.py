"""Pixel values: uint8 on disk, float32 in [-1, 1] in the networks (the range of tanh).

One rule each way: x / 127.5 - 1 in, rint((x + 1) * 127.5) clipped to 0..255 out (the values
PNG files hold), so a written and re-read image comes back unchanged.
"""
from __future__ import annotations

import numpy as np


def to_float(images) -> np.ndarray:
    """uint8 pixels -> float32 in [-1, 1]."""
    return np.asarray(images).astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats -> uint8 pixels (round to nearest, clipped)."""
    a = np.asarray(images, np.float32)
    return np.clip(np.rint((a + 1.0) * 127.5), 0, 255).astype(np.uint8)


def as_saved(images) -> np.ndarray:
    """[-1, 1] floats as they come back from an 8-bit PNG: to_float(to_uint8(images))."""
    return to_float(to_uint8(images))
