"""Benchmark: preparing the whole dataset, cold and from the cache, vs the article's loop.

Prints one JSON object. Every figure is a median over --repeats runs made in this process,
interleaved so that a busy machine slows all of them alike. The article's baseline is its
one-image-at-a-time loop (`classic_preprocess` over the same files); "cold" is `prepare` into
an empty cache (decode, resize, write the cache); "cached" is `load_split(cfg, None)`, the
whole second load a notebook does (scan the source, key the cache, read it). CPU time per
image is reported too: on a shared machine it shows the work saved even when wall time cannot.

    CLOTHGAN_DATA_DIR=../shared/datasets/clothing-dataset-full python bench/prepare.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time

import PIL

from clothgan.config import DataConfig
from clothgan.data import scan
from clothgan.errors import ClothganError
from clothgan.core.parallel import default_workers
from clothgan.data import classic_preprocess, load_split, build_arrays

TARGET_COLD_SPEEDUP = 4.0
TARGET_CACHED_S = 1.0


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


CPU: dict[str, list[float]] = {}


def timed(fn, name: str | None = None) -> float:
    """Wall seconds of fn(); its CPU seconds (this process + finished workers) go to CPU[name]."""
    c0, t0 = _cpu(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    if name:
        CPU.setdefault(name, []).append(_cpu() - c0)
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="clothing-full")
    ap.add_argument("--image-size", type=int, default=28)
    ap.add_argument("--channels", type=int, choices=(1, 3), default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="serial,thread,process",
                    help="also time prepare with each of these backends (empty: skip)")
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="clothgan-bench-")
    os.environ["CLOTHGAN_HOME"] = home          # never touch the user's cache
    try:
        cfg = DataConfig(dataset=args.dataset, image_size=args.image_size, channels=args.channels)
        scan_s = timed(lambda: scan(cfg))
        inv = scan(cfg)
        paths = sorted(r.path for r in inv.records)
        for p in paths:                         # same page-cache state for every contender
            with open(p, "rb") as f:
                f.read()
        load_start = os.getloadavg()[0]

        def cold(backend: str) -> float:
            sub = tempfile.mkdtemp(dir=home)
            os.environ["CLOTHGAN_HOME"] = sub
            try:
                return timed(lambda: build_arrays(cfg, inv, backend=backend, progress=False),
                             f"cold_{backend}")
            finally:
                os.environ["CLOTHGAN_HOME"] = home
                shutil.rmtree(sub, ignore_errors=True)

        backends = [b for b in args.backends.split(",") if b]
        article, cold_auto, by_backend = [], [], {b: [] for b in backends}
        for _ in range(args.repeats):
            article.append(timed(lambda: [classic_preprocess(p) for p in paths], "article"))
            cold_auto.append(cold("auto"))
            for b in backends:
                by_backend[b].append(cold(b))
        arrays = build_arrays(cfg, inv, progress=False)   # fills the cache for the cached timings
        cached = [timed(lambda: load_split(cfg, None)) for _ in range(max(5, args.repeats))]

        n = len(paths)
        med = statistics.median
        article_ips = n / med(article)
        cold_ips = n / med(cold_auto)
        result = {
            "benchmark": "prepare",
            "dataset": args.dataset,
            "config": {"image_size": cfg.image_size, "channels": cfg.channels, "resize": cfg.resize},
            "images": n,
            "images_loaded": int(len(arrays.y)),
            "skipped": len(arrays.skipped),
            "repeats": args.repeats,
            "article_loop_images_per_s": round(article_ips, 1),
            "cold_images_per_s": round(cold_ips, 1),
            "cold_s": round(med(cold_auto), 3),
            "cold_speedup_vs_article": round(cold_ips / article_ips, 2),
            "cached_load_s": round(med(cached), 3),
            "cached_images_per_s": round(n / med(cached), 1),
            "cached_speedup_vs_article": round((n / med(cached)) / article_ips, 1),
            "scan_s": round(scan_s, 3),
            "cold_images_per_s_by_backend": {b: round(n / med(t), 1) for b, t in by_backend.items()},
            # CPU seconds per image are immune to other programs competing for the cores; the
            # wall-clock figures above are what a user waits, on this machine, at this load.
            "cpu_ms_per_image": {k: round(1000 * med(v) / n, 3) for k, v in CPU.items()},
            "workers": default_workers(),
            "targets": {"cold_speedup_vs_article_min": TARGET_COLD_SPEEDUP,
                        "cached_load_s_max": TARGET_CACHED_S},
            "meets_targets": bool(cold_ips / article_ips >= TARGET_COLD_SPEEDUP
                                  and med(cached) < TARGET_CACHED_S),
            "load_average_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "pillow": PIL.__version__, "platform": sys.platform},
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ClothganError as exc:
        sys.exit(f"bench/prepare.py: error: {exc}")
