"""The labelled dataset folder: what `clothgan generate` and `clothgan compose --mode
classification` write and `clothgan evaluate` reads. A third way of making images gets the
format by calling `write_labelled_files`::

    DIR/<class>/<file>.png   the images; class folders are the label source for loaders that read
                             only folders (Keras' `image_dataset_from_directory`)
    DIR/manifest.csv         one row per image, MANIFEST_COLUMNS (the same for every method)
    DIR/metadata.jsonl       the same rows as JSON (the Hugging Face `imagefolder` layout, whose
                             columns become dataset features)
    DIR/README.md            a dataset card: what made the images, the counts, how to load them
    DIR/dataset.json         {"kind": ..., what made it}; `run_config.data` names the real data
                             `evaluate` compares with, `image_size` and `channels` the images' own
"""
from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

from .core.files import atomic_write, read_json
from .errors import ClothganError

MANIFEST_FILE = "manifest.csv"
METADATA_FILE = "metadata.jsonl"
CARD_FILE = "README.md"
DATASET_FILE = "dataset.json"
#: The methods that write a labelled folder, and the "kind" each writes in dataset.json (what
#: --overwrite may replace).
KINDS = {"gan": "clothgan-generated", "cutpaste": "clothgan-composed"}
#: manifest.csv's columns; `checkpoint_sha256` (the generator) and `source` (the photo the
#: garment came from) are empty where a method has none.
MANIFEST_COLUMNS = ("file", "class", "label", "method", "seed", "index", "checkpoint_sha256",
                    "source")
_INT_COLUMNS = ("label", "seed", "index")


def image_file(method: str, class_name: str, seed: int, index: int) -> str:
    """The image's path inside DIR. GAN images carry the seed, so datasets of several seeds
    can be merged; composed images the class."""
    if method == "gan":
        return f"{class_name}/s{seed}_{index:06d}.png"
    return f"{class_name}/{class_name}_{index:06d}.png"


def manifest_row(file: str, class_name: str, label: int, method: str, seed: int, index: int,
                 checkpoint_sha256: str | None = None, source: str | None = None) -> dict:
    """One image's row of manifest.csv (and metadata.jsonl)."""
    return {"file": file, "class": class_name, "label": int(label), "method": method,
            "seed": int(seed), "index": int(index), "checkpoint_sha256": checkpoint_sha256,
            "source": source}


def is_labelled_dataset(folder: str | os.PathLike, method: str) -> bool:
    """Whether `folder` holds a dataset `method` wrote (what --overwrite may replace)."""
    try:
        return json.loads((Path(folder) / DATASET_FILE).read_text()).get("kind") == KINDS[method]
    except (OSError, ValueError, AttributeError):
        return False


def write_labelled_files(folder: Path, name: str, method: str, rows: list[dict], *, title: str,
                         made_by: str, provenance: dict, image_size: int, channels: int,
                         meta: dict, numbers: dict | None = None) -> None:
    """Everything beside the images in `folder` (the dataset `name` once in place): manifest.csv,
    metadata.jsonl and README.md from `rows` (manifest_row), dataset.json from `meta`."""
    folder = Path(folder)
    with open(folder / MANIFEST_FILE, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows([r[k] for k in MANIFEST_COLUMNS] for r in rows)
    metadata = [_metadata_row(r) for r in rows]
    write_metadata(folder, metadata)
    write_card(folder, name, title, made_by, metadata, provenance, image_size, channels, numbers)
    text = json.dumps({"kind": KINDS[method], **meta}, indent=2, default=str)
    atomic_write(folder / DATASET_FILE, lambda tmp: Path(tmp).write_text(text))


def _metadata_row(row: dict) -> dict:
    out = {"file_name": row["file"], "label": row["class"], "method": row["method"],
           "seed": row["seed"], "index": row["index"]}
    if row["checkpoint_sha256"] is not None:
        out["generator_sha256"] = row["checkpoint_sha256"]
    if row["source"] is not None:
        out["source"] = row["source"]
    out["filter_score"] = None
    return out


def read_manifest(folder: str | os.PathLike) -> list[dict]:
    """Rows of DIR/manifest.csv as dicts (label, seed and index as ints); columns an older
    folder lacks are None."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise ClothganError(f"{path}: missing; not a dataset written by `clothgan generate` or "
                            "`clothgan compose --mode classification`")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in MANIFEST_COLUMNS:
            r[k] = r.get(k) or None
        for k in _INT_COLUMNS:
            r[k] = int(r[k])
    return rows


def read_dataset_json(folder: str | os.PathLike) -> dict:
    """DIR/dataset.json, or {} when the folder has none (any DIR/<class>/<image> folder)."""
    path = Path(folder) / DATASET_FILE
    if not path.is_file():
        return {}
    return read_json(path, DATASET_FILE, "delete it or write the folder again")


def write_metadata(folder: Path, rows: list[dict]) -> Path:
    """metadata.jsonl: each row must hold `file_name` (relative to the folder) and `label`."""
    path = Path(folder) / METADATA_FILE
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=False) + "\n")
    return path


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def write_card(folder: Path, name: str, title: str, made_by: str, rows: list[dict],
               provenance: dict, image_size: int, channels: int,
               numbers: dict | None = None) -> Path:
    """README.md in `folder` (the dataset `name` once in place): a dataset card with YAML front
    matter, what made the images, the counts per class, how to load them, and (when known) what
    they measured."""
    counts = Counter(r["label"] for r in rows)
    lines = ["---", "task_categories:", "- image-classification",
             f"size_categories:\n- {_size_category(len(rows))}",
             "tags:", "- synthetic", "- clothing", "- clothgan", "---", "",
             f"# {name}: {title}", "", made_by, "",
             "## Provenance", ""]
    lines += [f"- **{k}**: {v}" for k, v in provenance.items() if v not in (None, "", [])]
    lines += ["", "## Images", "", f"{len(rows)} images, one folder per class:", "",
              "| class | images |", "| --- | ---: |"]
    lines += [f"| {c} | {n} |" for c, n in sorted(counts.items())]
    if numbers:
        lines += ["", "## Measured", ""] + [f"- {k}: {v}" for k, v in numbers.items()]
    lines += ["", "## Loading", "", "```python",
              "from datasets import load_dataset                 # Hugging Face",
              f'ds = load_dataset("imagefolder", data_dir="{name}")',
              "", "import keras                                      # Keras",
              f'ds = keras.utils.image_dataset_from_directory("{name}", '
              f'image_size=({image_size}, {image_size}), '
              f'color_mode="{"grayscale" if channels == 1 else "rgb"}")', "```", "",
              "`metadata.jsonl` has one row per image (its columns become the Hugging Face "
              "dataset's features); `manifest.csv` holds the same as CSV.", ""]
    path = Path(folder) / CARD_FILE
    path.write_text("\n".join(lines))
    return path
