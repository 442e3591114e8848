from collections import Counter

import numpy as np
import pytest

from clothgan.config import CLASSES, DataConfig
from clothgan.data import assign_split, normalize_label, scan
from clothgan.preprocess import load_split


@pytest.mark.parametrize("raw,expected", [("T-Shirt", "t-shirt"), ("Longsleeve", "longsleeve"),
                                          ("  Long Sleeve ", "longsleeve"), ("Not sure", "not sure")])
def test_normalize_label(raw, expected):
    assert normalize_label(raw) == expected


def test_split_is_deterministic_and_proportional():
    cfg = DataConfig()
    keys = [f"id{i}" for i in range(5000)]
    a = [assign_split(k, cfg) for k in keys]
    assert a == [assign_split(k, cfg) for k in keys]
    c = Counter(a)
    assert abs(c["test"] / 5000 - cfg.test_fraction) < 0.02
    assert abs(c["val"] / 5000 - cfg.val_fraction) < 0.02
    assert [assign_split(k, cfg.replace(split_seed=1)) for k in keys] != a


def test_folder_source_loads_all_classes(tiny_folder):
    cfg = DataConfig(dataset=str(tiny_folder))
    inv = scan(cfg)
    assert inv.counts() == {c: 6 for c in sorted(CLASSES)}
    arr = load_split(cfg, None)
    assert arr.x.shape == (60, 28, 28, 1) and arr.x.dtype == np.float32
    assert -1.0 <= arr.x.min() and arr.x.max() <= 1.0
    assert sorted(set(arr.y.tolist())) == list(range(10))


@pytest.mark.real_data
def test_real_dataset_inventory(real_data_dir, monkeypatch):
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(real_data_dir))
    inv = scan(DataConfig())
    counts = inv.counts()
    assert set(counts) == set(CLASSES)
    assert counts["t-shirt"] > counts["skirt"]  # the known class imbalance
    assert inv.excluded_labels["Not sure"] > 0 and "Polo" in inv.excluded_labels
