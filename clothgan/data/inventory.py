"""Reading a clothing source into labelled records: label clean-up, exclusions, deterministic splits.

Sources: `images.csv` + `images/` (the full dataset), a CSV `image,label[,kids][,split]` whose
image column is an id or a path relative to the CSV, or a folder laid out `<label>/<file>` or
`<split>/<label>/<file>` (the public small subset; its own split is kept).
"""
from __future__ import annotations

import csv
import hashlib
import os
import random
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import DataConfig
from ..errors import DataError
from .images import IMAGE_SUFFIXES, is_image_name
from .source import resolve_dataset

SPLITS = ("train", "val", "test")

# Spellings seen in the wild -> the course's class names (and split names).
_LABEL_ALIASES = {"tshirt": "t-shirt", "t shirt": "t-shirt", "tee": "t-shirt",
                  "long sleeve": "longsleeve", "long-sleeve": "longsleeve",
                  "outerwear": "outwear", "validation": "val", "valid": "val"}
_TRUE = {"true", "1", "yes", "y", "t"}


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
    missing_files: list[str] = field(default_factory=list)      # CSV rows without a file (any label)
    unlisted_files: list[str] = field(default_factory=list)     # files without a CSV row / label
    kids_excluded: int = 0                                      # rows left out by include_kids
    duplicate_rows: int = 0                                     # repeated CSV rows, kept once
    kind: str = "folders"                                       # "csv" or "folders"
    own_split: bool = False                                     # split came from the source
    unusable_files: list = field(default_factory=list)          # (printable path, reason): names
                                                                # that are not text, looping links

    def counts(self, split: str | None = None) -> dict[str, int]:
        c = Counter(r.label for r in self.records if split is None or r.split == split)
        return dict(sorted(c.items()))

    def select(self, split: str | None) -> list[Record]:
        return [r for r in self.records if split is None or r.split == split]

    def split_counts(self) -> dict[str, dict[str, int]]:
        """{split: {class: images}} for the splits that have images."""
        return {s: self.counts(s) for s in SPLITS if any(r.split == s for r in self.records)}

    def subset(self, per_class: int, seed: int = 0) -> "Inventory":
        """The same inventory with at most `per_class` records of each class and split
        (a fixed random choice): the quick workloads of notebooks in fast mode."""
        rng = random.Random(seed)
        groups: dict[tuple[str, str], list[Record]] = {}
        for r in self.records:
            groups.setdefault((r.label, r.split), []).append(r)
        keep = [r for key in sorted(groups) for r in
                sorted(rng.sample(groups[key], min(per_class, len(groups[key]))), key=_key)]
        return replace(self, records=keep)


def _key(r: Record) -> str:
    return r.path


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
    return is_image_name(p.name) and p.is_file()


def _split_of(value: str, where: str) -> str:
    s = normalize_label(value)
    if s not in SPLITS:
        raise DataError(f"{where}: unknown split {value!r}; use train, validation (or val) or test")
    return s


def scan_csv(csv_path: Path, cfg: DataConfig, images_dir: Path | None = None) -> Inventory:
    """A CSV with `image,label` (optionally `kids`, `split`); image is an id or a relative path.

    Ids are looked up in `images/` beside the CSV (or the CSV's folder); paths are relative to
    the CSV's folder. Rows whose file is missing and image files with no row are both reported.
    """
    csv_path = Path(csv_path)
    images_dir = images_dir or (csv_path.parent / "images")
    if not images_dir.is_dir():
        images_dir = csv_path.parent
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = {c.strip() for c in (reader.fieldnames or []) if c}
            if not {"image", "label"} <= cols:
                raise DataError(f"{csv_path}: needs columns 'image' and 'label', found "
                                f"{sorted(cols) or 'no header'}")
            rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{csv_path}: not a readable UTF-8 CSV ({exc})") from exc
    wanted = set(cfg.classes)
    inv = Inventory(root=csv_path.parent, records=[], kind="csv",
                    own_split="split" in cols)
    files = {os.path.splitext(e.name)[0]: Path(e.path)
             for e, is_dir in _entries(os.fspath(images_dir), inv.unusable_files)
             if not is_dir and is_image_name(e.name)}
    seen_keys: set[str] = set()
    found: set[Path] = set()
    for line, row in enumerate(rows, start=2):
        image = row.get("image", "").strip().replace("\\", "/")
        if not image:
            continue
        key = os.path.splitext(image)[0]      # the id, or the relative path without extension
        if key in seen_keys:
            inv.duplicate_rows += 1
            continue
        seen_keys.add(key)
        path = _find_file(image, files, images_dir, csv_path.parent)
        if path is None:                 # reported whatever the row's label
            inv.missing_files.append(image)
        else:
            found.add(path)
        raw = row.get("label", "").strip()
        label = normalize_label(raw)
        if label not in wanted:
            inv.excluded_labels[raw or "(empty)"] += 1
            continue
        if not cfg.include_kids and row.get("kids", "").strip().lower() in _TRUE:
            inv.kids_excluded += 1
            continue
        if path is None:
            continue
        split = (_split_of(row["split"], f"{csv_path}, line {line}") if row.get("split", "").strip()
                 else assign_split(key, cfg))
        inv.records.append(Record(os.path.abspath(path), label, split))
    inv.unlisted_files = sorted(printable(str(p)) for p in files.values() if p not in found)
    return inv


