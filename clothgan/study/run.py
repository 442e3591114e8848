"""An augmentation study, cell by cell: for each fraction and seed, the real photos of that
fraction, the images each method adds, one classifier per method, scored on the real test split.

Everything a cell needs is kept in the study folder, so an interrupted study resumes where it
stopped and finished cells are never redone:

    DIR/study.json                the settings every cell shares
    DIR/cells/f0.1-s0-gan.json    one finished cell: its scores, what it added, what it cost
    DIR/generators/f0.1-s0/       the generator trained on that fraction (a run directory)
    DIR/synthetic/f0.1-s0-gan.npz the images a method made (8-bit), reused by "both"
    DIR/models/f0.1-s0-none.keras the real-only classifier (it also filters generated images)
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import DEFAULT_PRESET, DataConfig, GANConfig, TrainConfig, preset
from ..core.files import atomic_write, output_lock, read_json, writable_dir, write_json_atomic
from ..core.pixels import to_float, to_uint8
from ..errors import ClothganError
from ..runs import code_version
from .classifier import test_scores, train_study_classifier
from .config import StudyConfig
from .recipes import Recipe, split_method, train_by_recipe
from . import sources

SETTINGS_FILE = "study.json"
#: Below this many photos a generator trains with the small-data recipe (preset "small-data").
SMALL_DATA = 1500
#: A generator's epoch is made at least this many steps long (TrainConfig.repeat).
MIN_EPOCH_STEPS = 100
#: CPU-seconds per classifier step, measured on the CPU this study was developed on (bench/).
STEP_CPU_SECONDS = 0.045
#: CPU-seconds to extract one uncached garment (GrabCut); cached masks cost a tenth of that.
EXTRACT_CPU_SECONDS = 1.0


def cell_name(fraction: float, seed: int, method: str) -> str:
    return f"f{fraction:g}-s{seed}-{method}"


def gan_recipe(n_images: int, seed: int, name: str = "auto") -> tuple[GANConfig, TrainConfig]:
    """The generator recipe the study trains on n_images photos: preset `name`, or for "auto"
    the default preset, the small-data one below SMALL_DATA photos; epochs of at least
    MIN_EPOCH_STEPS steps. The study's CPU budget, not the epoch count, ends the training."""
    if name == "auto":
        name = "small-data" if n_images < SMALL_DATA else DEFAULT_PRESET
    model, training = preset(name)
    steps = max(1, n_images // training.real_per_step)
    return model, training.replace(seed=seed, epochs=100_000, sample_every=10,
                                   repeat=max(1, round(MIN_EPOCH_STEPS / steps)))


@dataclass
class Subset:
    """The real photos of one fraction and seed."""

    fraction: float
    seed: int
    records: list          # data.inventory.Record, sorted by path
    mask: np.ndarray       # over the training split's arrays
    x: np.ndarray
    y: np.ndarray

    def tag(self) -> str:
        return f"f{self.fraction:g}-s{self.seed}"


class Study:
    """One study folder: `run()` fills in the missing cells and returns the summary."""

    def __init__(self, out: str | os.PathLike, cfg: StudyConfig = StudyConfig(),
                 data: DataConfig = DataConfig(), progress: bool = True, log=print):
        if not isinstance(cfg, StudyConfig) or not isinstance(data, DataConfig):
            raise ClothganError(f"expected a StudyConfig and a DataConfig, got {cfg!r}, {data!r}")
        self.out, self.cfg, self.data, self.progress, self.log = Path(out), cfg, data, progress, log

    # -- the folder -----------------------------------------------------------------------------
    def cell_path(self, fraction: float, seed: int, method: str) -> Path:
        return self.out / "cells" / f"{cell_name(fraction, seed, method)}.json"

    def cells(self) -> list[tuple[float, int, str]]:
        """Every (fraction, seed, method) of the config; "none" first: the others pair with it."""
        methods = ["none"] + [m for m in self.cfg.methods if m != "none"]
        return [(f, s, m) for f in self.cfg.fractions for s in range(self.cfg.seeds) for m in methods]

    def done_cells(self) -> list[dict]:
        """The finished cells in the folder (of any fraction, seed or method)."""
        folder = self.out / "cells"
        return [read_json(p, "study cell") for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def _check_settings(self) -> None:
        path = self.out / SETTINGS_FILE
        mine = {"data": self.data.to_dict(), "settings": self.cfg.settings()}
        if path.is_file():
            saved = read_json(path, "study settings", "pick a new --out")
            old = {"data": saved.get("data"), "settings": saved.get("settings")}
            if json.loads(json.dumps(old)) != json.loads(json.dumps(mine)):
                diff = [k for k in mine["settings"] if saved.get("settings", {}).get(k) !=
                        json.loads(json.dumps(mine["settings"][k]))]
                raise ClothganError(f"{self.out}: a study with other settings ({', '.join(diff) or 'data'}); "
                                    "rerun it with the same ones, or pick a new --out")
            return
        writable_dir(self.out)
        write_json_atomic(path, {**mine, "code": code_version()}, indent=2)

    # -- cost ---------------------------------------------------------------------------------
    def plan(self, train_counts: np.ndarray) -> dict:
        """What is left to run and about how much CPU it takes (before anything runs)."""
        todo = [c for c in self.cells() if not self.cell_path(*c).is_file()]
        n_real = {f: int(sum(max(1, round(f * n)) for n in train_counts if n)) for f in self.cfg.fractions}
        steps = sum(self.cfg.classifier.steps(n_real[f]) * (2 if split_method(m)[1].finetune else 1)
                    for f, _, m in todo if not (m == "oracle" and f >= 1.0))
        gens = {(f, s, g) for f, s, m in todo for g in [_generator_tag(split_method(m)[0])]
                if g is not None and not (f >= 1 and self.cfg.full_generator == "pretrained")
                and not (self.out / "generators" / f"f{f:g}-s{s}{g}" / "study_done.json").is_file()}
        photos = sum(n_real[f] for f, s in {(f, s) for f, s, m in todo
                                            if split_method(m)[0] in ("cutpaste", "both")})
        cpu = {"classifiers": steps * STEP_CPU_SECONDS / 60, "generators": len(gens) * self.cfg.gan_minutes,
               "extraction": photos * EXTRACT_CPU_SECONDS / 60}
        return {"cells": len(self.cells()), "todo": len(todo), "classifier_steps": steps,
                "generators": len(gens), "cpu_minutes": {k: round(v, 1) for k, v in cpu.items()},
                "total_cpu_minutes": round(sum(cpu.values()), 1)}

    # -- running ------------------------------------------------------------------------------
    def _load(self):
        """(inventory, training split, its class counts); keeps the held-out splits and the rare
        classes for the cells."""
        from ..data.arrays import load_splits
        from ..data.inventory import scan

        self._check_settings()
        inv = scan(self.data)
        self.root = inv.root
        real = load_splits(self.data, progress=self.progress)
        train, self.val, self.test = real["train"], real["val"], real["test"]
        if min(len(train.y), len(self.val.y), len(self.test.y)) == 0:
            raise ClothganError(f"{self.data.dataset}: a study needs training, validation and test "
                                "photos; this dataset lacks one of the splits")
        counts = np.bincount(train.y, minlength=self.data.num_classes)
        missing = [c for c, n in zip(self.data.classes, counts) if n == 0]
        if missing:
            # They would be the "rare" classes (scored NaN) and the noise images' extra labels.
            have = [c for c in self.data.classes if c not in missing]
            raise ClothganError(f"{self.data.dataset}: no training photos of {', '.join(missing)}; "
                                f"study the classes it has with --classes {','.join(have)}")
        self.rare = tuple(int(c) for c in np.argsort(counts, kind="stable")[:2])
        return inv, train, counts

    def cell(self, fraction: float, seed: int, method: str) -> dict:
        """One cell's row: read from the folder when finished, else run now and kept there, so
        that a later run() does not train it again."""
        path = self.cell_path(fraction, seed, method)
        if not path.is_file():
            with output_lock(self.out):
                inv, train, _ = self._load()
                row = self._cell(self._subset(inv, train, fraction, seed), train, method)
                write_json_atomic(path, row, indent=1)
        return read_json(path, "study cell")

    def added(self, fraction: float, seed: int, method: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y): the images "gan" or "cutpaste" adds to the photos of (fraction, seed), made
        once and kept in DIR/synthetic/, where that method's cell finds them."""
        if method not in ("gan", "cutpaste"):
            raise ClothganError(f"{method!r} adds no images of its own; ask for 'gan' or 'cutpaste'")
        with output_lock(self.out):
            inv, train, _ = self._load()
            sub = self._subset(inv, train, fraction, seed)
            x, y, _ = self._synthetic(sub, method, self._counts(sub))
        return x, y

    def run(self) -> list[dict]:
        with output_lock(self.out):   # one process fills a study folder (a second is refused)
            return self._run()

    def _run(self) -> list[dict]:
        from tqdm.auto import tqdm

        inv, train, counts = self._load()
        plan = self.plan(counts)
        cpu = plan["cpu_minutes"]
        self.log(f"clothgan study: {plan['todo']} of {plan['cells']} cells to run; about "
                 f"{plan['total_cpu_minutes']:.0f} CPU-minutes: {cpu['classifiers']:.0f} of classifier "
                 f"training ({plan['classifier_steps']} steps), {plan['generators']} generator(s) x "
                 f"{self.cfg.gan_minutes:g}, up to {cpu['extraction']:.0f} of garment extraction "
                 f"(cached masks are much cheaper) -> {self.out}")
        todo = [c for c in self.cells() if not self.cell_path(*c).is_file()]
        if (self.cfg.full_generator == "pretrained"
                and any(f == 1.0 and _generator_tag(split_method(m)[0]) is not None
                        for f, _, m in todo)):
            self._shipped()        # refuses other data before any training, not halfway through
        bar = tqdm(total=len(todo), desc="study cells", unit="cell", disable=not self.progress)
        by_subset: dict[tuple[float, int], list[str]] = {}
        for f, s, m in todo:
            by_subset.setdefault((f, s), []).append(m)
        for (f, s), methods in by_subset.items():
            sub = self._subset(inv, train, f, s)
            for m in methods:
                bar.set_postfix_str(cell_name(f, s, m))
                row = self._cell(sub, train, m)
                write_json_atomic(self.cell_path(f, s, m), row, indent=1)
                bar.update(1)
                self.log(_line(row, self._baseline(f, s)))
        bar.close()
        return self.done_cells()

    def _subset(self, inv, train, fraction: float, seed: int) -> Subset:
        from ..data.arrays import select
        from ..data.photos import choose_training

        records = choose_training(inv.select("train"), self.data.classes, fraction, seed=seed)
        mask = np.isin(np.array(train.paths), [r.path for r in records])
        part = select(train, records)
        return Subset(fraction, seed, records, mask, part.x, part.y)

    def _baseline(self, fraction: float, seed: int) -> dict | None:
        path = self.cell_path(fraction, seed, "none")
        return read_json(path, "study cell") if path.is_file() else None

    def _counts(self, sub: Subset, ratio: float | None = None) -> np.ndarray:
        have = np.bincount(sub.y, minlength=self.data.num_classes)
        return sources.class_counts(have, round((ratio or self.cfg.ratio) * len(sub.y)), self.cfg.balance)

    def _recipe(self, method: str) -> tuple[str, Recipe]:
        """(source, recipe) of a method; the study's synthetic_weight unless the method sets one."""
        source, recipe = split_method(method)
        return source, (recipe.replace(weight=self.cfg.synthetic_weight) if recipe.weight == 1 else recipe)

    def _fit(self, sub: Subset, recipe: Recipe, added):
        """The cell's classifier, trained by the recipe's phases on the subset and the added images."""
        ax, ay = added if added is not None else (sub.x[:0], sub.y[:0])
        teacher = None
        if recipe.soft:
            path = self._model_path(sub)
            if not path.is_file():
                raise ClothganError(f"{path}: the real-only classifier that gives soft labels is "
                                    "missing; delete the folder's cells of this fraction and seed and rerun")
            import keras

            teacher = keras.saving.load_model(path)
        return train_by_recipe(sub.x, sub.y, ax, ay, self.val.x, self.val.y, self.data.num_classes,
                               recipe, self.cfg.classifier, sub.seed, teacher, train_study_classifier)

    def _cell(self, sub: Subset, train, method: str) -> dict:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        row = {"fraction": sub.fraction, "seed": sub.seed, "method": method, "n_real": int(len(sub.y))}
        if method == "oracle" and not np.any(~sub.mask):
            return {**row, "skipped": "the fraction leaves no unseen training photos"}
        source, recipe = self._recipe(method)
        if source == "oracle":
            recipe = Recipe()       # real photos: weight 1, their own labels
        added, info = self._added(sub, train, source, recipe.ratio)
        model, fit = self._fit(sub, recipe, added)
        y = sub.y if added is None else np.concatenate([sub.y, added[1]])
        if recipe.name:
            row["recipe"] = recipe.to_dict()
        if method == "none":
            path = self._model_path(sub)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, model.save)
        scores = test_scores(model, self.test.x, self.test.y, self.rare)
        names = self.data.classes
        row.update(n_added=int(len(y) - len(sub.y)),
                   added_per_class={names[c]: int(n) for c, n in
                                    enumerate(np.bincount(y[len(sub.y):], minlength=len(names)))},
                   accuracy=scores["accuracy"], balanced_accuracy=scores["balanced_accuracy"],
                   rare_recall=scores["rare_recall"],
                   recall={names[int(c)]: r for c, r in scores["recall"].items()},
                   rare_classes=[names[c] for c in self.rare], classifier=fit, source=info,
                   cpu_seconds=round(time.process_time() - cpu0, 1),
                   seconds=round(time.perf_counter() - wall0, 1))
        return row

    def _model_path(self, sub: Subset) -> Path:
        return self.out / "models" / f"{sub.tag()}-none.keras"

    def _added(self, sub: Subset, train, method: str, ratio: float | None = None):
        """((x, y) to add or None, what made them); `ratio` instead of the study's."""
        counts = self._counts(sub, ratio)
        if method == "none":
            return None, {}
        if method == "oracle":
            idx = sources.oracle_photos(train.y, sub.mask, counts, sub.seed)
            return (train.x[idx], train.y[idx]), {"photos": int(len(idx))}
        if method == "noise":
            shape = (self.data.image_size, self.data.image_size, self.data.channels)
            return sources.noise_images(counts, shape, sub.seed)[:2], {}
        if method == "both":
            gx, gy, ginfo = self._synthetic(sub, "gan", counts, ratio)   # the generator as before
            cx, cy, cinfo = self._synthetic(sub, "cutpaste", counts, ratio)
            half = counts // 2   # the odd image of a class goes to the GAN
            keep_g = np.concatenate([np.flatnonzero(gy == c)[:n - half[c]] for c, n in enumerate(counts)])
            keep_c = np.concatenate([np.flatnonzero(cy == c)[:half[c]] for c in range(len(counts))])
            return ((np.concatenate([gx[keep_g], cx[keep_c]]), np.concatenate([gy[keep_g], cy[keep_c]])),
                    {"gan": ginfo, "cutpaste": cinfo})
        x, y, info = self._synthetic(sub, method, counts, ratio)
        return (x, y), info

    def _synthetic(self, sub: Subset, method: str, counts: np.ndarray, ratio: float | None = None):
        """A method's full set for the subset (made once, kept in DIR/synthetic/)."""
        other = f"-r{ratio:g}" if ratio and ratio != self.cfg.ratio else ""
        path = self.out / "synthetic" / f"{sub.tag()}-{method}{other}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as z:
                return to_float(z["x"]), z["y"].astype(np.int64), json.loads(str(z["info"]))
        t0 = time.process_time()
        if method.startswith("gan"):
            x, y, info = self._generated(sub, counts, useful=method == "gan-useful")
        else:
            x, y, info = self._cut_and_paste(sub, counts)
        info["cpu_seconds"] = round(time.process_time() - t0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, x=to_uint8(x), y=y, info=json.dumps(info))

        atomic_write(path, write)
        return x, y, info

    def _generated(self, sub: Subset, counts: np.ndarray, useful: bool = False):
        import keras

        run, made = self._generator(sub, useful)
        truncation = None
        if useful and "pretrained" in made:   # the shipped generator: its scale chosen for use
            from .useful import useful_scale

            truncation, made["usefulness"] = useful_scale(run, self.val.x, self.val.y,
                                                          self.data.num_classes,
                                                          self.out / "generators" / "pretrained-useful.json")
        if self.cfg.gan_filter == "gold" and not (run / "checkpoint.npz").is_file():
            raise ClothganError(f"{run}: the gold filter needs the run's discriminator "
                                "(checkpoint.npz), which a shipped generator does not include")
        judge = thresholds = None
        if self.cfg.gan_filter == "judge":
            path = self._model_path(sub)
            if not path.is_file():
                raise ClothganError(f"{path}: the real-only classifier that filters generated "
                                    "images is missing; delete the folder's cells of this "
                                    "fraction and seed and rerun")
            judge = keras.saving.load_model(path)
            thresholds = sources.filter_thresholds(judge, self.val.x, self.val.y,
                                                   self.data.num_classes, self.cfg.filter_quantile)
        x, y, info = sources.generated_images(run, counts, sub.seed, self.cfg.gan_filter,
                                              self.cfg.gan_candidates, judge, thresholds, truncation)
        if thresholds is not None:
            info["thresholds"] = [round(float(t), 4) for t in thresholds]
        info["generator_run"] = made
        return x, y, info

    def _shipped(self) -> tuple[Path, dict]:
        """The default preset's shipped generator, if it was trained on this study's data."""
        from ..pretrained import pretrained_dir, provenance
        from ..runs import read_run_info

        run = pretrained_dir(DEFAULT_PRESET)
        config = read_run_info(run).config
        if (config.get("data") != json.loads(json.dumps(self.data.to_dict()))
                or config.get("fraction") or config.get("max_images")):
            raise ClothganError(f"the shipped {DEFAULT_PRESET} generator was trained on other data "
                                f"than {self.data.dataset}'s whole training split; run the study "
                                "with --full-generator train (full_generator='train')")
        p = provenance(DEFAULT_PRESET)
        return run, {"pretrained": DEFAULT_PRESET, "command": p.get("command"),
                     "epochs": (p.get("training") or {}).get("epochs_done")}

    def _generator(self, sub: Subset, useful: bool = False) -> tuple[Path, dict]:
        """(run directory, how it was made): the generator trained on the subset's photos for
        the study's CPU budget, or at fraction 1 the shipped one (full_generator). useful: kept
        by train-on-synthetic accuracy on the validation photos and its noise scale chosen so
        (clothgan.training.selection.usefulness), trained on the photos plus the cell's own
        cut-and-paste images (the variety of pose and place the few photos lack)."""
        from ..runs import RUN_FILE
        from ..training import train
        from ..training.checkpoint import CHECKPOINT_FILE
        from ..data.photos import read_train_images

        if sub.fraction >= 1 and self.cfg.full_generator == "pretrained":
            return self._shipped()
        run = self.out / "generators" / f"{sub.tag()}{_generator_tag('gan-useful' if useful else 'gan')}"
        done = run / "study_done.json"
        if done.is_file():
            return run, read_json(done, "study generator")
        resume = (run / CHECKPOINT_FILE).is_file() and (run / RUN_FILE).is_file()
        model, training = gan_recipe(len(sub.y), sub.seed, self.cfg.gan_preset)
        extra = None
        if useful:
            model, training = model.replace(tune_truncation=True), training.replace(keep_best="usefulness")
            cx, cy, _ = self._synthetic(sub, "cutpaste", self._counts(sub, 1.0), 1.0)
            extra = (cx, cy)
        self.log(f"training a generator on {len(sub.y)} photos ({sub.tag()}) for "
                 f"{self.cfg.gan_minutes:g} CPU-minutes -> {run}")
        cpu0 = time.process_time()
        if resume:
            result = train(run, self.data, resume=True, cpu_minutes=self.cfg.gan_minutes,
                           progress=self.progress, verbose=False, extra=extra)
        else:
            result = train(run, self.data, model, training, fraction=sub.fraction,
                           cpu_minutes=self.cfg.gan_minutes, progress=self.progress, verbose=False,
                           extra=extra)
        listed = set(read_train_images(run) or [])
        mine = {os.path.relpath(r.path, self.root) for r in sub.records}
        if listed != mine:
            raise ClothganError(f"{run}: the generator trained on other photos than the study's "
                                f"{sub.tag()} ({len(listed)} against {len(mine)}); delete it and rerun")
        summary = {"epochs": result.epochs_done, "preset": model.preset, "kept_by": training.keep_best,
                   "extra_images": 0 if extra is None else len(extra[1]),
                   "repeat": training.repeat, "truncation": result.truncation,
                   "cpu_minutes": round((time.process_time() - cpu0) / 60, 2)}
        write_json_atomic(done, summary, indent=1)
        return run, summary

    def _cut_and_paste(self, sub: Subset, counts: np.ndarray):
        from ..cutpaste.compose import build_bank
        from ..cutpaste.config import ComposeConfig, ExtractConfig

        bank, report = build_bank(sub.records, ExtractConfig(), 320, self.data.classes,
                                  progress=self.progress)
        size, ch = self.data.image_size, self.data.channels
        if self.cfg.cutpaste == "framed":
            from ..cutpaste.framed import build_frames, framed_images

            frames = build_frames(sub.records, ExtractConfig(), self.cfg.frame,
                                  classes=self.data.classes, progress=self.progress)
            x8, y = framed_images(bank, frames, counts, sub.seed, size, ch, self.cfg.frame)
            info = {"style": "framed", "garments": len(bank), "frames": len(frames)}
        else:
            from ..cutpaste.backgrounds import Backgrounds
            from ..cutpaste.compose import compose_single, render_size

            cfg = ComposeConfig.for_classification(size, ch)
            backs = Backgrounds(render_size(cfg), None, sub.seed, cfg.procedural_pool).prepare()
            x8, y = [], []
            for c, n in enumerate(counts):
                for i in range(int(n)):
                    img, _, _ = compose_single(np.random.default_rng([sub.seed, c, i, 0xC7]), bank,
                                               backs, cfg, c)
                    x8.append(img.reshape(size, size, ch))
                    y.append(c)
            x8, y = np.stack(x8), np.array(y, np.int64)
            info = {"style": "procedural", "garments": len(bank)}
        info["extraction_failed"] = len(report.failed)
        return to_float(x8), y, info


def _generator_tag(source: str) -> str | None:
    """The suffix of a source's generator folder (None: the source needs no generator)."""
    return {"gan": "", "both": "", "gan-useful": "-useful"}.get(source)


def _line(row: dict, base: dict | None) -> str:
    name = cell_name(row["fraction"], row["seed"], row["method"])
    if "skipped" in row:
        return f"{name}: skipped ({row['skipped']})"
    gain = ""
    if base is not None and row["method"] != "none":
        gain = f" ({100 * (row['accuracy'] - base['accuracy']):+.1f} points against real only)"
    return (f"{name}: test accuracy {row['accuracy']:.3f}{gain}, balanced {row['balanced_accuracy']:.3f}, "
            f"+{row['n_added']} images, {row['cpu_seconds']:.0f} CPU-s")
