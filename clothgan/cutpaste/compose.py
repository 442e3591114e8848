"""Pasting transformed garments over backgrounds: the garment bank, scenes and single garments."""
from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..config import CLASSES
from ..core.cache import cache_dir
from ..core.files import atomic_write
from ..data.foreground import MASK_VERSION, Cutout, extract
from ..data.inventory import Inventory, Record
from ..errors import DataError
from .annotations import Instance
from .backgrounds import Backgrounds
from .config import ComposeConfig, ExtractConfig
from .transforms import sample_transform, transform_garment

BANK_VERSION = 3


# --- The garment bank: cut-outs ready to paste ------------------------------------------------

def cutout_rgba(cut: Cutout, longer_side: int) -> np.ndarray:
    """The garment cropped to its mask as RGBA, longer side at most `longer_side`.

    Pixels outside (and at the soft edge of) the mask take the colour of nearby garment pixels,
    so that interpolation while warping never drags the photo's background into the edge.
    """
    ys, xs = np.nonzero(cut.alpha)
    y0, y1 = max(0, ys.min() - 1), min(cut.alpha.shape[0], ys.max() + 2)
    x0, x1 = max(0, xs.min() - 1), min(cut.alpha.shape[1], xs.max() + 2)
    rgb = cut.rgb[y0:y1, x0:x1].astype(np.float32)
    a = cut.alpha[y0:y1, x0:x1].astype(np.float32) / 255.0
    sigma = max(2.0, 0.03 * max(a.shape))
    weight = cv2.GaussianBlur(a, (0, 0), sigma)
    spread = cv2.GaussianBlur(rgb * a[:, :, None], (0, 0), sigma)
    mean = (rgb * a[:, :, None]).sum((0, 1)) / max(a.sum(), 1e-6)
    fill = (spread + 1e-3 * mean) / (weight + 1e-3)[:, :, None]
    rgb = rgb * a[:, :, None] + fill * (1.0 - a[:, :, None])
    rgba = np.dstack([np.clip(rgb + 0.5, 0, 255).astype(np.uint8), cut.alpha[y0:y1, x0:x1]])
    s = longer_side / max(rgba.shape[:2])
    if s < 1:
        size = (max(1, round(rgba.shape[1] * s)), max(1, round(rgba.shape[0] * s)))
        rgba = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA)
    return rgba


