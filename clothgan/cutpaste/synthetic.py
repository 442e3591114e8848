"""Photos with a known garment mask, for measuring extraction: a garment-like shape on a texture.

Nothing here is used to make training data; it exists so that the extractor's accuracy (IoU) can
be measured where the true mask is known, in the tests and in notebook 08.
"""
from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass

import cv2
import numpy as np

# Garment outlines in unit coordinates (x right, y down), roughly as laid flat for a photo.
SHAPES: dict[str, list[tuple[float, float]]] = {
    "t-shirt": [(0.30, 0.0), (0.42, 0.06), (0.58, 0.06), (0.70, 0.0), (1.0, 0.22), (0.88, 0.40),
                (0.76, 0.32), (0.76, 1.0), (0.24, 1.0), (0.24, 0.32), (0.12, 0.40), (0.0, 0.22)],
    "longsleeve": [(0.32, 0.0), (0.44, 0.05), (0.56, 0.05), (0.68, 0.0), (0.92, 0.20), (1.0, 0.95),
                   (0.88, 0.97), (0.76, 0.40), (0.76, 1.0), (0.24, 1.0), (0.24, 0.40), (0.12, 0.97),
                   (0.0, 0.95), (0.08, 0.20)],
    "pants": [(0.15, 0.0), (0.85, 0.0), (0.92, 1.0), (0.60, 1.0), (0.50, 0.30), (0.40, 1.0),
              (0.08, 1.0)],
    "dress": [(0.36, 0.0), (0.46, 0.08), (0.54, 0.08), (0.64, 0.0), (0.68, 0.30), (0.62, 0.42),
              (1.0, 1.0), (0.0, 1.0), (0.38, 0.42), (0.32, 0.30)],
    "skirt": [(0.25, 0.0), (0.75, 0.0), (1.0, 1.0), (0.0, 1.0)],
    "shorts": [(0.05, 0.0), (0.95, 0.0), (1.0, 1.0), (0.56, 1.0), (0.50, 0.55), (0.44, 1.0),
               (0.0, 1.0)],
}

_SS = 4  # supersampling of the drawn shape: anti-aliased edges like a photo's


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: random values on a coarse grid, scaled up smoothly."""
    g = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _random_color(rng: np.random.Generator) -> np.ndarray:
    hsv = np.array([[[rng.integers(0, 180), rng.integers(40, 255), rng.integers(50, 240)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2LAB)[0, 0].astype(float)


def texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, kind: str | None = None
            ) -> np.ndarray:
    """A float32 RGB texture around a base colour: wood, carpet, tiles, plaid or mottled."""
    kind = kind or str(rng.choice(["wood", "carpet", "tiles", "plaid", "mottled"]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "wood":
        warp = smooth_noise(rng, h, w, 4) * 30
        v = 0.5 + 0.5 * np.sin((xx + warp) * rng.uniform(0.08, 0.2))
        shade = 0.75 + 0.3 * v
    elif kind == "carpet":
        shade = 0.7 + 0.3 * rng.random((h, w)).astype(np.float32) + 0.2 * smooth_noise(rng, h, w, 6)
    elif kind == "tiles":
        p = rng.integers(24, 64)
        lines = (np.minimum(xx % p, yy % p) < 2).astype(np.float32)
        shade = 1.0 - 0.35 * lines + 0.1 * smooth_noise(rng, h, w, 5)
    elif kind == "plaid":
        p = rng.uniform(0.05, 0.15)
        shade = 0.8 + 0.12 * np.sin(xx * p) + 0.12 * np.sin(yy * p * 1.3)
    else:
        shade = 0.6 + 0.5 * smooth_noise(rng, h, w, 8)
    return base[None, None, :] * shade[:, :, None]


def _two_tone(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mix two textures through stripes or blobs."""
    h, w = a.shape[:2]
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = np.deg2rad(rng.uniform(0, 180))
        m = (np.sin((xx * np.cos(t) + yy * np.sin(t)) * rng.uniform(0.1, 0.4)) > 0.3)
    else:
        m = smooth_noise(rng, h, w, int(rng.integers(6, 14))) > 0.6
    m = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 0.8)[:, :, None]
    return a * (1 - m) + b * m


