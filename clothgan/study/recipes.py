"""How synthetic images join the real photos in a classifier's training: a recipe.

A study method is a source of images with recipe parts after "+": `cutpaste+soft+w0.5` is cut and
paste with soft labels and loss weight 0.5. The parts:

    soft, softA   the target of a synthetic image is A x the real-only classifier's (the teacher's)
                  probabilities + (1 - A) x its own label (knowledge distillation; soft = soft0.5)
    wW            loss weight W for synthetic images (a photo weighs 1)
    ft            train on the synthetic images alone, then fine-tune on the real photos alone
    rR            R synthetic images per real photo instead of the study's ratio

The same phases serve the study (clothgan.study.run) and a user's own Keras model (`augment_fit`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..errors import ClothganError, ConfigError

#: Sources of images a recipe may be applied to (the controls and real-only take none).
SOURCES = ("gan", "gan-useful", "cutpaste", "both")
#: The default recipe: labels, weight 1, the caller's ratio. Over 5 seeds no recipe beat it beyond
#: the seeds' spread at 10 % of the photos (docs/experiments.md, "Recipes for synthetic images").
BEST = "plain"
#: The learning rate of the fine-tuning phase, as a share of the recipe's first phase.
FINETUNE_RATE = 0.5


@dataclass(frozen=True)
class Recipe(Config):
    """soft: the teacher's share in a synthetic image's target (0: its label alone). weight: its
    loss weight. finetune: synthetic alone first, then the real photos alone. ratio: synthetic
    images per real photo (None: whatever the caller has)."""

    soft: float = 0.0
    weight: float = 1.0
    finetune: bool = False
    ratio: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.soft <= 1 or self.weight <= 0 or (self.ratio is not None and self.ratio <= 0):
            raise ConfigError(f"recipe {self.name or 'plain'}: need 0 <= soft <= 1, weight > 0, ratio > 0")

    @property
    def name(self) -> str:
        """The recipe's parts, "+"-joined ("" for the plain one: labels, weight 1, one phase)."""
        parts = []
        if self.soft:
            parts.append("soft" if self.soft == 0.5 else f"soft{self.soft:g}")
        if self.weight != 1:
            parts.append(f"w{self.weight:g}")
        if self.finetune:
            parts.append("ft")
        if self.ratio is not None:
            parts.append(f"r{self.ratio:g}")
        return "+".join(parts)

    @classmethod
    def parse(cls, text: str) -> "Recipe":
        """A recipe from its parts, "+"-joined (see the module); "" or "plain" for the plain one."""
        kw: dict = {}
        for part in filter(None, text.split("+")):
            if part == "plain":
                continue
            try:
                if part == "ft":
                    kw["finetune"] = True
                elif part.startswith("soft"):
                    kw["soft"] = float(part[4:]) if part[4:] else 0.5
                elif part[0] == "w":
                    kw["weight"] = float(part[1:])
                elif part[0] == "r":
                    kw["ratio"] = float(part[1:])
                else:
                    raise ValueError(part)
            except (ValueError, IndexError):
                raise ConfigError(f"recipe part {part!r} unknown; use soft, softA, wW, ft or rR "
                                  "(e.g. cutpaste+soft+w0.5)") from None
        return cls(**kw)


def split_method(method: str) -> tuple[str, Recipe]:
    """("cutpaste", Recipe(soft=0.5)) from "cutpaste+soft"; a recipe only after a source."""
    source, _, rest = method.partition("+")
    if rest and source not in SOURCES:
        raise ConfigError(f"{method}: a recipe applies to {', '.join(SOURCES)} only")
    return source, Recipe.parse(rest)


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y, np.int64)]


def synthetic_targets(y: np.ndarray, num_classes: int, soft: float,
                      teacher_probs: np.ndarray | None = None) -> np.ndarray:
    """Targets of synthetic images: one-hot labels, mixed with the teacher's probabilities
    (their share `soft`); probability rows either way."""
    target = one_hot(y, num_classes)
    if soft:
        if teacher_probs is None or teacher_probs.shape != target.shape:
            raise ValueError("soft labels need the teacher's probabilities, one row per image")
        target = (1 - soft) * target + soft * np.asarray(teacher_probs, np.float32)
    return target


@dataclass
class Phase:
    """One training phase: images, their targets (class ids or probability rows), loss weights."""

    x: np.ndarray
    targets: np.ndarray
    weight: np.ndarray
    real: int                 # how many of x (the first ones) are real photos
    learning_rate_scale: float = 1.0


