"""What a written image-folder dataset carries beside its images, so it loads anywhere:
`metadata.jsonl` (one JSON object per image: the Hugging Face `imagefolder` layout, whose columns
become dataset features) and a dataset card, `README.md`, saying what made it and how to load it.
Class folders stay the label source for loaders that read only folders (Keras'
`image_dataset_from_directory`)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

METADATA_FILE = "metadata.jsonl"
CARD_FILE = "README.md"


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
