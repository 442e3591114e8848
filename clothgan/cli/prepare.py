"""`clothgan prepare`: get the dataset, preprocess it (or reuse the cache) and print what loaded."""
from __future__ import annotations

import argparse
import json
import sys
import warnings

from ..config import DataConfig
from .common import positive_int

_DEFAULT = DataConfig()


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=_DEFAULT.dataset, metavar="NAME|PATH",
                        help="clothing-full (default), clothing-small, a folder (<label>/<file> or "
                             "<split>/<label>/<file>) or a CSV (image,label[,split])")
    parser.add_argument("--image-size", type=positive_int, default=_DEFAULT.image_size, metavar="N",
                        help=f"image side in pixels (default {_DEFAULT.image_size})")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=_DEFAULT.channels,
                        help="1 = grayscale (default), 3 = RGB")
    parser.add_argument("--resize", choices=("pad", "squash"), default=_DEFAULT.resize,
                        help="pad: keep the aspect ratio (default); squash: the classic 28x28 resize")
    parser.add_argument("--no-kids", action="store_true", help="leave out kids' clothes")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="parallel decoders (default: one per core)")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object (every skipped file listed)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..data import SkippedImageWarning, prepare

    cfg = DataConfig(dataset=args.dataset, image_size=args.image_size, channels=args.channels,
                     resize=args.resize, include_kids=not args.no_kids)
    with warnings.catch_warnings():
        # Every skipped file is in the summary: one line each there, not a warning each here.
        warnings.simplefilter("ignore", SkippedImageWarning)
        _, report = prepare(cfg, args.workers,
                            progress=not args.no_progress and sys.stderr.isatty())
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(report.format())
    return 0
