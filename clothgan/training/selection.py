"""Keep the best generator of a run, scored on real held-out images while it trains.

A GAN's samples do not improve monotonically: FID often rises again late in training, so the
last epoch is not the one to ship. Every few epochs `BestKeeper` asks `ValidationScorer` for the
sampling generator's FID (in the judge classifier's feature space, as `clothgan evaluate`
measures it) and class consistency against the real VALIDATION split, and copies the generator
to RUN_DIR/best/ (a complete run directory) whenever the chosen score improves. The test split
stays untouched, so `clothgan evaluate` still reports an unbiased number for the kept model.

After training, `tune_truncation` picks the kept generator's noise scale the same way: it scores
the noise N(0, 1) multiplied by each value of a grid, and writes the one with the lowest
validation FID into the kept generator's run.json. Samplers use that scale unless they are
told another (the truncation trick: scaling the noise down trades variety for typical images).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from ..config import DataConfig
from ..errors import ClothganError, ConfigError
from ..core.files import check_out_dir, read_json, staged_dir
from ..core.pixels import as_saved
from ..evaluation.distances import FeatureSpace, fid
from ..gan.saved import load_generator
from ..runs import (BEST_DIR, BEST_FILE, GENERATOR_FILE, TRUNCATION_FILE, RunInfo, generator_dir,
                    read_run_info, write_run_info)
from .callbacks import NonFiniteGuard

#: Score keys written into the history, and whether lower is better. "usefulness": the
#: validation photos' accuracy under a classifier trained on the generator's images alone
#: (train-on-synthetic: variety and class information, what augmentation needs; not looks).
SCORES = {"fid": ("val_fid", True), "consistency": ("val_consistency", False),
          "usefulness": ("val_tstr", False)}
#: The usefulness score's classifier: images per validation photo, steps, width.
TSTR_PER_PHOTO, TSTR_STEPS, TSTR_WIDTH = 2, 300, 16


def scored_images(generator, noise: np.ndarray, labels: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """generator([noise, labels]) in batches, rounded to 8-bit pixels like saved PNGs, in [-1, 1]:
    the images that are scored."""
    out = [np.asarray(generator([noise[i:i + batch_size], labels[i:i + batch_size]], training=False))
           for i in range(0, len(labels), batch_size)]
    return as_saved(np.concatenate(out))


class ValidationScorer:
    """FID and class consistency of a generator's images against the real validation split.

    One generated image per validation image, with the same class, from fixed noise: the class
    mix matches and successive scores differ only because the generator changed.
    """

    def __init__(self, data: DataConfig, latent_dim: int, real=None, seed: int = 0,
                 progress: bool = True):
        from ..data.arrays import load_splits
        from ..evaluation.judge import domain_classifier, run_batched

        real = real or load_splits(data, progress=progress)
        val = real["val"]
        if len(val.x) < 2:
            raise ClothganError(f"{data.dataset}: the validation split has {len(val.x)} images; "
                             "keep_best needs at least 2 (raise val_fraction or use keep_best='none')")
        self.judge, self.judge_info = domain_classifier(data, real=real, progress=progress)
        self._run = run_batched
        # The scale-free feature space of clothgan.evaluation.evaluate, scaled by the val photos.
        self.features = FeatureSpace(self.judge, val.x)
        self.val_x = val.x
        self.labels = val.y.astype(np.int32)
        self.noise = np.random.default_rng([seed, 0x5E1EC7]).standard_normal(
            (len(val.y), latent_dim), dtype=np.float32)

    def images(self, generator, truncation: float = 1.0) -> np.ndarray:
        """The generator's images for the fixed noise times `truncation` (see `scored_images`)."""
        return scored_images(generator, self.noise * np.float32(truncation), self.labels)

    def __call__(self, generator, truncation: float = 1.0, usefulness: bool = False) -> dict[str, float]:
        x = self.images(generator, truncation)
        pred = self._run(self.judge, x).argmax(1)
        scores = {"val_fid": fid(self.features(x), self.features.reference),
                  "val_consistency": float(np.mean(pred == self.labels))}
        if usefulness:
            scores["val_tstr"] = self.usefulness(generator, truncation)
        return scores

    def usefulness(self, generator, truncation: float = 1.0, seed: int = 0) -> float:
        """`usefulness` of the generator on the validation photos."""
        return usefulness(generator, self.val_x, self.labels, int(self.judge.output_shape[-1]),
                          truncation, seed)


def usefulness(generator, val_x: np.ndarray, val_y: np.ndarray, num_classes: int,
               truncation: float = 1.0, seed: int = 0) -> float:
    """Accuracy on (val_x, val_y) of a small classifier trained TSTR_STEPS steps on
    TSTR_PER_PHOTO of the generator's images per validation photo, labelled with their classes."""
    from ..evaluation.judge import ClassifierConfig, compiled_classifier, predict_proba

    labels = np.tile(np.asarray(val_y, np.int32), TSTR_PER_PHOTO)
    noise = np.random.default_rng([seed, 0x7557]).standard_normal(
        (len(labels), int(generator.inputs[0].shape[-1])), dtype=np.float32)
    x = scored_images(generator, noise * np.float32(truncation), labels)
    keras.utils.set_random_seed(seed)
    cfg = ClassifierConfig(width=TSTR_WIDTH, seed=seed)
    clf = compiled_classifier(tuple(x.shape[1:]), num_classes, cfg, decay_steps=TSTR_STEPS)
    epochs = max(1, round(TSTR_STEPS * cfg.batch_size / len(x)))
    clf.fit(x, labels, batch_size=cfg.batch_size, epochs=epochs, shuffle=True, verbose=0)
    return float(np.mean(predict_proba(clf, val_x).argmax(1) == np.asarray(val_y)))


