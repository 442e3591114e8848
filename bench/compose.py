"""Cut-and-paste throughput: 512x512 scenes, 1-3 garments, gaussian blending, masks cached.

Prints one JSON object. All numbers come from this process and run, medians of repeats:
  *_per_cpu_s          scenes per CPU-second of this process (OpenCV held to one thread): what
                       one core sustains, even when other jobs share the machine
  *_per_wall_s         scenes per wall-clock second (drops when the machine is busy: see load)
  compose              scenes composed in memory
  write                scenes written with every file (JPEG, mask PNGs, YOLO txt, COCO JSON)
  baseline             a straightforward full-frame compositor (each garment warped onto a whole
                       canvas, blurred and blended as float images), same random draws
  workers              wall-clock scenes/s with one worker process per core, files included
Garments come from the real dataset when CLOTHGAN_DATA_DIR (or the cache) has it, else from
synthetic garment photos; "source" says which. Usage: python bench/compose.py [--scenes N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from clothgan.cutpaste.backgrounds import Backgrounds
from clothgan.cutpaste.compose import build_bank, compose_scene, select_sources
from clothgan.cutpaste.config import ComposeConfig
from clothgan.cutpaste.dataset import compose_dataset, item_rng
from clothgan.core.parallel import default_workers
from clothgan.cutpaste.transforms import garment_homography, jitter_lut, sample_transform


def _bank(per_class: int):
    from clothgan.config import DataConfig
    from clothgan.data import scan

    try:
        inv = scan(DataConfig())
        source = "clothing-full (real photos)"
    except Exception:   # no dataset here: synthetic garment photos instead
        from clothgan.cutpaste.synthetic import garment_folder

        folder = garment_folder(Path(tempfile.mkdtemp()) / "photos", per_class)
        inv = scan(DataConfig(dataset=str(folder)))
        source = "synthetic garment photos"
    records = select_sources(inv, per_class, split=None)
    bank, report = build_bank(records, workers=default_workers(), progress=False)
    return bank, report, source


def baseline_scene(rng, bank, backgrounds, cfg: ComposeConfig) -> np.ndarray:
    """Same random draws as compose_scene, composited the plain way on the whole canvas."""
    size = cfg.size
    canvas = backgrounds.draw(rng).astype(np.float32)
    n = int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))
    for _ in range(n):
        g = int(rng.integers(len(bank)))
        p = sample_transform(rng, cfg.transform)
        rgba = bank.rgba[g]
        h = garment_homography(rgba.shape[1], rgba.shape[0], p, size, cfg.transform.focal)
        u = rng.random(2)
        move = np.array([[1, 0, u[0] * size], [0, 1, u[1] * size], [0, 0, 1]])
        full = cv2.warpPerspective(rgba, move @ h, (size, size), flags=cv2.INTER_LINEAR)
        rgb = cv2.LUT(np.ascontiguousarray(full[:, :, :3]),
                      jitter_lut(p.brightness, p.contrast, float(bank.means[g])))
        a = cv2.GaussianBlur(full[:, :, 3].astype(np.float32) / 255.0, (0, 0), cfg.feather)[:, :, None]
        canvas = canvas * (1.0 - a) + rgb.astype(np.float32) * a
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def _rate(fn, n: int, repeats: int) -> tuple[float, float]:
    """(scenes per CPU-second, scenes per wall-second), medians over repeats."""
    cpu, wall = [], []
    for r in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        for i in range(n):
            fn(r * n + i)
        cpu.append(n / (time.process_time() - c))
        wall.append(n / (time.perf_counter() - t))
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--per-class", type=int, default=20)
    args = ap.parse_args()
    cv2.setNumThreads(1)   # one core means one core

    bank, report, source = _bank(args.per_class)
    cfg = ComposeConfig(size=512, objects=(1, 3), blend="gaussian")
    bg = Backgrounds(cfg.size, None, 0, cfg.procedural_pool)
    t = time.perf_counter()
    bg.prepare()   # the procedural pool, made once (or read from the cache)
    pool_seconds = time.perf_counter() - t

    compose = _rate(lambda i: compose_scene(item_rng(0, i), bank, bg, cfg), args.scenes, args.repeats)
    base = _rate(lambda i: baseline_scene(item_rng(0, i), bank, bg, cfg), args.scenes, args.repeats)

    written_dirs = [Path(tempfile.mkdtemp()) for _ in range(args.repeats)]

    def write(i: int) -> None:
        compose_dataset(written_dirs[i] / "scenes", args.scenes, bank, cfg, seed=i, workers=1,
                        progress=False)

    written = _rate(write, 1, args.repeats)
    for d in written_dirs:   # deleting is not part of writing
        shutil.rmtree(d)
    cores = default_workers()
    t = time.perf_counter()
    out = Path(tempfile.mkdtemp()) / "scenes"
    n_all = args.scenes * cores * 2
    compose_dataset(out, n_all, bank, cfg, seed=0, workers=cores, bank_report=report,
                    progress=False)
    shutil.rmtree(out.parent)
    all_wall = n_all / (time.perf_counter() - t)
    print(json.dumps({
        "bench": "compose", "source": source, "garments": len(bank), "size": cfg.size,
        "objects": list(cfg.objects), "blend": cfg.blend, "scenes": args.scenes,
        "repeats": args.repeats,
        "compose_per_cpu_s": round(compose[0], 1), "compose_per_wall_s": round(compose[1], 1),
        "write_per_cpu_s": round(written[0] * args.scenes, 1),
        "write_per_wall_s": round(written[1] * args.scenes, 1),
        "baseline_per_cpu_s": round(base[0], 1), "baseline_per_wall_s": round(base[1], 1),
        "ratio_compose_vs_baseline_cpu": round(compose[0] / base[0], 2),
        "workers": cores, "workers_write_per_wall_s": round(all_wall, 1),
        "background_pool_seconds": round(pool_seconds, 2),
        "target_per_core": 100, "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