@dataclass
class GarmentBank:
    """Cut-outs (RGBA) with their class and source photo; saved as one .npz for worker processes."""

    rgba: list[np.ndarray]
    labels: np.ndarray                      # int32 index into classes
    sources: list[str]
    classes: tuple[str, ...] = CLASSES
    means: np.ndarray = field(default=None)  # mean garment luminance: the contrast jitter's pivot
    failed: list[tuple[str, str]] = field(default_factory=list)   # (photo, reason) left out

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, np.int32)
        if self.means is None:
            self.means = np.array([_garment_mean(x) for x in self.rgba], np.float32)
        self._by_class = {c: np.flatnonzero(self.labels == c) for c in range(len(self.classes))}

    def __len__(self) -> int:
        return len(self.rgba)

    def of_class(self, label: int) -> np.ndarray:
        return self._by_class.get(label, np.zeros(0, np.int64))

    def counts(self) -> dict[str, int]:
        c = Counter(self.labels.tolist())
        return {name: c.get(i, 0) for i, name in enumerate(self.classes)}

    def save(self, path: Path) -> None:
        """`path` (.npz: labels, sources, shapes...) plus `path`.pixels.npy (all cut-outs, flat).

        The pixels file is memory-mapped on loading, so worker processes share one copy.
        """
        path = Path(path)
        shapes = np.array([x.shape[:2] for x in self.rgba], np.int64).reshape(-1, 2)
        flat = (np.concatenate([x.reshape(-1) for x in self.rgba]) if self.rgba
                else np.zeros(0, np.uint8))
        atomic_write(_pixels_path(path), lambda tmp: np.save(tmp, flat))
        # Last: the .npz existing means the bank is complete.
        atomic_write(path, lambda tmp: np.savez(
            tmp, shapes=shapes, labels=self.labels, means=self.means,
            sources=np.array(self.sources, dtype=str), classes=np.array(self.classes, dtype=str),
            failed=np.array(self.failed, dtype=str).reshape(-1, 2)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "GarmentBank":
        flat = np.load(_pixels_path(Path(path)), mmap_mode="r")
        with np.load(path, allow_pickle=False) as z:
            shapes = z["shapes"]
            ends = np.cumsum(shapes[:, 0] * shapes[:, 1] * 4)
            starts = ends - shapes[:, 0] * shapes[:, 1] * 4
            rgba = [flat[s:e].reshape(h, w, 4) for s, e, (h, w) in zip(starts, ends, shapes)]
            return cls(rgba, z["labels"], [str(s) for s in z["sources"]],
                       tuple(str(c) for c in z["classes"]), z["means"],
                       [(str(p), str(r)) for p, r in z["failed"]])


def _pixels_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.pixels.npy")


def _garment_mean(rgba: np.ndarray) -> float:
    gray = cv2.cvtColor(np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2GRAY)
    a = rgba[:, :, 3].astype(np.float32)
    return float((gray * a).sum() / max(a.sum(), 1.0))


def select_sources(inventory: Inventory, per_class: int | None, split: str | None = "train",
                   seed: int = 0, classes: tuple[str, ...] = CLASSES) -> list[Record]:
    """Up to per_class photos of each class from one split, chosen by a seeded hash (stable)."""
    def rank(r: Record) -> str:
        return hashlib.sha256(f"{seed}:{Path(r.path).name}".encode()).hexdigest()

    chosen: list[Record] = []
    for c in classes:
        pool = sorted((r for r in inventory.select(split) if r.label == c), key=rank)
        chosen.extend(pool if per_class is None else pool[:per_class])
    if not chosen:
        raise DataError(f"{inventory.root}: no photos of the classes {', '.join(classes)} in split "
                        f"{split!r}; pick another --split or dataset")
    return chosen


def _bank_item(args: tuple[str, ExtractConfig, int]) -> tuple[np.ndarray | None, str]:
    """(cut-out, "") for a photo that extracted well, else (None, reason); runs in workers."""
    path, cfg, longer_side = args
    try:
        cut = extract(path, cfg)
    except DataError as exc:      # an unreadable photo is left out and named, like a failed mask
        return None, str(exc).split(": ", 1)[-1]
    return (cutout_rgba(cut, longer_side), "") if cut.quality.ok else (None, cut.quality.reason)


def _bank_key(records: list[Record], extract_cfg: ExtractConfig, longer_side: int,
              classes: tuple[str, ...]) -> str:
    h = hashlib.sha256(f"v{BANK_VERSION}.{MASK_VERSION}|{extract_cfg.digest()}|{longer_side}|"
                       f"{','.join(classes)}".encode())
    for r in records:
        st = os.stat(r.path)
        h.update(f"{r.path}|{r.label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


@dataclass
class BankReport:
    path: Path
    kept: dict[str, int]
    failed: list[tuple[str, str]]   # (photo, reason) of extractions judged to have failed


def build_bank(records: list[Record], extract_cfg: ExtractConfig = ExtractConfig(),
               longer_side: int = 320, classes: tuple[str, ...] = CLASSES,
               workers: int | None = None, progress: bool = True) -> tuple[GarmentBank, BankReport]:
    """Extract (or reuse cached masks of) every photo and keep the garments that extracted well.

    The bank itself is cached too, keyed by the photos and settings; failed extractions are
    reported, not pasted.
    """
    path = cache_dir("cutouts") / f"{_bank_key(records, extract_cfg, longer_side, classes)}.npz"
    if path.is_file():
        bank = GarmentBank.load(path)
        return bank, BankReport(path, bank.counts(), bank.failed)
    from ..core.parallel import parallel_map

    index = {c: i for i, c in enumerate(classes)}
    items = parallel_map(_bank_item, [(r.path, extract_cfg, longer_side) for r in records],
                         workers, desc="extracting garments", progress=progress)
    rgba, labels, sources, failed = [], [], [], []
    for r, (cutout, reason) in zip(records, items):
        if cutout is None:
            failed.append((r.path, reason))
            continue
        rgba.append(cutout)
        labels.append(index[r.label])
        sources.append(r.path)
    if not rgba:
        raise DataError(f"no garment could be extracted from the {len(records)} photos; "
                        f"first failure: {failed[0][0]}: {failed[0][1]}")
    bank = GarmentBank(rgba, np.array(labels), sources, tuple(classes), failed=failed)
    bank.save(path)
    return bank, BankReport(path, bank.counts(), failed)


# --- Composition -------------------------------------------------------------------------------

@dataclass
class Scene:
    image: np.ndarray              # uint8 HxWx3 (or HxW when channels == 1)
    instances: list[Instance]
    dropped: int = 0               # garments drawn for the scene that found no room in it


def _feather_pad(cfg: ComposeConfig) -> int:
    # Room for the feathered edge; the same for every blend mode, so that a scene's geometry
    # does not depend on how it is blended.
    return int(math.ceil(3 * cfg.feather)) + 2


def _blend(canvas: np.ndarray, patch: np.ndarray, x0: int, y0: int, cfg: ComposeConfig,
           feather: float) -> np.ndarray:
    """Paste an RGBA patch whose top-left lands at (x0, y0); returns its visible hard mask window.

    Only the patch's window of the canvas is touched, so the cost follows the garment's size.
    """
    H, W = canvas.shape[:2]
    ph, pw = patch.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + pw, W), min(y0 + ph, H)
    win = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    roi = canvas[cy0:cy1, cx0:cx1]
    rgb = patch[win][:, :, :3]
    hard = patch[win][:, :, 3] >= 128
    if cfg.blend == "hard":
        np.copyto(roi, rgb, where=hard[:, :, None])
    elif cfg.blend == "gaussian":
        a = patch[:, :, 3].astype(np.float32) * (1 / 255.0)
        if feather > 0:
            a = cv2.GaussianBlur(a, (0, 0), feather)
        a = np.ascontiguousarray(a[win])
        roi[:] = cv2.blendLinear(np.ascontiguousarray(rgb), roi, a, 1.0 - a)
    else:   # poisson: seamless cloning solves for the garment's gradients inside the mask
        m = 2   # margins: OpenCV drops the mask's outer pixel ring and needs the ROI inside dst
        src = cv2.copyMakeBorder(np.ascontiguousarray(rgb), m, m, m, m, cv2.BORDER_REPLICATE)
        msk = cv2.copyMakeBorder(hard.astype(np.uint8) * 255, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
        bx, by, bw, bh = cv2.boundingRect(msk)
        if bw > 2 and bh > 2:
            # Solve on the garment's window only (edge-replicated where it leaves the canvas).
            dst = cv2.copyMakeBorder(canvas, m, m, m, m, cv2.BORDER_REPLICATE)[cy0:cy1 + 2 * m,
                                                                               cx0:cx1 + 2 * m]
            out = cv2.seamlessClone(src, np.ascontiguousarray(dst), msk,
                                    (bx + bw // 2, by + bh // 2), cv2.NORMAL_CLONE)
            roi[:] = out[m:-m, m:-m]
    return hard


def _place(rng: np.random.Generator, mask: np.ndarray, size: int, ids: np.ndarray,
           visible: list[int], placed_area: list[int], cfg: ComposeConfig) -> tuple[int, int] | None:
    """Top-left (x0, y0) for a garment mask that respects the truncation and occlusion limits."""
    ph, pw = mask.shape
    total = int(np.count_nonzero(mask))
    if total == 0:
        return None
    # Positions fully inside the canvas, widened by the share a garment may lose past the border.
    t = cfg.max_truncation
    lo_x, hi_x = min(0, size - pw) - t * pw, max(0, size - pw) + t * pw
    lo_y, hi_y = min(0, size - ph) - t * ph, max(0, size - ph) + t * ph
    for _ in range(cfg.placement_tries):
        u = rng.random(2)
        x0, y0 = int(math.floor(lo_x + u[0] * (hi_x - lo_x))), int(math.floor(lo_y + u[1] * (hi_y - lo_y)))
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + pw, size), min(y0 + ph, size)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        sub = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        if np.count_nonzero(sub) < (1.0 - cfg.max_truncation) * total - 1e-9:
            continue
        if visible:
            hidden = np.bincount(ids[cy0:cy1, cx0:cx1][sub], minlength=len(visible) + 1)[1:]
            left = np.array(visible) - hidden
            if np.any(left < (1.0 - cfg.max_occlusion) * np.array(placed_area)):
                continue
        return x0, y0
    return None


def compose_scene(rng: np.random.Generator, bank: GarmentBank, backgrounds: Backgrounds,
                  cfg: ComposeConfig, labels: list[int] | None = None) -> Scene:
    """1..K transformed garments over one background, with each garment's visible mask.

    `labels` forces the classes of the garments (classification mode uses one); otherwise the
    count comes from cfg.objects and garments are drawn from the whole bank. A garment that
    finds no place within the limits is left out; the first one is always placed.
    """
    size = cfg.size
    canvas = backgrounds.draw(rng)
    ids = np.zeros((size, size), np.uint8)
    n = len(labels) if labels is not None else int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))
    visible: list[int] = []
    placed_area: list[int] = []
    kept: list[tuple[int, str, int, int]] = []   # label, source, full area, placed area
    pad = _feather_pad(cfg)
    for k in range(n):
        pool = bank.of_class(labels[k]) if labels is not None else None
        if pool is not None and pool.size == 0:
            raise DataError(f"no extracted garment of class {bank.classes[labels[k]]!r} in the bank")
        g = int(pool[rng.integers(pool.size)]) if pool is not None else int(rng.integers(len(bank)))
        params = sample_transform(rng, cfg.transform)
        patch, _, _ = transform_garment(bank.rgba[g], params, size, cfg.transform.focal,
                                        float(bank.means[g]), pad)
        mask = patch[:, :, 3] >= 128
        spot = _place(rng, mask, size, ids, visible, placed_area, cfg)
        if spot is None and not kept:
            # The first garment always goes in: centred, whatever it loses past the border.
            spot = (size - mask.shape[1]) // 2, (size - mask.shape[0]) // 2
        if spot is None:
            continue
        x0, y0 = spot
        hard = _blend(canvas, patch, x0, y0, cfg, cfg.feather)
        cx0, cy0 = max(x0, 0), max(y0, 0)
        region = ids[cy0:cy0 + hard.shape[0], cx0:cx0 + hard.shape[1]]
        if visible:
            hidden = np.bincount(region[hard], minlength=len(visible) + 1)[1:]
            visible = [v - int(h) for v, h in zip(visible, hidden)]
        region[hard] = len(kept) + 1
        area = int(np.count_nonzero(hard))
        visible.append(area)
        placed_area.append(area)
        kept.append((int(bank.labels[g]), bank.sources[g], int(np.count_nonzero(mask)), area))
    instances = [Instance(label, ids == i + 1, src, full, placed)
                 for i, (label, src, full, placed) in enumerate(kept)]
    instances = [inst for inst in instances if inst.mask.any()]
    return Scene(canvas, instances, n - len(instances))


def preview_garment(rgba: np.ndarray, params, size: int = 160, background: int = 235,
                    focal: float = 1.5, blend: str = "gaussian") -> np.ndarray:
    """One cut-out transformed by `params` (TransformParams), centred on a plain square canvas.

    For looking at one transform at a time (notebook 08); scale is relative to `size`.
    """
    cfg = ComposeConfig(size=size, blend=blend, feather=1.0)
    patch, _, _ = transform_garment(rgba, params, size, focal, _garment_mean(rgba), _feather_pad(cfg))
    canvas = np.full((size, size, 3), background, np.uint8)
    _blend(canvas, patch, (size - patch.shape[1]) // 2, (size - patch.shape[0]) // 2, cfg, cfg.feather)
    return canvas


def render_size(cfg: ComposeConfig) -> int:
    """Classification images are composed at >= 96 px and shrunk: no aliasing at 28x28."""
    return cfg.size * max(1, math.ceil(96 / cfg.size))


def compose_single(rng: np.random.Generator, bank: GarmentBank, backgrounds: Backgrounds,
                   cfg: ComposeConfig, label: int) -> tuple[np.ndarray, int, str]:
    """One garment of a given class filling the frame (classification mode): (image, label, source).

    `backgrounds` must draw at render_size(cfg); the result is cfg.size, gray when channels == 1.
    """
    big = cfg.replace(size=render_size(cfg), feather=cfg.feather * render_size(cfg) / cfg.size)
    scene = compose_scene(rng, bank, backgrounds, big, labels=[label])
    img = scene.image
    if img.shape[0] != cfg.size:
        img = cv2.resize(img, (cfg.size, cfg.size), interpolation=cv2.INTER_AREA)
    if cfg.channels == 1:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    src = scene.instances[0].source if scene.instances else ""
    return img, label, src