#: Noise scales `tune_truncation` tries; for usefulness (a classifier training each) fewer, up to none.
TRUNCATION_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
USEFUL_GRID = (0.7, 0.85, 1.0)


def choose_truncation(generator, scorer: ValidationScorer, grid=TRUNCATION_GRID,
                      progress: bool = False, metric: str = "fid"
                      ) -> tuple[float, dict[float, dict[str, float]]]:
    """(the noise scale of `grid` scoring best on the validation split by `metric` (lowest FID;
    for "usefulness" the highest train-on-synthetic accuracy), every scale's scores)."""
    from tqdm.auto import tqdm

    if not grid or min(grid) <= 0:
        raise ConfigError(f"truncation grid must hold values > 0, got {tuple(grid)}")
    key, lower = SCORES["fid" if metric == "consistency" else metric]
    extra = {"usefulness": True} if metric == "usefulness" else {}
    scores = {float(t): scorer(generator, t, **extra)
              for t in tqdm(grid, desc="truncation", unit="scale", disable=not progress)}
    finite = {t: v for t, v in scores.items() if np.isfinite(v[key])}
    if not finite:
        return 1.0, scores
    # Ties go to the larger scale: more variety at the same score.
    best = max(finite, key=lambda t: ((-finite[t][key]) if lower else finite[t][key], t))
    return best, scores


def tune_truncation(run_dir, scorer: ValidationScorer | None = None, grid=None,
                    which: str = "best", progress: bool = True, metric: str = "fid") -> float:
    """Choose a run's noise scale on the validation split and record it in its run.json.

    The generator that `which` names (see clothgan.runs.generator_dir) is scored; its folder gets
    the chosen scale in run.json and every scale's scores in truncation.json. Returns the scale.
    """
    folder = generator_dir(run_dir, which)
    generator, info = load_generator(folder)
    if scorer is None:
        data = DataConfig.from_dict(info.config["data"]) if info.config.get("data") else None
        if data is None:
            raise ClothganError(f"{folder}: run.json records no data config to score against; "
                                "pass a scorer, or use a run written by `clothgan train`")
        scorer = ValidationScorer(data, info.latent_dim, progress=progress)
    if grid is None:
        grid = USEFUL_GRID if metric == "usefulness" else TRUNCATION_GRID
    best, scores = choose_truncation(generator, scorer, grid, progress, metric)
    (folder / TRUNCATION_FILE).write_text(json.dumps({
        "truncation": best, "metric": SCORES["fid" if metric == "consistency" else metric][0], "judge": scorer.judge_info.key,
        "scores": {str(t): v for t, v in scores.items()}}, indent=2))
    write_run_info(folder, replace(read_run_info(folder), truncation=best))
    return best


def read_best(run_dir) -> dict | None:
    """RUN_DIR/best/best.json ({epoch, metric, val_fid, val_consistency, ...}) or None."""
    path = Path(run_dir) / BEST_DIR / BEST_FILE
    return read_json(path, BEST_FILE, "delete the best/ folder to keep none") if path.is_file() else None


class BestKeeper(keras.callbacks.Callback):
    """Every `every` epochs (and at the last planned one) score the sampling generator; keep the best.

    The scores go into the epoch's logs, so the history (and its checkpoint) records them.
    Must run before the callback that writes the history. `info(epoch)` returns the RunInfo
    written beside the kept generator.
    """

    def __init__(self, run_dir, scorer: ValidationScorer, export_generator, info,
                 metric: str = "fid", every: int = 5, last_epoch: int | None = None,
                 guard: NonFiniteGuard | None = None):
        super().__init__()
        if metric not in SCORES:
            raise ValueError(f"metric must be one of {', '.join(SCORES)}, got {metric!r}")
        self.run_dir = Path(run_dir)
        self.scorer = scorer
        self.export_generator = export_generator
        self.info = info
        self.metric = metric
        self.key, self.lower_is_better = SCORES[metric]
        self.every = every
        self.last_epoch = last_epoch
        self.guard = guard
        previous = read_best(self.run_dir)
        self.best = previous if previous and previous.get("metric") == metric else None

    def improves(self, value: float) -> bool:
        if self.best is None or not np.isfinite(self.best[self.key]):
            return bool(np.isfinite(value))
        old = self.best[self.key]
        return value < old if self.lower_is_better else value > old

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = done == self.last_epoch or self.model.stop_training   # e.g. a CPU budget ran out
        if (self.guard and self.guard.tripped) or (done % self.every and not last):
            return
        generator = self.export_generator(self.model.generator)
        extra = {"usefulness": True} if self.metric == "usefulness" else {}
        scores = self.scorer(generator, **extra)
        if logs is not None:
            logs.update(scores)
        if self.improves(scores[self.key]):
            self.best = {"epoch": done, "metric": self.metric, **scores,
                         "judge": self.scorer.judge_info.key}
            self.save(generator, done)

    def save(self, generator, epoch: int) -> Path:
        """Write RUN_DIR/best/ (generator.keras, run.json, best.json) as one folder swap."""
        target = self.run_dir / BEST_DIR
        with staged_dir(check_out_dir(target, overwrite=True), overwrite=True) as tmp:
            generator.save(tmp / GENERATOR_FILE)
            info: RunInfo = self.info(epoch)
            write_run_info(tmp, replace(info, epochs_done=epoch))
            (tmp / BEST_FILE).write_text(json.dumps(self.best, indent=2))
        return target
