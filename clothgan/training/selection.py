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

#: Score keys written into the history, and whether lower is better.
SCORES = {"fid": ("val_fid", True), "consistency": ("val_consistency", False)}


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
        self.labels = val.y.astype(np.int32)
        self.noise = np.random.default_rng([seed, 0x5E1EC7]).standard_normal(
            (len(val.y), latent_dim), dtype=np.float32)

    def images(self, generator, truncation: float = 1.0) -> np.ndarray:
        """The generator's images for the fixed noise times `truncation` (see `scored_images`)."""
        return scored_images(generator, self.noise * np.float32(truncation), self.labels)

    def __call__(self, generator, truncation: float = 1.0) -> dict[str, float]:
        x = self.images(generator, truncation)
        pred = self._run(self.judge, x).argmax(1)
        return {"val_fid": fid(self.features(x), self.features.reference),
                "val_consistency": float(np.mean(pred == self.labels))}


#: Noise scales `tune_truncation` tries.
TRUNCATION_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def choose_truncation(generator, scorer: ValidationScorer, grid=TRUNCATION_GRID,
                      progress: bool = False) -> tuple[float, dict[float, dict[str, float]]]:
    """(the noise scale of `grid` with the lowest validation FID, every scale's scores)."""
    from tqdm.auto import tqdm

    if not grid or min(grid) <= 0:
        raise ConfigError(f"truncation grid must hold values > 0, got {tuple(grid)}")
    scores = {float(t): scorer(generator, t)
              for t in tqdm(grid, desc="truncation", unit="scale", disable=not progress)}
    finite = {t: v for t, v in scores.items() if np.isfinite(v["val_fid"])}
    best = min(finite, key=lambda t: finite[t]["val_fid"]) if finite else 1.0
    return best, scores


def tune_truncation(run_dir, scorer: ValidationScorer | None = None, grid=TRUNCATION_GRID,
                    which: str = "best", progress: bool = True) -> float:
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
    best, scores = choose_truncation(generator, scorer, grid, progress)
    (folder / TRUNCATION_FILE).write_text(json.dumps({
        "truncation": best, "metric": "val_fid", "judge": scorer.judge_info.key,
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
        scores = self.scorer(generator)
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