def _find_file(image: str, files: dict[str, Path], images_dir: Path, base: Path) -> Path | None:
    """The file a CSV `image` cell names: an id in images_dir, or a path relative to the CSV."""
    if image in files:
        return files[image]
    for candidate in (images_dir / image, base / image):
        if _is_image(candidate):
            return candidate
    return None


def printable(path: str) -> str:
    """`path` as text that can always be printed: bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _entries(folder: str, unusable: list[tuple[str, str]]) -> list[tuple[os.DirEntry, bool]]:
    """(entry, is a folder) for the usable files and folders in `folder`, sorted by name;
    the others are added to `unusable` as (printable path, reason)."""
    out = []
    with os.scandir(folder) as it:
        for e in sorted(it, key=lambda e: e.name):
            try:
                e.path.encode("utf-8")
                is_dir, is_file = e.is_dir(), e.is_file()
            except UnicodeEncodeError:
                if is_image_name(e.name) or e.is_dir():
                    unusable.append((printable(e.path), "name is not UTF-8 text; rename it"))
                continue
            except OSError as exc:   # a link that loops, or a file that vanished
                unusable.append((printable(e.path), f"cannot be opened ({exc.strerror or exc})"))
                continue
            if is_dir or is_file:
                out.append((e, is_dir))
    return out


def label_folders(base: str | os.PathLike, unusable: list[tuple[str, str]] | None = None
                  ) -> tuple[list[tuple[str, str, list[str]]], list[str]]:
    """([(folder, normalised label, its image files)], image files lying loose in base) for
    the visible sub-folders of base, sorted by name. Entries that cannot be used (a name that
    is not text, a link that loops) are left out, and added to `unusable` as (printable path,
    reason) when given."""
    unusable = [] if unusable is None else unusable
    entries = _entries(os.fspath(base), unusable)
    loose = [e.path for e, is_dir in entries if not is_dir and is_image_name(e.name)]
    folders = []
    for entry, is_dir in entries:
        if entry.name.startswith(".") or not is_dir:
            continue
        images = [e.path for e, sub_dir in _entries(entry.path, unusable)
                  if not sub_dir and is_image_name(e.name)]
        folders.append((entry.path, normalize_label(entry.name), images))
    return folders, loose


def scan_folders(root: Path, cfg: DataConfig) -> Inventory:
    """`<label>/<file>` or `<split>/<label>/<file>` under root (split folders: train,
    validation or val, test). A folder of a configured class with no images is an error."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    split_dirs = [p for p in subdirs if normalize_label(p.name) in SPLITS]
    wanted = set(cfg.classes)
    inv = Inventory(root=root, records=[], kind="folders", own_split=bool(split_dirs))
    layouts = [(normalize_label(s.name), s) for s in split_dirs] if split_dirs else [(None, root)]
    for other in (p for p in subdirs if split_dirs and p not in split_dirs):
        # A label folder beside split folders: which split it belongs to is unknown.
        inv.unlisted_files += sorted(printable(str(f)) for f in other.rglob("*") if _is_image(f))
    for split, base in layouts:
        folders, loose = label_folders(base, inv.unusable_files)
        # Images lying beside the label folders have no label: reported, not guessed.
        inv.unlisted_files += loose
        for folder, label, images in folders:
            if label not in wanted:
                inv.excluded_labels[os.path.basename(folder)] += len(images)
                continue
            if not images:
                raise DataError(f"{folder}: class folder {os.path.basename(folder)!r} has no "
                                f"images ({', '.join(sorted(IMAGE_SUFFIXES))}); add some or "
                                "remove it")
            for p in images:
                key = os.path.splitext(os.path.basename(p))[0]
                inv.records.append(Record(os.path.abspath(p), label, split or assign_split(key, cfg)))
    return inv


def scan(cfg: DataConfig) -> Inventory:
    """Resolve cfg.dataset (registry name or path) and list its usable records."""
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
        found = ", ".join(f"{k} ({v})" for k, v in inv.excluded_labels.most_common(8))
        hint = (f"; labels found: {found} (set DataConfig(classes=...) to use them)" if found
                else "; expected images.csv + images/, <label>/<file> or <split>/<label>/<file>")
        raise DataError(f"{root}: no images of the classes {', '.join(cfg.classes)}{hint}")
    absent = [c for c in cfg.classes if c not in inv.counts()]
    if absent:
        warnings.warn(f"{root}: no images of class(es) {', '.join(absent)}", stacklevel=2)
    return inv
