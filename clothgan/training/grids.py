"""Per-class sample grids as image files (NumPy + Pillow only): one row per class."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..core.files import atomic_write
from ..core.pixels import to_uint8


def class_latent(latent_dim: int, num_classes: int, per_class: int, seed: int = 0):
    """Fixed (noise, labels) for a grid: row c holds `per_class` samples of class c.

    The same seed gives the same noise in every epoch and every run, so grids are comparable.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    noise = rng.standard_normal((num_classes * per_class, latent_dim)).astype(np.float32)
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), per_class)
    return noise, labels


def tile_images(images: np.ndarray, rows: int, cols: int, pad: int = 1) -> np.ndarray:
    """(rows*cols, H, W, C) -> one (rows*(H+pad)-pad, cols*(W+pad)-pad, C) mosaic, row-major."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    if n != rows * cols:
        raise ValueError(f"{n} images do not fill a {rows}x{cols} grid")
    fill = 255 if images.dtype == np.uint8 else (images.max() if images.size else 0)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c), fill, images.dtype)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, q * (w + pad): q * (w + pad) + w] = img
    return out


def grid_image(images: np.ndarray, class_names, per_class: int, scale: int = 2,
               title: str | None = None) -> Image.Image:
    """A labelled PIL image: class names on the left, one row of samples per class."""
    mosaic = tile_images(to_uint8(images), len(class_names), per_class)
    mode = "L" if mosaic.shape[-1] == 1 else "RGB"
    body = Image.fromarray(mosaic[..., 0] if mode == "L" else mosaic, mode)
    body = body.resize((body.width * scale, body.height * scale), Image.Resampling.NEAREST)
    row_h = body.height / len(class_names)
    margin, top = 70, (14 if title else 0)
    canvas = Image.new(mode, (body.width + margin, body.height + top), 255 if mode == "L" else (255,) * 3)
    canvas.paste(body, (margin, top))
    draw = ImageDraw.Draw(canvas)
    ink = 0 if mode == "L" else (0, 0, 0)
    if title:
        draw.text((2, 1), title, fill=ink)
    for i, name in enumerate(class_names):
        draw.text((2, top + int(i * row_h + row_h / 2) - 5), str(name), fill=ink)
    return canvas


def save_png(image: Image.Image, path: str | os.PathLike) -> Path:
    """Write a PNG atomically."""
    return atomic_write(Path(path), lambda tmp: image.save(tmp, format="PNG"))


def save_gif(frames: list[Path], path: str | os.PathLike, ms_per_frame: int = 200,
             hold_last_ms: int = 1500) -> Path | None:
    """An animated GIF of PNG frames (the last one held longer); None without frames."""
    if not frames:
        return None
    images = [Image.open(p).convert("P") for p in frames]
    durations = [ms_per_frame] * (len(images) - 1) + [hold_last_ms]

    def write(tmp):
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0)

    return atomic_write(Path(path), write)
