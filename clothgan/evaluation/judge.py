"""The small CNN classifier that judges synthetic data: feature extractor, consistency and CAS.

One architecture serves every role in the evaluation: trained on real training images it is the
domain feature extractor (cached); trained on synthetic images it measures train-on-synthetic
accuracy; trained on both it measures augmentation gain.
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..config import Config, DataConfig, check_bool, check_float, check_int, check_seed, set_fields
from ..core.cache import cache_dir
from ..core.files import check_out_dir, staged_dir
from ..core.hardware import check_precision, resolve_precision
from ..errors import ConfigError

CACHE_VERSION = 2   # bump whenever the architecture or training recipe changes
FEATURES_LAYER = "features"
#: A judge this project trained with ClassifierConfig() on the default data's training split
#: (python -m clothgan.evaluation.ship_judge): used wherever that recipe meets those photos, so
#: an evaluation need not train one first (in fast mode, one trained for 3 epochs instead).
SHIPPED_JUDGE = Path(__file__).parent / "shipped_judge"
SHIPPED_WEIGHTS = "classifier.weights.h5"   # weights only: they load on every Keras 3


@dataclass(frozen=True)
class ClassifierConfig(Config):
    """How the judging classifier is built and trained."""

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    width: int = 32            # filters of the first block; doubled per block
    feature_dim: int = 128     # penultimate layer: the space FID/KID are measured in
    dropout: float = 0.1
    augment: bool = True       # random flips and shifts while training
    precision: str = "auto"    # PRECISIONS: "auto" (16-bit where the hardware has it), "mixed", "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        set_fields(self, epochs=check_int("epochs", self.epochs, 1),
                   batch_size=check_int("batch_size", self.batch_size, 1),
                   learning_rate=check_float("learning_rate", self.learning_rate, 0, low_open=True),
                   width=check_int("width", self.width, 1),
                   feature_dim=check_int("feature_dim", self.feature_dim, 1),
                   dropout=check_float("dropout", self.dropout, 0, 1, high_open=True),
                   augment=check_bool("augment", self.augment), seed=check_seed("seed", self.seed),
                   precision=check_precision(self.precision))


def build_classifier(input_shape: tuple[int, int, int], num_classes: int,
                     cfg: ClassifierConfig = ClassifierConfig()):
    """Conv blocks down to <= 7x7, flatten, a `features` dense layer, softmax over the classes."""
    import keras
    from keras import layers

    dtype = resolve_precision(cfg.precision, quiet=True)
    inputs = keras.Input(input_shape, name="image")
    h = inputs
    if cfg.augment:
        # Flips and small shifts are label-preserving for garments; active only in training.
        h = layers.RandomFlip("horizontal", seed=cfg.seed)(h)
        h = layers.RandomTranslation(0.08, 0.08, fill_mode="constant", fill_value=1.0,
                                     seed=cfg.seed)(h)
    filters, size = cfg.width, input_shape[0]
    while True:
        for _ in range(2):
            h = layers.Conv2D(filters, 3, padding="same", use_bias=False, dtype=dtype)(h)
            h = layers.BatchNormalization(momentum=0.9, dtype=dtype)(h)
            h = layers.ReLU(dtype=dtype)(h)
        if size <= 7:
            break
        h = layers.MaxPooling2D(dtype=dtype)(h)
        size = (size + 1) // 2
        filters = min(filters * 2, 256)
    h = layers.Flatten(dtype=dtype)(h)
    h = layers.Dropout(cfg.dropout, dtype=dtype)(h)
    # Features and probabilities in float32: distances and softmax need the precision.
    h = layers.Dense(cfg.feature_dim, activation="relu", name=FEATURES_LAYER)(h)
    h = layers.Dropout(cfg.dropout)(h)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(h)
    return keras.Model(inputs, outputs, name="judge_classifier")


def compiled_classifier(input_shape: tuple[int, int, int], num_classes: int,
                        cfg: ClassifierConfig, decay_steps: int):
    """build_classifier compiled with Adam, its rate cosine-decayed to zero over decay_steps."""
    import keras

    model = build_classifier(input_shape, num_classes, cfg)
    lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=decay_steps)
    optimizer = keras.optimizers.Adam(lr)
    if resolve_precision(cfg.precision, quiet=True) == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)   # float16 gradients underflow
    model.compile(optimizer=optimizer,
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _tqdm_callback(total_epochs: int, desc: str):
    import keras
    from tqdm.auto import tqdm

    class _Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total_epochs, desc=desc, unit="epoch", leave=False)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix(loss=f"{(logs or {}).get('loss', float('nan')):.3f}")
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return _Progress()


def train_classifier(x: np.ndarray, y: np.ndarray, num_classes: int,
                     cfg: ClassifierConfig = ClassifierConfig(), desc: str = "classifier",
                     progress: bool = True, sample_weight: np.ndarray | None = None):
    """A freshly trained classifier on images x (N, H, W, C) in [-1, 1] with labels y.

    sample_weight: one loss weight per image (e.g. `prior_weights`), None for equal weights.
    """
    import keras

    if len(x) == 0:
        raise ValueError("no training images")
    keras.utils.set_random_seed(cfg.seed)
    # Cosine decay to zero: a fixed-length schedule converges without a validation-driven stop.
    model = compiled_classifier(tuple(x.shape[1:]), num_classes, cfg,
                                decay_steps=cfg.epochs * -(-len(x) // cfg.batch_size))
    callbacks = [_tqdm_callback(cfg.epochs, desc)] if progress else []
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float32)
    if weights is not None and weights.shape != (len(x),):
        raise ValueError(f"sample_weight has shape {weights.shape}; expected ({len(x)},)")
    model.fit(x.astype(np.float32), y.astype(np.int32), sample_weight=weights,
              batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True, verbose=0,
              callbacks=callbacks)
    return model


def run_batched(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """model(x) in batches, eagerly: no per-model tf.function tracing (and its retracing warnings)."""
    out = [np.asarray(model(x[i:i + batch_size].astype(np.float32), training=False), np.float32)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, *model.output_shape[1:]), np.float32)


def predict_proba(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class probabilities (N, num_classes)."""
    return run_batched(model, x, batch_size)


