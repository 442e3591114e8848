"""What picking samples after training does to FID on the real test photos; JSON on stdout.

For one run's kept generator, each way of sampling is scored over --draws noise draws against
the test photos, with `clothgan evaluate`'s protocol (the validation split's class counts, the
judge's features); medians and ranges:
- global: the one noise scale the run chose on the validation photos (also its class consistency);
- per-class: one scale per class, chosen on the validation photos by coordinate descent on
  validation FID (mean of two noise draws), from the same grid;
- discriminator: at the chosen scale, the best of --candidates noise vectors per image as the
  run's last discriminator rates them (only where RUN_DIR/checkpoint.npz holds it), and the worst.
With it, two reference FIDs on the same protocol: validation photos against test photos, and
real training photos against test photos (median over --draws subsets): what a generator that
reproduced its training photos exactly would score. Both on validation too.

    python bench/sampling.py --run RUN_DIR [--draws 8] [--candidates 8]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def summary(values) -> dict:
    import numpy as np

    return {"median": round(float(np.median(values)), 3), "min": round(float(np.min(values)), 3),
            "max": round(float(np.max(values)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="run directory with best/ (clothgan train)")
    ap.add_argument("--draws", type=int, default=8, help="noise draws (and training subsets) scored")
    ap.add_argument("--candidates", type=int, default=8, help="noise vectors per image for the "
                    "discriminator's pick")
    args = ap.parse_args()

    import numpy as np

    from clothgan.training.checkpoint import CHECKPOINT_FILE, load_network
    from clothgan.evaluation.judge import run_batched
    from clothgan.config import DataConfig
    from clothgan.evaluation.distances import feature_stats, FeatureSpace, fid, frechet_distance
    from clothgan.evaluation.evaluate import match_class_counts
    from clothgan.data import load_splits
    from clothgan.gan.saved import load_generator
    from clothgan.runs import generator_dir
    from clothgan.gan import build_discriminator
    from clothgan.training.selection import scored_images, TRUNCATION_GRID, ValidationScorer

    run = Path(args.run)
    generator, info = load_generator(generator_dir(run, "best"))
    data = DataConfig.from_dict(info.config["data"])
    real = load_splits(data)
    tr, va, te = real["train"], real["val"], real["test"]
    scorer = ValidationScorer(data, info.latent_dim, real=real, progress=False)
    judge = scorer.judge
    chosen = float(info.truncation or 1.0)
    y_val = va.y.astype(np.int32)

    def images(noise, labels, scales):
        return scored_images(generator, noise * np.asarray(scales, np.float32)[labels][:, None], labels)

    def noise(seed):
        return np.random.default_rng([seed, 0xD4A5]).standard_normal((len(y_val), info.latent_dim),
                                                                     dtype=np.float32)

    # Per-class scales on validation: features of every (draw, scale) computed once, then
    # classes swapped between them.
    grid = TRUNCATION_GRID
    val_noise = [scorer.noise, noise(10_000)]
    feats = {(d, s): scorer.features(images(z, y_val, [s] * data.num_classes))
             for d, z in enumerate(val_noise) for s in grid}
    ref_stats = feature_stats(scorer.features.reference)

    def val_fid(scales):
        out = []
        for d in range(len(val_noise)):
            f = np.empty_like(feats[(d, grid[0])])
            for c, s in enumerate(scales):
                f[y_val == c] = feats[(d, s)][y_val == c]
            out.append(frechet_distance(*feature_stats(f), *ref_stats))
        return float(np.mean(out))

    per_class = [chosen] * data.num_classes
    for _ in range(3):
        for c in range(data.num_classes):
            per_class[c] = min(grid, key=lambda s: val_fid(per_class[:c] + [s] + per_class[c + 1:]))

    discriminator = None
    if (run / CHECKPOINT_FILE).is_file():
        discriminator = build_discriminator(info.model_config(), "float32")
        load_network(run / CHECKPOINT_FILE, "discriminator", discriminator)

    test_space = FeatureSpace(judge, te.x)
    scores = {"global": [], "per_class": []}
    if discriminator is not None:
        scores.update(discriminator_best=[], discriminator_worst=[])
    consistency = []
    for seed in range(args.draws):
        z = noise(seed)
        x = images(z, y_val, [chosen] * data.num_classes)
        scores["global"].append(fid(test_space(x), test_space.reference))
        consistency.append(float(np.mean(run_batched(judge, x).argmax(1) == y_val)))
        scores["per_class"].append(fid(test_space(images(z, y_val, per_class)), test_space.reference))
        if discriminator is not None:
            cands = np.stack([images(noise(seed * 1000 + 100 + k), y_val, [chosen] * data.num_classes)
                              for k in range(args.candidates)])
            p = np.stack([discriminator.predict([x, y_val], batch_size=512, verbose=0)[:, 0] for x in cands])
            rows = np.arange(len(y_val))
            scores["discriminator_best"].append(fid(test_space(cands[p.argmax(0), rows]), test_space.reference))
            scores["discriminator_worst"].append(fid(test_space(cands[p.argmin(0), rows]), test_space.reference))

    # References: validation photos vs test photos; training photos (validation's class counts).
    val_space = scorer.features
    train_vs = {"test": [], "val": []}
    for seed in range(args.draws):
        i_tr, _ = match_class_counts(tr.y, va.y, np.random.default_rng(seed))
        train_vs["test"].append(fid(test_space(tr.x[i_tr]), test_space.reference))
        train_vs["val"].append(fid(val_space(tr.x[i_tr]), val_space.reference))

    print(json.dumps({
        "run": str(run), "epochs": info.epochs_done, "judge": scorer.judge_info.key,
        "draws": args.draws, "chosen_truncation": chosen,
        "per_class_truncation": dict(zip(data.classes, per_class)),
        "val_fid_global": round(val_fid([chosen] * data.num_classes), 3),
        "val_fid_per_class": round(val_fid(per_class), 3),
        "test_fid": {k: summary(v) for k, v in scores.items()},
        # Both use the same noise draws: the paired difference is the per-class scales' effect.
        "per_class_minus_global": summary(np.subtract(scores["per_class"], scores["global"])),
        "consistency_global": summary(consistency),   # at the validation split's class counts
        "reference": {"val_photos_vs_test": round(fid(test_space(va.x), test_space.reference), 3),
                      "train_photos_vs_test": summary(train_vs["test"]),
                      "train_photos_vs_val": summary(train_vs["val"])},
    }))


if __name__ == "__main__":
    main()
