"""`clothgan compose`: cut-and-paste scenes (COCO/YOLO/masks) or single garments (class folders)."""
from __future__ import annotations

import argparse
import json

from ..cutpaste.config import MAX_OBJECTS
from .common import non_negative_int, positive_int, seed


def _objects(text: str) -> tuple[int, int]:
    try:
        lo, _, hi = text.partition("-")
        pair = (int(lo), int(hi or lo))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K or LOW-HIGH (e.g. 1-3), got {text!r}")
    if not 1 <= pair[0] <= pair[1] <= MAX_OBJECTS:
        raise argparse.ArgumentTypeError(f"need 1 <= LOW <= HIGH <= {MAX_OBJECTS} (more garments "
                                         f"find no room in a scene), got {text!r}")
    return pair


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--count", type=positive_int, required=True, metavar="N", help="images to write")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (written atomically)")
    p.add_argument("--dataset", default="clothing-full", metavar="NAME|PATH",
                   help="source photos: registry name or a folder / CSV (default: clothing-full)")
    p.add_argument("--split", default="train", choices=("train", "val", "test", "all"),
                   help="split the source photos come from (default: train)")
    p.add_argument("--per-class", type=non_negative_int, default=25, metavar="N",
                   help="source photos per class to extract (default: 25; 0 = all)")
    p.add_argument("--backgrounds", default=None, metavar="DIR|white",
                   help="folder of background images, or 'white'; default: procedural backgrounds")
    p.add_argument("--objects", type=_objects, default=(1, 3), metavar="K|LOW-HIGH",
                   help="garments per scene, K or LOW-HIGH (default: 1-3)")
    p.add_argument("--size", type=positive_int, default=None, metavar="PX",
                   help="output side in pixels (default: 512 scenes, 28 classification)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None,
                   help="1 = grayscale (default for classification), 3 = RGB (default for scenes)")
    p.add_argument("--blend", choices=("hard", "gaussian", "poisson"), default="gaussian",
                   help="how garments meet the background (default: gaussian, a feathered edge)")
    p.add_argument("--mode", choices=("scene", "classification"), default="scene",
                   help="scene: detection/segmentation labels; classification: class folders")
    p.add_argument("--format", choices=("jpg", "png"), default="jpg", help="scene image format")
    p.add_argument("--segmentation", choices=("rle", "polygon"), default="rle",
                   help="COCO segmentation encoding (default: rle)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="parallel workers (default: all cores)")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="same seed, same files, any --workers")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..cutpaste import ComposeConfig
    from ..cutpaste.dataset import compose
    from ..data import SkippedImageWarning

    common = dict(blend=args.blend, backgrounds=args.backgrounds, segmentation=args.segmentation)
    if args.mode == "classification":
        cfg = ComposeConfig.for_classification(size=28 if args.size is None else args.size,
                                               channels=args.channels or 1, **common)
    else:
        cfg = ComposeConfig(size=512 if args.size is None else args.size,
                            channels=args.channels or 3, objects=args.objects,
                            image_format=args.format, **common)
    with warnings.catch_warnings():
        # Every skipped file is in the summary below, not a warning each.
        warnings.simplefilter("ignore", SkippedImageWarning)
        result = compose(args.out, args.count, cfg, dataset=args.dataset,
                         per_class=args.per_class or None,
                         split=None if args.split == "all" else args.split, seed=args.seed,
                         workers=args.workers, overwrite=args.overwrite,
                         progress=not args.json)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    what = "scenes" if args.mode == "scene" else "images"
    print(f"wrote {summary['images']} {what} ({summary['instances']} garments) to {summary['out']} "
          f"in {summary['seconds']:.1f} s ({summary['images_per_second']:.0f}/s)")
    print("garments per class: " + ", ".join(f"{c} {n}" for c, n in summary["per_class"].items()))
    if result.dropped:
        print(f"{result.dropped} garment(s) found no room in their scene within the occlusion and "
              "truncation limits and were left out (fewer --objects avoids it)")
    if result.bank is not None and result.bank.failed:
        print(f"{len(result.bank.failed)} of {summary['sources_kept'] + len(result.bank.failed)} "
              "source photos left out (unreadable, or no garment found):")
        _list(result.bank.failed)
    if result.backgrounds_skipped:
        print(f"{len(result.backgrounds_skipped)} background image(s) left out (unreadable):")
        _list(result.backgrounds_skipped)
    return 0


def _list(items: list[tuple[str, str]], most: int = 10) -> None:
    for path, why in items[:most]:
        print(f"  {path}: {why}")
    if len(items) > most:
        print(f"  ... and {len(items) - most} more (--json lists all)")