def feature_model(model):
    """The classifier cut at its penultimate (`features`) layer."""
    import keras

    return keras.Model(model.inputs[0], model.get_layer(FEATURES_LAYER).output)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of x classified as y (nan for no images)."""
    if len(x) == 0:
        return float("nan")
    return float(np.mean(predict_proba(model, x).argmax(1) == y))


def prior_weights(y: np.ndarray, target_counts: np.ndarray) -> np.ndarray:
    """Per-image weights that give labels y the class mix of target_counts (indexed by class).

    A classifier learns the class prior of its training set; weighting synthetic images to the
    real training split's mix lets it be compared with one trained on the real split. The
    weights average 1, so the loss keeps its scale.
    """
    y = np.asarray(y)
    target = np.asarray(target_counts, np.float64)
    have = np.bincount(y, minlength=len(target)).astype(np.float64)
    present = have > 0
    if not np.any(target[present] > 0):
        raise ValueError("target_counts has no images of the classes in y")
    share = np.where(present, target / target[present].sum(), 0.0)
    per_class = np.divide(share * len(y), have, out=np.zeros_like(share), where=present)
    return per_class[y]


def balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Mean per-class recall over the classes present in y: insensitive to class imbalance."""
    classes = np.unique(y)
    if len(classes) == 0:
        return float("nan")
    return float(np.mean([np.mean(pred[y == c] == c) for c in classes]))


@dataclass(frozen=True)
class JudgeInfo:
    """The cached domain classifier: where it is and how well it does on held-out real images."""

    path: str
    key: str
    test_accuracy: float
    val_accuracy: float
    n_train: int
    n_test: int
    train_seconds: float
    cached: bool = False
    epochs: int = 0            # the recipe's (0: an entry that predates the field)
    shipped: bool = False      # the judge shipped with clothgan (SHIPPED_JUDGE)