def phases(recipe: Recipe, x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray,
           y_syn: np.ndarray, num_classes: int, teacher=None) -> list[Phase]:
    """The recipe's training phases: real + synthetic in one, or (finetune) synthetic alone,
    then the real photos alone at FINETUNE_RATE of the rate. `teacher` (a Keras model giving
    probabilities) labels the synthetic images when the recipe has soft labels. Targets are
    probability rows when any target is soft, else class ids."""
    from ..evaluation.judge import predict_proba

    if recipe.soft and teacher is None:
        raise ClothganError(f"recipe {recipe.name}: soft labels need a teacher (a classifier "
                            "trained on the real photos alone)")
    soft = bool(recipe.soft) and len(x_syn) > 0
    probs = predict_proba(teacher, x_syn) if soft else None
    t_syn = synthetic_targets(y_syn, num_classes, recipe.soft, probs) if soft else np.asarray(y_syn)
    t_real = one_hot(y_real, num_classes) if soft else np.asarray(y_real)
    w_syn = np.full(len(x_syn), recipe.weight, np.float32)
    w_real = np.ones(len(x_real), np.float32)
    if recipe.finetune and len(x_syn):
        return [Phase(x_syn, t_syn, w_syn, 0),
                Phase(x_real, t_real, w_real, len(x_real), FINETUNE_RATE)]
    return [Phase(np.concatenate([x_real, x_syn]), np.concatenate([t_real, t_syn]),
                  np.concatenate([w_real, w_syn]), len(x_real))]


def train_by_recipe(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray,
                    val_x: np.ndarray, val_y: np.ndarray, num_classes: int, recipe: Recipe,
                    cfg=None, seed: int = 0, teacher=None, train=None):
    """(model, info): the study's classifier (clothgan.study.classifier) trained by the recipe's
    phases, each planned by the number of real photos, the best validation round kept.
    `train`: the training function (default train_study_classifier)."""
    from .classifier import StudyClassifierConfig, train_study_classifier

    cfg, train = cfg or StudyClassifierConfig(), train or train_study_classifier
    model, fits = None, []
    for phase in phases(recipe, x_real, y_real, x_syn, y_syn, num_classes, teacher):
        clf = cfg.replace(learning_rate=cfg.learning_rate * phase.learning_rate_scale)
        model, fit = train(phase.x, phase.targets, val_x, val_y, num_classes, clf, seed=seed,
                           n_real=len(y_real), sample_weight=phase.weight, start=model)
        fits.append(fit)
    info = dict(fits[-1])
    if len(fits) > 1:
        info.update(phases=fits, cpu_seconds=round(sum(f["cpu_seconds"] for f in fits), 1),
                    steps=sum(f["steps"] for f in fits))
    return model, info


def augment_fit(model, x_real: np.ndarray, y_real: np.ndarray, synthetic, recipe: str | Recipe = BEST,
                num_classes: int | None = None, classes: list[str] | None = None,
                validation_data=None, epochs: int = 30, batch_size: int = 64,
                learning_rate: float = 1e-3, teacher=None, seed: int = 0, verbose: int = 0):
    """Train a Keras classifier (softmax outputs) on real photos plus synthetic images by a recipe;
    returns the model. `synthetic`: (x, y) arrays in [-1, 1] or a <class>/<image> folder
    (then `classes` names its folders, in label order). recipe: a Recipe or its name ("soft", "w0.5+ft", ...;
    BEST by default). With soft labels and no `teacher`, a copy of the model is first trained on
    the real photos alone for the same epochs and labels the synthetic images. The model is
    compiled here (Adam, cross-entropy on probability rows); every phase trains `epochs` epochs.
    """
    import keras

    recipe = Recipe.parse(recipe) if isinstance(recipe, str) else recipe
    x_real = np.asarray(x_real, np.float32)
    if num_classes is None:
        num_classes = len(classes) if classes else int(model.output_shape[-1])
    if isinstance(synthetic, (tuple, list)):
        x_syn, y_syn = np.asarray(synthetic[0], np.float32), np.asarray(synthetic[1], np.int64)
    else:
        if not classes:
            raise ClothganError("augment_fit: a folder of synthetic images needs `classes`, "
                                "the class folder names in label order")
        from ..data.folder import read_image_folder

        found = read_image_folder(synthetic, classes, size=x_real.shape[1], channels=x_real.shape[3])
        x_syn, y_syn = found.x.astype(np.float32), found.y.astype(np.int64)
    if recipe.ratio is not None:
        keep = np.random.default_rng(seed).permutation(len(x_syn))[:round(recipe.ratio * len(x_real))]
        x_syn, y_syn = x_syn[np.sort(keep)], y_syn[np.sort(keep)]
    keras.utils.set_random_seed(seed)

    def fit(net, phase_list):
        for p in phase_list:
            targets = (p.targets if p.targets.ndim == 2 else one_hot(p.targets, num_classes))
            net.compile(optimizer=keras.optimizers.Adam(learning_rate * p.learning_rate_scale),
                        loss="categorical_crossentropy", metrics=["accuracy"])
            val = None
            if validation_data is not None:
                val = (np.asarray(validation_data[0], np.float32),
                       one_hot(validation_data[1], num_classes))
            net.fit(p.x, targets, sample_weight=p.weight, epochs=epochs, batch_size=batch_size,
                    validation_data=val, shuffle=True, verbose=verbose)
        return net

    if recipe.soft and teacher is None:
        teacher = keras.models.clone_model(model)
        fit(teacher, phases(Recipe(), x_real, y_real, x_real[:0], y_real[:0], num_classes))
    return fit(model, phases(recipe, x_real, y_real, x_syn, y_syn, num_classes, teacher))
