"""Method 1, cut and paste: extract garments from photos, transform them, paste them over
backgrounds and write labelled images (COCO, YOLO, masks, or class folders).

Only OpenCV, NumPy and Pillow are used here (no TensorFlow), so composing runs anywhere.
"""
from __future__ import annotations

import hashlib

from .config import ComposeConfig, ExtractConfig, TransformConfig
from .extract import MASK_VERSION, ForegroundFailed, extract, garment_on_white, grabcut_alpha, mask_iou

#: Part of the preprocessing cache key for DataConfig(foreground=True): a changed extractor
#: (algorithm or default settings) never reuses arrays made with the old one.
FOREGROUND_VERSION = f"grabcut-{MASK_VERSION}-" + hashlib.sha256(
    ExtractConfig().digest().encode()).hexdigest()[:8]


def foreground_on_white(img, path: str):
    """Preprocessing hook: `img` (PIL RGB, already decoded small) -> the garment on white, same size.

    The mask is made from the photo at `path` at extraction resolution (cached per file), since
    GrabCut on a 56-pixel draft would be unreliable; raises ForegroundFailed when extraction fails.
    """
    from PIL import Image

    out = Image.fromarray(garment_on_white(path))
    return out if out.size == img.size else out.resize(img.size, Image.Resampling.BILINEAR)


__all__ = ["ComposeConfig", "ExtractConfig", "TransformConfig", "FOREGROUND_VERSION",
           "ForegroundFailed", "extract", "foreground_on_white", "garment_on_white",
           "grabcut_alpha", "mask_iou"]
