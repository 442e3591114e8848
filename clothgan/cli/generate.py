"""`clothgan generate`: a labelled synthetic image-folder dataset from a trained run."""
from __future__ import annotations

import argparse
import json

from .common import add_precision, names, positive_int, seed, truncation


#: The command imports TensorFlow: clothgan.cli.main imports it first, quietly.
NEEDS_TENSORFLOW = True

def configure_parser(parser: argparse.ArgumentParser) -> None:
    from ..pretrained import PRETRAINED

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", metavar="RUN_DIR",
                        help="run directory written by `clothgan train` (holds run.json, generator.keras)")
    source.add_argument("--pretrained", choices=tuple(PRETRAINED), metavar="NAME",
                        help="a generator shipped with clothgan instead of your own run: "
                             + "; ".join(f"{k}: {v}" for k, v in PRETRAINED.items()))
    parser.add_argument("--generator", choices=("best", "last"), default="best",
                        help="best: the run's kept best generator (RUN_DIR/best/, from "
                             "--keep-best) when it has one, else the last; last: the last epoch's")
    parser.add_argument("--per-class", required=True, type=positive_int, metavar="N",
                        help="images to write for each class")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder: DIR/<class>/<name>.png + DIR/manifest.csv")
    parser.add_argument("--seed", type=seed, default=0,
                        help="noise seed; the same seed gives the same images (default 0)")
    parser.add_argument("--classes", type=names, metavar="A,B",
                        help="comma-separated class names (default: all classes of the run)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace DIR if it exists and is not empty")
    parser.add_argument("--batch-size", type=positive_int, default=1024,
                        help="images per generator call")
    add_precision(parser, "auto", "mixed: 16-bit inference (float16 on GPUs, bfloat16 on TPUs and "
                  "CPUs with native bf16); auto (default): mixed where the hardware has it and "
                  "the images match float32's within half a grey level")
    parser.add_argument("--truncation", type=truncation, metavar="PSI",
                        help="scale the noise by PSI: below 1 gives more typical, more clearly "
                             "labelled images (the truncation trick). Default: the run's own value, "
                             "chosen on the validation split when training ended (1 if none)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    from ..sampling import generate

    classes = args.classes
    run_dir = args.run
    if args.pretrained:
        from ..pretrained import pretrained_dir

        run_dir = pretrained_dir(args.pretrained)
    res = generate(run_dir, args.per_class, args.out, seed=args.seed, classes=classes,
                   overwrite=args.overwrite, batch_size=args.batch_size, precision=args.precision,
                   which=args.generator, truncation=args.truncation)
    summary = {"out": str(res.out_dir), "manifest": str(res.manifest), "images": res.total,
               "per_class": res.counts, "seed": res.seed, "checkpoint_sha256": res.checkpoint_sha256,
               "precision": res.precision, "truncation": res.truncation, "seconds": round(res.seconds, 3),
               "images_per_second": round(res.images_per_second, 1)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {res.total} images ({len(res.counts)} classes x {args.per_class}) to {res.out_dir}"
              f" in {res.seconds:.1f} s ({res.images_per_second:.0f} images/s, {res.precision}, "
              f"truncation {res.truncation:g})")
        print(f"manifest: {res.manifest}")
    return 0