def _fingerprint(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def judge_key(data: DataConfig, cfg: ClassifierConfig, x_train: np.ndarray, y_train: np.ndarray) -> str:
    """Cache key: data config + classifier config + the exact training arrays."""
    clf = cfg.to_dict() | {"precision": resolve_precision(cfg.precision, quiet=True)}
    payload = json.dumps({"v": CACHE_VERSION, "data": data.to_dict(), "clf": clf,
                          "train": _fingerprint(x_train, y_train)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def judge_recipe(data: DataConfig, cfg: ClassifierConfig, y_train: np.ndarray) -> dict:
    """What a shipped judge must have been trained from to stand in for a new one: the data
    config, the recipe and the training labels. Not the precision (a bfloat16 judge ranks as a
    float32 one does) nor the pixels' bytes (image decoders differ by a rounding)."""
    clf = {k: v for k, v in cfg.to_dict().items() if k != "precision"}
    return json.loads(json.dumps({"v": CACHE_VERSION, "data": data.to_dict(), "clf": clf,
                                  "labels": _fingerprint(np.asarray(y_train, np.int64))}))


def shipped_judge(data: DataConfig, cfg: ClassifierConfig, y_train: np.ndarray) -> Path | None:
    """The shipped judge's weights file when it was trained with this recipe on these labels."""
    info, model = SHIPPED_JUDGE / "info.json", SHIPPED_JUDGE / SHIPPED_WEIGHTS
    if not (info.is_file() and model.is_file()):
        return None
    return model if json.loads(info.read_text()).get("recipe") == judge_recipe(data, cfg, y_train) else None


def has_judge(data: DataConfig, cfg: ClassifierConfig, real) -> bool:
    """Whether domain_classifier would load a judge (cached or shipped) rather than train one."""
    tr = real["train"]
    folder = cache_dir("classifiers") / judge_key(data, cfg, tr.x, tr.y)
    return ((folder / "classifier.keras").is_file() and (folder / "info.json").is_file()) or \
        shipped_judge(data, cfg, tr.y) is not None


def domain_classifier(data: DataConfig, cfg: ClassifierConfig = ClassifierConfig(),
                      real=None, progress: bool = True):
    """(model, JudgeInfo): the classifier trained on the real TRAIN split, cached by config;
    the shipped one (SHIPPED_JUDGE) where its recipe and training labels are these.

    `real` may pass already loaded splits {"train": Arrays, "val": ..., "test": ...}.
    """
    import keras

    from ..data.arrays import load_splits

    real = real or load_splits(data, progress=progress)
    tr, va, te = real["train"], real["val"], real["test"]
    key = judge_key(data, cfg, tr.x, tr.y)
    folder = cache_dir("classifiers") / key
    model_path, info_path = folder / "classifier.keras", folder / "info.json"
    if model_path.is_file() and info_path.is_file():
        d = json.loads(info_path.read_text())
        d.update(path=str(model_path), cached=True)
        return keras.saving.load_model(model_path), JudgeInfo(**d)
    shipped = shipped_judge(data, cfg, tr.y)
    if shipped is not None:
        model = build_classifier(tuple(tr.x.shape[1:]), data.num_classes, cfg)
        model.load_weights(shipped)
        return model, JudgeInfo(path=str(shipped), key=key, test_accuracy=accuracy(model, te.x, te.y),
                                val_accuracy=accuracy(model, va.x, va.y), n_train=len(tr.x),
                                n_test=len(te.x), train_seconds=0.0, cached=True,
                                epochs=cfg.epochs, shipped=True)
    t0 = time.perf_counter()
    model = train_classifier(tr.x, tr.y, data.num_classes, cfg, desc="judge classifier (real train)",
                             progress=progress)
    seconds = time.perf_counter() - t0
    info = JudgeInfo(path=str(model_path), key=key, test_accuracy=accuracy(model, te.x, te.y),
                     val_accuracy=accuracy(model, va.x, va.y), n_train=len(tr.x), n_test=len(te.x),
                     train_seconds=round(seconds, 2), epochs=cfg.epochs)
    # Staged, then renamed: a killed run never leaves a half cache entry.
    try:
        with staged_dir(check_out_dir(folder, overwrite=True), overwrite=True, wait=True) as tmp:
            model.save(tmp / "classifier.keras")
            (tmp / "info.json").write_text(json.dumps(asdict(info), indent=2))
    except OSError as exc:   # e.g. a full disk: the trained judge still scores this run
        warnings.warn(f"{folder}: could not cache the judge classifier ({exc.strerror or exc}); "
                      "it is trained again next time", stacklevel=2)
    return model, info
