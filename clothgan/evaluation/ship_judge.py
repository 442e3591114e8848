"""Maintainers: ship the judge of the default data and recipe in clothgan/evaluation/shipped_judge.

    python -m clothgan.evaluation.ship_judge

Trains (or takes from the cache) the judge `clothgan evaluate` uses on the default data, and
writes its weights with info.json: the recipe it stands in for (clothgan.evaluation.judge.
judge_recipe), its accuracy on the real validation and test photos, the commit and versions.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

from ..config import VERSION, DataConfig
from ..runs import code_version
from .judge import (SHIPPED_JUDGE, SHIPPED_WEIGHTS, ClassifierConfig, build_classifier, domain_classifier,
                    judge_recipe)

MAX_BYTES = 5 * 1024 * 1024


def ship(dest: Path = SHIPPED_JUDGE) -> dict:
    """Write the judge's weights and info.json into dest; returns the info."""
    from ..core.quiet_tf import import_tensorflow
    from ..data.arrays import load_splits

    tf = import_tensorflow()
    import keras

    data, cfg = DataConfig(), ClassifierConfig()
    real = load_splits(data)
    model, info = domain_classifier(data, cfg, real)
    if info.shipped:
        raise SystemExit(f"{dest}: already the judge of this recipe and data; delete it to retrain")
    dest.mkdir(parents=True, exist_ok=True)
    bare = build_classifier(tuple(real["train"].x.shape[1:]), data.num_classes, cfg)
    bare.set_weights(model.get_weights())      # without the optimizer's state: a third the size
    bare.save_weights(dest / SHIPPED_WEIGHTS)
    size = (dest / SHIPPED_WEIGHTS).stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{dest / SHIPPED_WEIGHTS}: {size / 2**20:.1f} MiB, over the 5 MiB limit")
    record = {"recipe": judge_recipe(data, cfg, real["train"].y),
              "command": "python -m clothgan.evaluation.ship_judge",
              "val_accuracy": info.val_accuracy, "test_accuracy": info.test_accuracy,
              "n_train": info.n_train, "train_seconds": info.train_seconds, "code": code_version(),
              "versions": {"clothgan": VERSION, "tensorflow": tf.__version__,
                           "keras": keras.__version__, "python": platform.python_version()}}
    (dest / "info.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


if __name__ == "__main__":
    r = ship()
    print(f"shipped judge: test accuracy {r['test_accuracy']:.3f} on the real test photos -> {SHIPPED_JUDGE}")
