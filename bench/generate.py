"""Images/s writing a 28x28 synthetic dataset (PNG files + manifest included), JSON on stdout.

Compares, in one process and on the same generator: a straightforward baseline (Keras
`predict` in float32, then PIL saving one PNG at a time) against `clothgan.generate` in float32
and with its default precision (bf16 on CPUs with native bf16 units). Medians of --repeats runs.

    python bench/generate.py [--run RUN_DIR] [--per-class 300] [--repeats 3]

Without --run the `seed` architecture (clothgan.gan.build_generator) with random weights is
timed: throughput does not depend on the weights' values.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def seed_run(folder: Path) -> Path:
    from clothgan.config import CLASSES, GANConfig
    from clothgan.gan import build_generator
    from clothgan.runs import RunInfo, write_run_info

    cfg = GANConfig()
    write_run_info(folder, RunInfo(class_names=CLASSES, image_size=cfg.image_size,
                                   channels=cfg.channels, latent_dim=cfg.latent_dim, preset=cfg.preset))
    build_generator(cfg).save(folder / "generator.keras")
    return folder


def baseline(sampler, per_class: int, out: Path) -> float:
    """Keras predict in float32 per class, PIL PNG saving one file at a time."""
    import numpy as np
    from PIL import Image

    from clothgan.core.pixels import to_uint8
    from clothgan.sampling.sampler import class_noise

    t0 = time.perf_counter()
    for label, name in enumerate(sampler.class_names):
        (out / name).mkdir(parents=True)
        z = class_noise(0, label, per_class, sampler.latent_dim)
        x = sampler.model.predict([z, np.full(per_class, label, np.int32)], batch_size=256, verbose=0)
        for i, img in enumerate(to_uint8(x)):
            Image.fromarray(img.squeeze(-1)).save(out / name / f"{i:06d}.png")
    return time.perf_counter() - t0


def inference_only(sampler, per_class: int) -> float:
    """Seconds for the generator calls alone (same batches, no PNGs): the ceiling for generate."""
    from clothgan.sampling.write import noise_batches

    labels = list(range(len(sampler.class_names)))
    t0 = time.perf_counter()
    for z, y, _ in noise_batches(labels, per_class, sampler.latent_dim, 0, 1024):
        sampler.sample(z, y)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="a trained run directory (default: the seed architecture)")
    ap.add_argument("--per-class", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from clothgan.sampling.sampler import Sampler
    from clothgan.sampling.write import generate

    work = Path(tempfile.mkdtemp(prefix="clothgan-bench-gen-"))
    try:
        run = Path(args.run) if args.run else seed_run(work / "run")
        samplers = {"float32": Sampler.load(run, "float32"), "default": Sampler.load(run, "auto")}
        n = args.per_class * len(samplers["default"].class_names)
        for s in samplers.values():      # warm up tracing and thread pools outside the timings
            generate(None, 2, work / "warm", sampler=s, overwrite=True, progress=False)
        times = {"baseline": [], "float32": [], "default": [], "default_inference_only": []}
        for r in range(args.repeats):
            times["baseline"].append(baseline(samplers["float32"], args.per_class, work / f"b{r}"))
            for key, s in samplers.items():
                res = generate(None, args.per_class, work / f"{key}{r}", sampler=s, progress=False)
                times[key].append(res.seconds)
            times["default_inference_only"].append(inference_only(samplers["default"], args.per_class))
            for p in work.glob("[bfd]*"):
                shutil.rmtree(p)
        med = {k: statistics.median(v) for k, v in times.items()}
        ips = {k: n / v for k, v in med.items()}
        print(json.dumps({
            "bench": "generate", "image_size": samplers["default"].info.image_size,
            "channels": samplers["default"].info.channels, "images_per_run": n,
            "repeats": args.repeats, "generator": "run " + str(run) if args.run else "seed preset, random weights",
            "default_precision": samplers["default"].precision,
            "images_per_s": {k: round(v, 1) for k, v in ips.items()},
            "speedup_vs_baseline": {k: round(ips[k] / ips["baseline"], 2) for k in ("float32", "default")},
            "files_share_of_time": round(1 - med["default_inference_only"] / med["default"], 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "target_images_per_s": 2000, "meets_target": ips["default"] >= 2000,
            "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
