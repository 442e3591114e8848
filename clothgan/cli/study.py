"""`clothgan study`: measure what each way of adding images does to a classifier trained on a
fraction of the real photos, with error bars over seeds."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import DEFAULT_PRESET, GAN_PRESETS, PRESET_ALIASES
from ..study.config import BALANCES, CONTROLS, CUTPASTE_STYLES, FILTERS, METHODS, StudyConfig
from ..study.run import SMALL_DATA
from .common import comma_list, fraction, names, positive_float, positive_int

#: The command imports TensorFlow: clothgan.cli.main imports it first, quietly.
NEEDS_TENSORFLOW = True
_D = StudyConfig()


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="the study folder; rerun the same command to resume it")
    parser.add_argument("--dataset", default="clothing-full", metavar="NAME|PATH",
                        help="a registered dataset or a <class>/<file> folder (default %(default)s)")
    parser.add_argument("--classes", type=names, default=None, metavar="A,B",
                        help="study these classes only (default: the ten)")
    parser.add_argument("--fractions", default=",".join(f"{f:g}" for f in _D.fractions),
                        metavar="F,F", help="shares of the real training photos (default %(default)s)")
    parser.add_argument("--methods", default=",".join(_D.methods), metavar="M,M",
                        help=f"from {', '.join(METHODS + CONTROLS)} (default: all), or a source with "
                             "recipe parts: cutpaste+soft (teacher's soft labels), +w0.5 (loss "
                             "weight), +ft (synthetic first, then fine-tune on the photos), +r3 "
                             "(ratio); none, the real-only baseline, always runs")
    parser.add_argument("--seeds", type=positive_int, default=_D.seeds, metavar="N",
                        help="seeds 0..N-1: each draws its own photos and classifier start (default %(default)s)")
    parser.add_argument("--ratio", type=positive_float, default=_D.ratio,
                        help="synthetic images per real photo (default %(default)s)")
    parser.add_argument("--balance", choices=BALANCES, default=_D.balance,
                        help="rare: more synthetic images for classes with fewer photos (default)")
    parser.add_argument("--synthetic-weight", type=positive_float, default=_D.synthetic_weight,
                        help="loss weight of a synthetic image; a photo weighs 1 (default %(default)s)")
    parser.add_argument("--gan-minutes", type=positive_float, default=_D.gan_minutes,
                        help="CPU-minutes to train each generator (default %(default)s)")
    parser.add_argument("--gan-preset", choices=("auto", *GAN_PRESETS, *PRESET_ALIASES),
                        default=_D.gan_preset,
                        help="the generators' recipe; auto (default): small-data below "
                             f"{SMALL_DATA} photos, else {DEFAULT_PRESET}")
    parser.add_argument("--full-generator", choices=("pretrained", "train"), default=_D.full_generator,
                        help="at fraction 1: sample the shipped generator (default), or train one "
                             "per seed like the other fractions")
    parser.add_argument("--filter", choices=FILTERS, default=_D.gan_filter,
                        help="how generated images are chosen (default %(default)s)")
    parser.add_argument("--cutpaste", choices=CUTPASTE_STYLES, default=_D.cutpaste,
                        help="framed: garments pasted into the photos' own frames (default); "
                             "procedural: over drawn backgrounds")
    parser.add_argument("--steps", type=positive_int, metavar="N",
                        help="train every classifier exactly N steps (quick trials; default: "
                             "by the number of photos)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def config_from(args: argparse.Namespace) -> StudyConfig:
    from ..errors import ClothganError

    fractions = []
    for text in comma_list(args.fractions):
        try:
            fractions.append(fraction(text))
        except argparse.ArgumentTypeError as exc:
            raise ClothganError(f"--fractions: {text}: {exc}") from None
    methods = comma_list(args.methods)
    if not fractions:
        raise ClothganError("--fractions: none given")
    clf = _D.classifier
    if args.steps:
        clf = clf.exactly(args.steps)
    return StudyConfig(fractions=tuple(fractions), methods=tuple(methods),
                       seeds=args.seeds, ratio=args.ratio, balance=args.balance,
                       synthetic_weight=args.synthetic_weight, gan_minutes=args.gan_minutes,
                       gan_preset=args.gan_preset, full_generator=args.full_generator,
                       gan_filter=args.filter, cutpaste=args.cutpaste, classifier=clf)


def command_for(args: argparse.Namespace) -> str:
    """The command line that runs this study again (every option spelled out)."""
    parts = ["clothgan study"]
    for key, value in sorted(vars(args).items()):
        if key.startswith("_") or key in ("command", "json") or value in (None, False):
            continue
        flag = "--" + key.replace("_", "-")
        value = ",".join(value) if isinstance(value, list) else value
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..config import DataConfig
    from ..core.files import atomic_write, output_lock, write_json_atomic
    from ..course.plots import study_gains
    from ..study import Study, format_summary, summarize

    cfg = config_from(args)
    log = (lambda line: print(line, file=sys.stderr)) if args.json else print
    data = DataConfig(dataset=args.dataset, **({"classes": tuple(args.classes)} if args.classes else {}))
    study = Study(args.out, cfg, data, progress=sys.stderr.isatty(),
                  log=log)
    wanted = set(study.cells())
    out = Path(args.out)
    with output_lock(out):   # the summary too: no second study writes it meanwhile
        cells = [c for c in study.run() if (c["fraction"], c["seed"], c["method"]) in wanted]
        summary = {**summarize(cells), "settings": cfg.to_dict(), "command": command_for(args)}
        write_json_atomic(out / "summary.json", summary, indent=1)
        fig = study_gains(summary)
        atomic_write(out / "gains.png", lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight"))
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_summary(summary))
        print(f"summary: {out / 'summary.json'}, figure: {out / 'gains.png'}")
    return 0
