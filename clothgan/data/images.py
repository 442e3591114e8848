"""one image file -> a training array: the classic 28x28 function for teaching, and the default
decoder (EXIF orientation, any colour mode, aspect-keeping resize, foreground cut-out).

A file that cannot be used raises UnusableImage with one of the skip reasons below; the
batch loader (clothgan.data.arrays) skips and counts such files.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..config import DataConfig
from ..core.pixels import to_float
from ..errors import ClothganError, DataError

# Pillow warns on opening a very large image; the decoder below refuses those itself (as "too
# large", named in every summary), so the warning would only repeat that.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
#: Images with more pixels than this are skipped unread ("too large"): decompression bombs.
MAX_PIXELS = 8192 * 8192

# Why a file was skipped (the summary counts skips by these).
EMPTY = "empty file"
NOT_IMAGE = "not an image"
CORRUPT = "corrupt or truncated"
TOO_LARGE = "too large"
UNSUPPORTED = "unsupported colour mode"
UNREADABLE = "unreadable"
FOREGROUND_FAILED = "foreground extraction failed"


def is_image_name(name: str) -> bool:
    """An image by its name: a known suffix, not hidden (`.DS_Store`, `._x.jpg` are ignored)."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


class SkippedImageWarning(UserWarning):
    """A file was left out of a load; the message names it and says why."""


class UnusableImage(DataError):
    """One image file that cannot be used; `reason` is one of the skip reasons above."""

    def __init__(self, path: str | os.PathLike, reason: str, detail: str = ""):
        self.path, self.reason, self.detail = str(path), reason, detail
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


class _UnsupportedMode(ValueError):
    pass


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    detail: str = ""


def classic_preprocess(path: str | os.PathLike) -> np.ndarray:
    """The classic 28x28 function, unchanged: squash to 28x28, convert('LA'), keep channel 0 (uint8)."""
    img = Image.open(path).resize((28, 28))
    return np.asarray(img.convert("LA"))[:, :, 0]


def foreground_extractor(cfg: DataConfig):
    """The function that cuts the garment out (img, path) -> img on white, or None when
    cfg.foreground is off."""
    if not cfg.foreground:
        return None
    from .foreground import foreground_on_white

    return foreground_on_white


def foreground_fingerprint(cfg: DataConfig) -> str:
    """The extractor's version for cache keys ("" when cfg.foreground is off)."""
    if not cfg.foreground:
        return ""
    from .foreground import FOREGROUND_VERSION

    return FOREGROUND_VERSION


def _to_rgb_or_l(img: Image.Image, rgb: bool) -> Image.Image:
    """Any Pillow mode -> 'RGB' or 'L': 16-bit and float scaled, transparency over white."""
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img).astype(np.float32)
        top = float(a.max()) if a.size else 0.0
        if mode.startswith("I;16"):
            a = a / 257.0
        elif top > 255:
            a = a * (255.0 / max(top, 65535.0) if top > 65535 else 255.0 / 65535.0)
        elif mode == "F" and top <= 1.0:
            a = a * 255.0
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    elif "transparency" in img.info and mode in ("P", "L", "RGB"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if img.mode not in ("L", "RGB"):
        try:
            img = img.convert("RGB")
        except ValueError as exc:
            raise _UnsupportedMode(f"colour mode {img.mode}") from exc
    target = "RGB" if rgb else "L"
    return img if img.mode == target else img.convert(target)


def _orient(img: Image.Image) -> Image.Image:
    """The decoded image as it is meant to be seen (EXIF orientation applied)."""
    try:
        if img.getexif().get(0x0112, 1) in (2, 3, 4, 5, 6, 7, 8):
            return ImageOps.exif_transpose(img)
    except Exception:          # broken EXIF: the pixels are still good, keep them as stored
        pass
    img.load()
    return img


def fit(img: Image.Image, size: int, resize: str) -> np.ndarray:
    """uint8 (size, size[, c]): squashed, or scaled to fit and centred on white (pad)."""
    if resize == "squash":
        return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    w, h = img.size
    nw, nh = max(1, round(w * size / max(w, h))), max(1, round(h * size / max(w, h)))
    small = np.asarray(img.resize((nw, nh), Image.Resampling.BILINEAR), dtype=np.uint8)
    out = np.full((size, size, *small.shape[2:]), 255, np.uint8)
    y0, x0 = round((size - nh) * 0.5), round((size - nw) * 0.5)     # as ImageOps.pad places it
    out[y0:y0 + nh, x0:x0 + nw] = small
    return out


def decode(path: str, cfg: DataConfig, foreground=None) -> np.ndarray:
    """One image as uint8 (size, size, channels); raises UnusableImage with the reason."""
    size = cfg.image_size
    rgb = cfg.channels == 3 or cfg.foreground
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise UnusableImage(path, TOO_LARGE, f"{w}x{h} pixels, limit {MAX_PIXELS:,}")
            if img.format == "JPEG":
                # libjpeg decodes at the smallest 1/2..1/8 scale still at least `size` on each
                # side (and only luminance for "L"): far less work than a full decode.
                img.draft("RGB" if rgb else "L", (size, size))
            img = _orient(img)
            try:
                img = _to_rgb_or_l(img, rgb)
            except _UnsupportedMode as exc:
                raise UnusableImage(path, UNSUPPORTED, str(exc)) from exc
            if foreground is not None:
                try:
                    img = foreground(img, path)
                except ClothganError:
                    raise
                except Exception as exc:
                    raise UnusableImage(path, FOREGROUND_FAILED, repr(exc)) from exc
                if cfg.channels == 1:
                    img = img.convert("L")
            arr = fit(img, size, cfg.resize)
    except (UnusableImage, ClothganError):
        raise
    except Image.DecompressionBombError as exc:
        raise UnusableImage(path, TOO_LARGE, str(exc)) from exc
    except UnidentifiedImageError as exc:
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            raise UnusableImage(path, EMPTY, "0 bytes") from exc
        raise UnusableImage(path, NOT_IMAGE, "no image format recognised") from exc
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise UnusableImage(path, UNREADABLE, exc.strerror or str(exc)) from exc
    except Exception as exc:       # Pillow reports damaged data with many exception types
        raise UnusableImage(path, CORRUPT, str(exc) or type(exc).__name__) from exc
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape != (size, size, cfg.channels):
        raise UnusableImage(path, CORRUPT, f"decoded to shape {arr.shape}")
    return arr


def load_image(path: str | os.PathLike, cfg: DataConfig) -> np.ndarray:
    """One image as float32 HxWxC in [-1, 1]: EXIF-oriented, resized per cfg.resize, padded white.

    Raises UnusableImage (a DataError naming the file and the reason) for a file that cannot
    be used.
    """
    return to_float(decode(str(path), cfg, foreground_extractor(cfg)))
