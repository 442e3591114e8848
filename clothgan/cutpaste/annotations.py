"""Detection and segmentation labels: COCO JSON (RLE or polygons), YOLO txt + data.yaml, masks.

Everything is derived from one visible-instance mask per garment, so boxes, areas and
segmentations agree across formats by construction; the readers here exist so that tests and
notebook 08 check and draw what was actually written to disk.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..config import CLASSES
from ..core.files import write_json_atomic

COCO_FILE = "annotations.json"
YOLO_YAML = "data.yaml"


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight box (x, y, w, h) in pixel edges of a bool mask; None when the mask is empty."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


# --- COCO run-length encoding (the compressed-string form that pycocotools reads) ---------------

def rle_counts(mask: np.ndarray) -> list[int]:
    """Alternating run lengths (background first) of the mask read column by column."""
    mask = np.asarray(mask, bool)
    h, w = mask.shape
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return [h * w]
    # Only the garment's columns need reading; the columns either side add to the end runs.
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    flat = mask[:, c0:c1].ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate(([0], change, [flat.size]))).tolist()
    if flat[0]:
        counts.insert(0, 0)
    counts[0] += c0 * h
    if flat[-1]:
        counts.append(0)
    counts[-1] += (w - c1) * h
    if counts[-1] == 0:
        counts.pop()
    return counts


def _encode_counts(counts: list[int]) -> str:
    """pycocotools' string form: runs from the fourth on are delta-coded against the run two
    back, then written as signed 5-bit groups, low first, 0x20 marking "more follows", +48."""
    x = np.asarray(counts, np.int64)
    if x.size == 0:
        return ""
    x = x.copy()
    x[3:] -= np.asarray(counts[1:-2], np.int64)
    # Groups needed: the fewest k whose 5k-bit two's complement range holds x.
    k = np.ones(x.size, np.int64)
    while True:
        fits = (x >= -(1 << (5 * k - 1))) & (x < (1 << (5 * k - 1)))
        if fits.all():
            break
        k += ~fits
    j = np.arange(int(k.max()))
    groups = (x[:, None] >> (5 * j[None, :])) & 0x1F
    groups |= np.where(j[None, :] < (k[:, None] - 1), 0x20, 0)
    chars = (groups + 48)[j[None, :] < k[:, None]]
    return chars.astype(np.uint8).tobytes().decode("ascii")


def _decode_counts(s: str) -> list[int]:
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_encode(mask: np.ndarray) -> dict:
    """COCO compressed RLE of a bool HxW mask: {"size": [h, w], "counts": str}."""
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": _encode_counts(rle_counts(mask))}


def rle_decode(rle: dict) -> np.ndarray:
    """Bool HxW mask from compressed (str) or uncompressed (list) COCO RLE."""
    h, w = rle["size"]
    counts = rle["counts"]
    counts = _decode_counts(counts) if isinstance(counts, str) else list(counts)
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    if flat.size != h * w:
        raise ValueError(f"RLE covers {flat.size} pixels, expected {h}x{w}")
    return flat.reshape((w, h)).T


def mask_polygons(mask: np.ndarray, min_points: int = 3) -> list[list[float]]:
    """Outer outlines of a bool mask as COCO polygons [x1, y1, x2, y2, ...] (pixel edges)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        if len(c) >= min_points:
            # findContours gives pixel centres of the outline; +0.5 moves them to the pixel's middle
            polys.append([round(float(v) + 0.5, 2) for v in c.reshape(-1)])
    return polys


def segmentation_to_mask(seg, height: int, width: int) -> np.ndarray:
    """Bool mask of a COCO segmentation (RLE dict or list of polygons)."""
    if isinstance(seg, dict):
        return rle_decode(seg)
    m = np.zeros((height, width), np.uint8)
    for poly in seg:
        pts = np.array(poly, np.float64).reshape(-1, 2) - 0.5
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(bool)


# --- Writers and readers -----------------------------------------------------------------------

@dataclass
class Instance:
    """One visible garment of a scene."""

    label: int                 # index into the class list
    mask: np.ndarray           # bool HxW visible pixels
    source: str = ""           # the photo it was cut from
    full_area: int = 0         # pixels of the whole transformed garment, inside the image or not
    placed_area: int = 0       # pixels visible when it was pasted (before later garments)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return mask_box(self.mask)


def coco_categories(classes: tuple[str, ...] = CLASSES) -> list[dict]:
    return [{"id": i + 1, "name": c, "supercategory": "clothing"} for i, c in enumerate(classes)]


