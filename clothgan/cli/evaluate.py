"""`clothgan evaluate`: score a labelled synthetic image folder against real held-out images."""
from __future__ import annotations

import argparse
import json
import sys

from ..config import CLASS_MIXES
from .common import comma_list, positive_int, seed

_SKIPPABLE = ("cas", "augmentation", "memorisation")


#: The command imports TensorFlow: clothgan.cli.main imports it first, quietly.
NEEDS_TENSORFLOW = True

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", required=True, metavar="DIR",
                        help="synthetic images as DIR/<class>/<name>.png (from `clothgan generate` "
                             "or `clothgan compose --mode classification`)")
    parser.add_argument("--dataset", metavar="NAME|PATH",
                        help="real data to compare with (default: the generating run's dataset, "
                             "else clothing-full)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--classifier-epochs", type=positive_int, metavar="N",
                        help="epochs of the judging classifier (default 30)")
    parser.add_argument("--skip", default="", metavar="A,B",
                        help=f"comma-separated checks to skip: {', '.join(_SKIPPABLE)}")
    parser.add_argument("--max-per-class", type=positive_int, metavar="N", help="read at most N images per class")
    parser.add_argument("--inception", action="store_true",
                        help="also compute Inception-v3 FID (needs local weights; never downloads)")
    parser.add_argument("--seed", type=seed, default=0, help="seed for classifiers and subsets")
    parser.add_argument("--classifier-runs", type=positive_int, default=1, metavar="N",
                        help="train each synthetic-data classifier N times (seeds S, S+1, ...) and "
                             "report the median: one training's accuracy can swing by 0.1. Above "
                             "1, the train-on-real baseline is trained N times too, same seeds")
    parser.add_argument("--class-mix", choices=CLASS_MIXES, default="real",
                        help="real (default): weigh the synthetic images per class to the real "
                             "data's class mix, so that each number is read against a reference "
                             "measured at the same mix; as-is: take the folder's own mix")


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..config import DataConfig
    from ..data import SkippedImageWarning
    from ..errors import ClothganError
    from ..evaluation import ClassifierConfig, EvalConfig, evaluate

    skip = set(comma_list(args.skip))
    unknown = skip - set(_SKIPPABLE)
    if unknown:
        raise ClothganError(f"--skip: unknown check(s) {', '.join(sorted(unknown))}; "
                            f"choose from {', '.join(_SKIPPABLE)}")
    clf = ClassifierConfig(seed=args.seed)
    if args.classifier_epochs is not None:
        clf = clf.replace(epochs=args.classifier_epochs)
    cfg = EvalConfig(data=DataConfig(dataset=args.dataset) if args.dataset else None, classifier=clf,
                     cas="cas" not in skip, augmentation="augmentation" not in skip,
                     memorisation="memorisation" not in skip, inception=True if args.inception else False,
                     max_per_class=args.max_per_class, seed=args.seed, class_mix=args.class_mix,
                     classifier_runs=args.classifier_runs)
    with warnings.catch_warnings():
        # Every skipped file is in the report: one line there, not a warning each here.
        warnings.simplefilter("ignore", SkippedImageWarning)
        result = evaluate(args.images, cfg, progress=sys.stderr.isatty())
    print(json.dumps(result.to_dict()) if args.json else result.report())
    return 0
