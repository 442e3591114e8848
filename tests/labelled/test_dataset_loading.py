"""Written datasets load anywhere: Hugging Face `imagefolder` (with metadata.jsonl's columns) and
Keras' `image_dataset_from_directory`; each carries a dataset card."""
from __future__ import annotations

import pytest

from clothgan.cutpaste.synthetic import garment_folder
from clothgan.config import CLASSES

datasets = pytest.importorskip("datasets")
keras = pytest.importorskip("keras")


def _check(folder, method, n, columns):
    ds = datasets.load_dataset("imagefolder", data_dir=str(folder), split="train")
    assert len(ds) == n and set(columns) <= set(ds.column_names)
    assert {row["method"] for row in ds} == {method}
    assert sorted(set(ds["label"])) == sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert ds[0]["image"].size == (28, 28)
    k = keras.utils.image_dataset_from_directory(str(folder), image_size=(28, 28),
                                                 color_mode="grayscale", batch_size=8, verbose=False)
    assert sum(int(y.shape[0]) for _, y in k) == n
    card = (folder / "README.md").read_text()
    assert card.startswith("---\ntask_categories:\n- image-classification") and folder.name in card


def test_generated_dataset_loads_with_its_metadata(tmp_path):
    from clothgan import generate
    from clothgan.pretrained import pretrained_dir

    out = tmp_path / "gan"
    generate(pretrained_dir("quality"), 2, out, progress=False)
    _check(out, "gan", 2 * len(CLASSES), ["image", "label", "seed", "index", "generator_sha256",
                                          "filter_score"])
    assert "generator SHA-256" in (out / "README.md").read_text()


def test_composed_classification_dataset_loads_with_its_metadata(tmp_path, monkeypatch):
    from clothgan.cutpaste import ComposeConfig
    from clothgan.cutpaste.dataset import compose

    photos = garment_folder(tmp_path / "photos", per_class=1)
    out = tmp_path / "cutpaste"
    compose(out, 20, ComposeConfig.for_classification(), dataset=str(photos), per_class=1,
            split=None, workers=1, progress=False)
    _check(out, "cutpaste", 20, ["image", "label", "seed", "index", "source", "filter_score"])
