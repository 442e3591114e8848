"""Benchmark: the study's downstream classifier against the judge's training, on the real data.

Both train on the real training split (all of it, or --fraction of it) from the same cached
arrays, in this process, interleaved over --repeats rounds so that a busy machine slows both
alike. Prints one JSON object: CPU and wall seconds per training (medians), their ratio, and the
test accuracy each reaches (the study's keeps the best validation round; the judge's trains a
fixed 30-epoch schedule without looking at validation).

    CLOTHGAN_DATA_DIR=../shared/datasets/clothing-dataset-full python bench/classifier.py
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

from clothgan.config import DataConfig
from clothgan.course.notebook import seed_everything
from clothgan.data import load_splits
from clothgan.evaluation.judge import ClassifierConfig, accuracy, train_classifier
from clothgan.study.classifier import StudyClassifierConfig, test_scores, train_study_classifier
from clothgan.data.photos import choose_training


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fraction", type=float, default=1.0)
    args = ap.parse_args()
    seed_everything(0)
    data = DataConfig()
    real = load_splits(data, progress=False)
    tr, va, te = real["train"], real["val"], real["test"]
    if args.fraction < 1:
        from clothgan.data import scan

        keep = {r.path for r in choose_training(scan(data).select("train"), data.classes,
                                                 args.fraction, seed=0)}
        pick = np.array([p in keep for p in tr.paths])
        tr_x, tr_y = tr.x[pick], tr.y[pick]
    else:
        tr_x, tr_y = tr.x, tr.y
    runs = {"judge": [], "study": []}
    for r in range(args.repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        judge = train_classifier(tr_x, tr_y, data.num_classes, ClassifierConfig(seed=r), progress=False)
        runs["judge"].append((time.process_time() - c0, time.perf_counter() - t0,
                              accuracy(judge, te.x, te.y)))
        c0, t0 = time.process_time(), time.perf_counter()
        model, info = train_study_classifier(tr_x, tr_y, va.x, va.y, data.num_classes, seed=r)
        runs["study"].append((time.process_time() - c0, time.perf_counter() - t0,
                              test_scores(model, te.x, te.y, (1, 8))["accuracy"]))
    out = {"images": int(len(tr_x)), "fraction": args.fraction, "repeats": args.repeats,
           "study_config": StudyClassifierConfig().to_dict(), "machine": platform.processor()}
    for name, rows in runs.items():
        cpu, wall, acc = zip(*rows)
        out[name] = {"cpu_seconds": statistics.median(cpu), "wall_seconds": statistics.median(wall),
                     "test_accuracy": [round(a, 4) for a in acc]}
    out["cpu_ratio_judge_over_study"] = round(out["judge"]["cpu_seconds"] / out["study"]["cpu_seconds"], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
