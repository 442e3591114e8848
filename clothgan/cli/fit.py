"""`clothgan fit`: train the study's classifier on the real training photos plus a folder of
synthetic images by a recipe (clothgan.study.recipes), and score it against real photos alone."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..study.recipes import BEST
from .common import fraction, positive_int

#: The command imports TensorFlow: clothgan.cli.main imports it first, quietly.
NEEDS_TENSORFLOW = True


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--synthetic", required=True, metavar="DIR",
                        help="synthetic images as DIR/<class>/<image> (from `clothgan compose "
                             "--mode classification` or `clothgan generate`)")
    parser.add_argument("--out", required=True, metavar="MODEL.keras",
                        help="where the trained classifier is saved (a new file)")
    parser.add_argument("--recipe", default=BEST,
                        help="how the synthetic images join the photos: parts soft (the real-only "
                             "classifier's soft labels), wW (loss weight), ft (fine-tune on the "
                             "photos last), rR (synthetic per photo), '+'-joined, or plain "
                             "(default %(default)s: labels, weight 1, the study's measured recipe; "
                             "docs/experiments.md)")
    parser.add_argument("--dataset", default="clothing-full", metavar="NAME|PATH",
                        help="the real photos (default %(default)s)")
    parser.add_argument("--fraction", type=fraction, metavar="F",
                        help="train on this share of each class's training photos (seeded)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the photos drawn and the training")
    parser.add_argument("--steps", type=positive_int, metavar="N",
                        help="train exactly N steps per phase (quick trials)")
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON object")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..config import DataConfig
    from ..core.files import atomic_write
    from ..data.arrays import load_splits, select
    from ..data.folder import read_image_folder
    from ..data.inventory import scan
    from ..errors import ClothganError
    from ..study.classifier import StudyClassifierConfig, test_scores
    from ..study.recipes import Recipe, train_by_recipe
    from ..data.photos import choose_training

    out = Path(args.out)
    if out.exists():
        raise ClothganError(f"{out}: already exists; pick a new --out (nothing is overwritten)")
    if out.suffix != ".keras":
        raise ClothganError(f"{out}: the model file must end in .keras")
    recipe = Recipe.parse(args.recipe)
    data = DataConfig(dataset=args.dataset)
    real = load_splits(data, progress=sys.stderr.isatty())
    train, val, test = real["train"], real["val"], real["test"]
    if min(len(train.y), len(val.y), len(test.y)) == 0:
        raise ClothganError(f"{data.dataset}: fit needs training, validation and test photos; "
                            "this dataset lacks one of the splits")
    if args.fraction and args.fraction < 1:
        train = select(train, choose_training(scan(data).select("train"), data.classes,
                                              args.fraction, seed=args.seed))
    syn = read_image_folder(args.synthetic, data.classes, size=data.image_size, channels=data.channels)
    xs, ys = syn.x, syn.y.astype(np.int64)
    if recipe.ratio is not None:
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(ys))[:round(recipe.ratio * len(train.y))])
        xs, ys = xs[keep], ys[keep]
    cfg = StudyClassifierConfig()
    if args.steps:
        cfg = cfg.exactly(args.steps)
    counts = np.bincount(train.y, minlength=data.num_classes)
    rare = tuple(int(c) for c in np.argsort(counts, kind="stable")[:2])
    fit_args = (val.x, val.y, data.num_classes)
    alone, _ = train_by_recipe(train.x, train.y, xs[:0], ys[:0], *fit_args, Recipe(), cfg, args.seed)
    model, info = train_by_recipe(train.x, train.y, xs, ys, *fit_args, recipe, cfg, args.seed,
                                  teacher=alone)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, model.save)
    base, mine = test_scores(alone, test.x, test.y, rare), test_scores(model, test.x, test.y, rare)
    result = {"recipe": recipe.name or "plain", "photos": int(len(train.y)), "synthetic": int(len(ys)),
              "test_accuracy": mine["accuracy"], "real_only_test_accuracy": base["accuracy"],
              "gain_points": round(100 * (mine["accuracy"] - base["accuracy"]), 2),
              "balanced_accuracy": mine["balanced_accuracy"],
              "real_only_balanced_accuracy": base["balanced_accuracy"], "model": str(out),
              "cpu_seconds": info["cpu_seconds"]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"clothgan fit: {result['photos']} photos + {result['synthetic']} synthetic images, "
              f"recipe {result['recipe']}: test accuracy {mine['accuracy']:.3f} against "
              f"{base['accuracy']:.3f} for the photos alone ({result['gain_points']:+.1f} points, "
              f"one seed: the study's numbers are the paired ones) -> {out}")
    return 0