def garment_photo(rng: np.random.Generator, size: tuple[int, int] = (400, 533),
                  shape: str | None = None, min_contrast: float = 35.0
                  ) -> tuple[np.ndarray, np.ndarray, str]:
    """(uint8 RGB photo, bool true mask, shape name): a shaded garment on a textured background.

    The garment's and background's base colours differ by at least `min_contrast` in CIELAB,
    as a garment photographed on a floor or bed usually does; the garment never touches the edge.
    """
    w, h = size
    shape = shape or str(rng.choice(list(SHAPES)))
    bg_color = _random_color(rng)
    for _ in range(100):
        fg_color = _random_color(rng)
        if np.linalg.norm(_lab(fg_color) - _lab(bg_color)) >= min_contrast:
            break
    photo = texture(rng, h, w, bg_color)
    if rng.random() < 0.5:   # a patterned floor or bedspread: a second colour in the background
        second = _random_color(rng)
        if np.linalg.norm(_lab(second) - _lab(fg_color)) >= min_contrast:
            photo = _two_tone(rng, photo, texture(rng, h, w, second, "mottled"))
    # The garment: outline scaled into the frame with a margin, then drawn supersampled.
    gw, gh = rng.uniform(0.45, 0.8) * w, rng.uniform(0.5, 0.82) * h
    x0 = rng.uniform(0.07 * w, w - gw - 0.07 * w)
    y0 = rng.uniform(0.07 * h, h - gh - 0.07 * h)
    pts = np.array(SHAPES[shape], np.float64) * [gw, gh] + [x0, y0]
    angle = np.deg2rad(rng.uniform(-12, 12))
    c = pts.mean(0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = (pts - c) @ rot.T + c
    big = np.zeros((h * _SS, w * _SS), np.uint8)
    cv2.fillPoly(big, [np.round(pts * _SS).astype(np.int32)], 255, lineType=cv2.LINE_8)
    alpha = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    fabric = texture(rng, h, w, fg_color, str(rng.choice(["mottled", "plaid", "carpet"])))
    if rng.random() < 0.5:   # a print or stripes in a second colour, which may be any colour
        fabric = _two_tone(rng, fabric, texture(rng, h, w, _random_color(rng), "mottled"))
    fabric *= (0.8 + 0.3 * smooth_noise(rng, h, w, 3))[:, :, None]   # folds and light fall-off
    a = alpha[:, :, None]
    photo = photo * (1 - a) + fabric * a
    # A soft shadow beside the garment, sensor noise and JPEG compression, as in a phone photo.
    shadow = cv2.GaussianBlur(np.roll(alpha, (6, 6), (0, 1)), (0, 0), 6) * (1 - alpha)
    photo *= (1 - 0.25 * shadow)[:, :, None]
    photo += rng.normal(0, 4, photo.shape)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", photo[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    photo = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    return photo, alpha >= 0.5, shape


@dataclass
class ExtractionTrial:
    """The extractor on one photo whose true mask is known."""

    photo: np.ndarray
    truth: np.ndarray     # bool
    alpha: np.ndarray     # uint8, the extractor's soft mask
    iou: float
    shape: str
    seconds: float


def extraction_trials(n: int, cfg=None, seed: int = 0, size: tuple[int, int] = (400, 533)
                      ) -> list[ExtractionTrial]:
    """Run the extractor on n synthetic garment photos (photo i from generator (seed, i))."""
    from .config import ExtractConfig
    from ..data.foreground import grabcut_alpha, mask_iou

    cfg = cfg or ExtractConfig()
    out = []
    for i in range(n):
        photo, truth, shape = garment_photo(np.random.default_rng([seed, i]), size)
        t = time.perf_counter()
        alpha = grabcut_alpha(photo, cfg)
        out.append(ExtractionTrial(photo, truth, alpha, mask_iou(alpha, truth), shape,
                                   time.perf_counter() - t))
    return out


def garment_folder(root: Path, per_class: int = 2, size: tuple[int, int] = (160, 200)) -> Path:
    """A `<label>/<file>.jpg` folder of synthetic garment photos, `per_class` of each class:
    a dataset to compose from where no real photos are at hand (tests, benchmarks)."""
    from PIL import Image

    from ..config import CLASSES

    for ci, c in enumerate(CLASSES):
        for i in range(per_class):
            photo, _, _ = garment_photo(np.random.default_rng([ci, i]), size)
            path = Path(root) / c / f"{c}_{i}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(photo).save(path, quality=92)
    return Path(root)
