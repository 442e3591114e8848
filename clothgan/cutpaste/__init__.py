"""Method 1, cut and paste: extract garments from photos, transform them, paste them over
backgrounds and write labelled images (COCO, YOLO, masks, or class folders).

Everything notebook 08 uses is importable from here. Only OpenCV, NumPy and Pillow are used
(no TensorFlow), so composing runs anywhere.

    config       TransformConfig, ComposeConfig (ExtractConfig: clothgan.data.foreground)
    transforms   the random scale, rotation, tilt, flip and relighting of one garment
    backgrounds  procedural, plain or folder backgrounds
    compose      the garment bank and one scene or one classification image
    framed       classification images framed like the dataset's photos (their own backgrounds)
    annotations  COCO, YOLO and mask files, and reading them back
    dataset      compose() (clothgan.compose): the whole method, written all-or-nothing
    synthetic    synthetic garment photos with known masks (extraction trials)
"""
from ..data.foreground import (FOREGROUND_VERSION, MASK_VERSION, ExtractConfig, ForegroundFailed,
                               extract, foreground_on_white, garment_on_white, grabcut_alpha,
                               mask_iou)
from .annotations import read_coco, read_scene, read_yolo
from .backgrounds import Backgrounds
from .compose import build_bank, compose_scene, compose_single, preview_garment, select_sources
from .config import ComposeConfig, TransformConfig
from .synthetic import extraction_trials, garment_photo
from .transforms import TransformParams, sample_transform, transform_garment

__all__ = ["FOREGROUND_VERSION", "MASK_VERSION", "Backgrounds", "ComposeConfig", "ExtractConfig",
           "ForegroundFailed", "TransformConfig", "TransformParams", "build_bank",
           "compose_scene", "compose_single", "extract", "extraction_trials",
           "foreground_on_white", "garment_on_white", "garment_photo", "grabcut_alpha",
           "mask_iou", "preview_garment", "read_coco", "read_scene", "read_yolo",
           "sample_transform", "select_sources", "transform_garment"]
