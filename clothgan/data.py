"""Reading a clothing source into labelled records: label clean-up, exclusions, deterministic splits."""
from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .config import DataConfig
from .errors import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLITS = ("train", "val", "test")

# Spellings seen in the wild -> the article's class names.
_LABEL_ALIASES = {"tshirt": "t-shirt", "t shirt": "t-shirt", "long sleeve": "longsleeve",
                  "long-sleeve": "longsleeve", "outerwear": "outwear", "validation": "val"}


@dataclass(frozen=True)
class Record:
    path: str          # absolute path of the image file
    label: str         # normalised class name
    split: str         # "train", "val" or "test"


@dataclass
class Inventory:
    """What a source holds once filtered to the configured classes."""

    root: Path
    records: list[Record]
    excluded_labels: Counter = field(default_factory=Counter)   # label -> rows left out
    missing_files: list[str] = field(default_factory=list)      # CSV rows without a file
    unlisted_files: list[str] = field(default_factory=list)     # files without a CSV row

    def counts(self, split: str | None = None) -> dict[str, int]:
        c = Counter(r.label for r in self.records if split is None or r.split == split)
        return dict(sorted(c.items()))

    def select(self, split: str | None) -> list[Record]:
        return [r for r in self.records if split is None or r.split == split]


def normalize_label(label: str) -> str:
    """'T-Shirt' -> 't-shirt', 'Long Sleeve' -> 'longsleeve'; other labels only lower-cased."""
    s = " ".join(label.strip().lower().replace("_", " ").split())
    return _LABEL_ALIASES.get(s, s)


def assign_split(key: str, cfg: DataConfig) -> str:
    """Deterministic split from a hash of the image id: stable when files are added or removed."""
    h = int.from_bytes(hashlib.sha256(f"{cfg.split_seed}:{key}".encode()).digest()[:8], "big")
    u = h / 2**64
    if u < cfg.test_fraction:
        return "test"
    if u < cfg.test_fraction + cfg.val_fraction:
        return "val"
    return "train"


def _is_image(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def scan_csv(csv_path: Path, cfg: DataConfig, images_dir: Path | None = None) -> Inventory:
    """A CSV with `image,label` (optionally `kids`, `split`); image is an id or a relative path."""
    images_dir = images_dir or (csv_path.parent / "images")
    if not images_dir.is_dir():
        images_dir = csv_path.parent
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        if not {"image", "label"} <= cols:
            raise DataError(f"{csv_path}: needs columns 'image' and 'label', found {sorted(cols)}")
        rows = list(reader)
    files = {p.stem: p for p in images_dir.iterdir() if _is_image(p)} if images_dir.is_dir() else {}
    wanted = set(cfg.classes)
    inv = Inventory(root=csv_path.parent, records=[])
    seen = set()
    for row in rows:
        key = Path(row["image"]).stem
        seen.add(key)
        label = normalize_label(row["label"])
        if label not in wanted:
            inv.excluded_labels[row["label"].strip()] += 1
            continue
        if not cfg.include_kids and str(row.get("kids", "")).strip().lower() == "true":
            inv.excluded_labels["(kids)"] += 1
            continue
        path = files.get(key)
        if path is None:
            candidate = images_dir / row["image"]
            path = candidate if candidate.is_file() else None
        if path is None:
            inv.missing_files.append(row["image"])
            continue
        split = normalize_label(row["split"]) if row.get("split") else assign_split(key, cfg)
        inv.records.append(Record(str(path.resolve()), label, split))
    inv.unlisted_files = sorted(str(p) for k, p in files.items() if k not in seen)
    return inv


def scan_folders(root: Path, cfg: DataConfig) -> Inventory:
    """`<label>/<file>` or `<split>/<label>/<file>` under root."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    split_dirs = [p for p in subdirs if normalize_label(p.name) in SPLITS]
    wanted = set(cfg.classes)
    inv = Inventory(root=root, records=[])
    layouts = [(normalize_label(s.name), s) for s in split_dirs] if split_dirs else [(None, root)]
    for split, base in layouts:
        for label_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            label = normalize_label(label_dir.name)
            images = sorted(p for p in label_dir.iterdir() if _is_image(p))
            if label not in wanted:
                inv.excluded_labels[label_dir.name] += len(images)
                continue
            for p in images:
                inv.records.append(Record(str(p.resolve()), label, split or assign_split(p.stem, cfg)))
    return inv


def scan(cfg: DataConfig) -> Inventory:
    """Resolve cfg.dataset (registry name or path) and list its usable records."""
    from .datasets import resolve_dataset

    root = resolve_dataset(cfg.dataset)
    if root.is_file() and root.suffix.lower() == ".csv":
        inv = scan_csv(root, cfg)
    elif (root / "images.csv").is_file():
        inv = scan_csv(root / "images.csv", cfg)
    elif root.is_dir():
        inv = scan_folders(root, cfg)
    else:
        raise DataError(f"{root}: not a folder or CSV file")
    if not inv.records:
        raise DataError(f"{root}: no images of the classes {', '.join(cfg.classes)} found; "
                        "expected images.csv + images/, <label>/<file> or <split>/<label>/<file>")
    return inv
