"""The study's downstream classifier: the judge's small CNN, narrower, trained for a number of
steps that suits the real data's size, with the best validation round kept.

The step count depends on the real photos alone (synthetic images add none), so a real-only and
a real + synthetic training of one seed cost the same, and differ only in what they saw.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..config import Config, check_bool, check_float, check_int, set_fields
from ..core.hardware import check_precision
from ..errors import ConfigError
from ..evaluation.judge import ClassifierConfig, compiled_classifier, predict_proba


@dataclass(frozen=True)
class StudyClassifierConfig(Config):
    """How the study's classifier trains: `rounds` of `steps_per_round` steps, cosine-decayed over
    the planned total, the round with the best validation accuracy restored."""

    width: int = 16               # the judge's is 32: 2.5x the cost per image, no better here
    batch_size: int = 64
    learning_rate: float = 2e-3
    plan_epochs: float = 20.0     # planned steps = this many epochs of the real photos,
    min_steps: int = 800          # clipped to [min_steps, max_steps]: few photos still need
    max_steps: int = 1200         # ~800 steps (~150 epochs of 330 photos) to converge
    steps_per_round: int = 50     # validation accuracy is checked after every round
    augment: bool = True          # flips and small shifts, as the judge
    precision: str = "auto"

    def __post_init__(self) -> None:
        set_fields(self, width=check_int("width", self.width, 1),
             batch_size=check_int("batch_size", self.batch_size, 1),
             learning_rate=check_float("learning_rate", self.learning_rate, 0, low_open=True),
             plan_epochs=check_float("plan_epochs", self.plan_epochs, 0, low_open=True),
             min_steps=check_int("min_steps", self.min_steps, 1),
             max_steps=check_int("max_steps", self.max_steps, 1),
             steps_per_round=check_int("steps_per_round", self.steps_per_round, 1),
             augment=check_bool("augment", self.augment),
             precision=check_precision(self.precision))
        if self.min_steps > self.max_steps:
            raise ConfigError(f"need min_steps <= max_steps, got {self.min_steps} > {self.max_steps}")

    def exactly(self, steps: int) -> "StudyClassifierConfig":
        """The same training, exactly `steps` steps whatever the number of photos (quick trials)."""
        return self.replace(min_steps=steps, max_steps=steps,
                            steps_per_round=min(self.steps_per_round, steps))

    def steps(self, n_real: int) -> int:
        return int(np.clip(round(self.plan_epochs * n_real / self.batch_size), self.min_steps,
                           self.max_steps))


def train_study_classifier(x: np.ndarray, y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                           num_classes: int, cfg: StudyClassifierConfig = StudyClassifierConfig(),
                           seed: int = 0, n_real: int | None = None,
                           sample_weight: np.ndarray | None = None, start=None):
    """(model, info): a classifier trained on (x, y), the best round on (val_x, val_y) restored.

    y: class ids, or probability rows (soft targets: then the loss is cross-entropy on them).
    n_real: how many of x are real photos (the plan's basis); all of them by default.
    sample_weight: a loss weight per image (e.g. a lower one for synthetic images).
    start: a classifier of the same shape whose weights it starts from (fine-tuning).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    rounds = -(-cfg.steps(len(x) if n_real is None else n_real) // cfg.steps_per_round)
    model = compiled_classifier(tuple(x.shape[1:]), num_classes,
                                ClassifierConfig(width=cfg.width, augment=cfg.augment,
                                                 learning_rate=cfg.learning_rate,
                                                 batch_size=cfg.batch_size,
                                                 precision=cfg.precision, seed=seed),
                                decay_steps=rounds * cfg.steps_per_round)
    if start is not None:
        model.set_weights(start.get_weights())
    soft = np.ndim(y) == 2
    if soft:   # the same loss on probability rows; validation photos as one-hot rows
        model.compile(optimizer=model.optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        val_y = np.eye(num_classes, dtype=np.float32)[np.asarray(val_y, np.int64)]
    w = np.ones(len(x), np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)
    ds = (tf.data.Dataset.from_tensor_slices((x.astype(np.float32),
                                            y.astype(np.float32 if soft else np.int32), w))
          .shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
          .batch(cfg.batch_size).prefetch(2))
    keep = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=rounds,
                                         restore_best_weights=True)
    cpu, wall = time.process_time(), time.perf_counter()
    history = model.fit(ds, steps_per_epoch=cfg.steps_per_round, epochs=rounds, shuffle=False,
                        validation_data=(val_x.astype(np.float32),
                                         val_y if soft else val_y.astype(np.int32)),
                        callbacks=[keep], verbose=0).history
    best = int(np.argmax(history["val_accuracy"]))
    return model, {"steps": rounds * cfg.steps_per_round, "best_round": best + 1,
                   "val_accuracy": float(history["val_accuracy"][best]),
                   "cpu_seconds": round(time.process_time() - cpu, 1),
                   "seconds": round(time.perf_counter() - wall, 1)}


def test_scores(model, x: np.ndarray, y: np.ndarray, rare: tuple[int, ...]) -> dict:
    """Accuracy, balanced accuracy (mean per-class recall over the classes in y), each class's
    recall, and the mean recall of the `rare` classes (those of them in y; NaN if none), on (x, y)."""
    pred = predict_proba(model, x).argmax(1)
    classes = np.unique(y)
    recall = {int(c): float(np.mean(pred[y == c] == c)) for c in classes}
    present = [recall[c] for c in rare if c in recall]
    return {"accuracy": float(np.mean(pred == y)), "balanced_accuracy": float(np.mean(list(recall.values()))),
            "rare_recall": float(np.mean(present)) if present else float("nan"),
            "recall": {str(c): r for c, r in recall.items()}}