def coco_annotation(inst: Instance, segmentation: str = "rle") -> dict:
    """The per-instance COCO fields (ids are filled in when the file is assembled)."""
    x, y, w, h = inst.box
    seg = rle_encode(inst.mask) if segmentation == "rle" else mask_polygons(inst.mask)
    return {"category_id": inst.label + 1, "bbox": [x, y, w, h], "area": int(inst.mask.sum()),
            "iscrowd": 0, "segmentation": seg}


def yolo_lines(instances: list[Instance], width: int, height: int) -> str:
    """YOLO detection labels: `class cx cy w h`, normalised to [0, 1]."""
    lines = []
    for inst in instances:
        x, y, w, h = inst.box
        lines.append(f"{inst.label} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} "
                     f"{w / width:.6f} {h / height:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_coco(path: Path, images: list[dict], annotations: list[dict],
               classes: tuple[str, ...] = CLASSES, info: dict | None = None) -> None:
    """COCO instances file; images carry id/file_name/width/height, annotations get ids here."""
    anns = [dict(a, id=i + 1) for i, a in enumerate(annotations)]
    write_json_atomic(path, {"info": info or {}, "licenses": [], "images": images,
                             "annotations": anns, "categories": coco_categories(classes)})


def write_data_yaml(path: Path, classes: tuple[str, ...] = CLASSES) -> None:
    """Ultralytics-style data.yaml; paths are relative to the file's folder."""
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(classes))
    path.write_text("# clothgan compose: YOLO detection labels in labels/, images in images/\n"
                    f"train: images\nval: images\nnc: {len(classes)}\nnames:\n{names}\n")


def read_coco(path: str | os.PathLike) -> dict:
    """The COCO file with annotations grouped per image: {file_name: [annotation, ...]}."""
    d = json.loads(Path(path).read_text())
    by_id = {im["id"]: im for im in d["images"]}
    grouped: dict[str, list[dict]] = {im["file_name"]: [] for im in d["images"]}
    for a in d["annotations"]:
        grouped[by_id[a["image_id"]]["file_name"]].append(a)
    d["per_image"] = grouped
    return d


def read_yolo(path: str | os.PathLike, width: int, height: int) -> list[tuple[int, tuple[float, ...]]]:
    """YOLO labels as (class, (x, y, w, h) in pixels)."""
    out = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            c, cx, cy, w, h = line.split()
            w_px, h_px = float(w) * width, float(h) * height
            out.append((int(c), (float(cx) * width - w_px / 2, float(cy) * height - h_px / 2,
                                 w_px, h_px)))
    return out


@dataclass
class SceneOnDisk:
    """One written scene as a detection tool would see it: every label read back from the files."""

    file_name: str
    image: np.ndarray                     # uint8 RGB
    labels: list[int]                     # COCO category_id - 1, in annotation order
    boxes: list[tuple[float, ...]]        # COCO bbox (x, y, w, h)
    masks: list[np.ndarray]               # decoded COCO segmentations (bool)
    mask_files: list[np.ndarray]          # the per-instance mask PNGs (bool)
    yolo: list[tuple[int, tuple[float, ...]]]   # YOLO labels converted to pixels


def read_scene(root: str | os.PathLike, which: int | str = 0, coco: dict | None = None) -> SceneOnDisk:
    """Scene `which` (position in the COCO file, or its file name) of a written dataset."""
    root = Path(root)
    coco = coco or read_coco(root / COCO_FILE)
    image_info = coco["images"][which] if isinstance(which, int) else next(
        im for im in coco["images"] if im["file_name"] == which)
    name = image_info["file_name"]
    bgr = cv2.imread(str(root / "images" / name), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"{root / 'images' / name}: image listed in {COCO_FILE} is missing")
    h, w = bgr.shape[:2]
    anns = coco["per_image"][name]
    return SceneOnDisk(
        file_name=name, image=bgr[:, :, ::-1].copy(),
        labels=[a["category_id"] - 1 for a in anns],
        boxes=[tuple(a["bbox"]) for a in anns],
        masks=[segmentation_to_mask(a["segmentation"], h, w) for a in anns],
        mask_files=[cv2.imread(str(root / a["mask_file"]), cv2.IMREAD_UNCHANGED) > 0 for a in anns
                    if a.get("mask_file")],
        yolo=read_yolo(root / "labels" / (Path(name).stem + ".txt"), w, h))
