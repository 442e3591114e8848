"""Ablation of the small-data techniques: each choice switched off (or on) alone, same CPU budget.

For one VARIANT: train with `clothgan.train(..., cpu_minutes=M)`, write 100 images per class
from the generator the run keeps (or its last one), and score them with `clothgan.evaluate`
against the real photos (the standard 28x28 grayscale data and its cached judge, whatever the
variant trained on). Prints one JSON object. Variants run in separate processes so that each
gets its own CPU-time budget; run two at once on a 2-core machine with `taskset -c 0` / `-c 1`.

    python bench/ablation.py VARIANT --cpu-minutes 8 --out runs/ablation
    python bench/ablation.py projection --from-run runs/ablation/projection   # EMA vs raw sampling

Variants: seed and quality (those presets: the article's networks, quality sampling from their
moving average), projection (that preset: every technique on) and, each changing one thing
from projection: no-diffaugment, no-ema, no-keeper (the last generator instead of the kept
best), foreground (garments cut out onto white), ttur (D at 4e-4, G at 1e-4, Adam betas
0 / 0.9), no-spectral-norm, no-projection-head (D takes the article's label
plane instead), no-conditional-bn (G: plain batch norm and the article's label plane; see
clothgan.config.PROJECTION_PARTS) and no-sn-no-cbn (both of those off); and
quality-diffaugment, quality with DiffAugment (colour, translation, cutout) on the article's
networks; quality-ema-0.9995 and quality-ema-0.9999, quality with a longer moving average
(the warm-up (1 + t) / (10 + t) caps the decay early on); quality-mirror, quality with the real
images flipped left-right at random (TrainConfig.mirror). Scores are at the real class mix
(`clothgan evaluate`'s default).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# clothgan.config imports no TensorFlow: safe before the variable above takes effect.
from clothgan.config import AUGMENT_POLICIES, DataConfig, preset, TrainConfig

#: variant -> (preset it changes, data changes, model changes, training changes)
VARIANTS = {
    "seed": ("reference", {}, {}, {}),
    "quality": ("quality", {}, {}, {}),
    "quality-diffaugment": ("quality", {}, {"augment": AUGMENT_POLICIES}, {}),
    "quality-ema-0.9995": ("quality", {}, {"ema_decay": 0.9995}, {}),
    "quality-ema-0.9999": ("quality", {}, {"ema_decay": 0.9999}, {}),
    "quality-mirror": ("quality", {}, {}, {"mirror": True}),
    "projection": ("projection", {}, {}, {}),
    "no-diffaugment": ("projection", {}, {"augment": ()}, {}),
    "no-ema": ("projection", {}, {"ema_decay": 0.0}, {}),
    "no-keeper": ("projection", {}, {}, {"keep_best": "none"}),
    "foreground": ("projection", {"foreground": True}, {}, {}),
    "ttur": ("projection", {}, {}, {"d_lr": 4e-4, "lr": 1e-4, "beta_1": 0.0, "beta_2": 0.9}),
    "no-spectral-norm": ("projection", {}, {"without": ("spectral_norm",)}, {}),
    "no-projection-head": ("projection", {}, {"without": ("projection_head",)}, {}),
    "no-conditional-bn": ("projection", {}, {"without": ("conditional_bn",)}, {}),
    "no-sn-no-cbn": ("projection", {}, {"without": ("spectral_norm", "conditional_bn")}, {}),
}


def configs(variant: str):
    """(data, model, training) of a variant."""
    base, data_changes, model_changes, train_changes = VARIANTS[variant]
    model, training = preset(base)
    training = training.replace(**train_changes)
    return DataConfig(**data_changes), model.replace(**model_changes), training


def export_raw_generator(run_dir: Path, dest: Path) -> Path:
    """RUN_DIR's last checkpoint sampled with the raw generator weights, not their EMA, as a run
    directory: the same training, only the sampling weights differ."""
    from clothgan.training.checkpoint import load_checkpoint
    from clothgan.gan import build_generator
    from clothgan.runs import GENERATOR_FILE, read_run_info, write_run_info
    from clothgan.training.train import build_gan

    info = read_run_info(run_dir)
    cfg = info.model_config()
    gan = build_gan(cfg, TrainConfig.from_dict(info.config["training"]), info.config["policy"])
    meta = load_checkpoint(run_dir / "checkpoint.npz", gan)
    raw = build_generator(cfg, "float32", fast_output_conv=False)
    raw.set_weights(gan.generator.get_weights())
    dest.mkdir(parents=True, exist_ok=True)
    raw.save(dest / GENERATOR_FILE)
    from dataclasses import replace

    write_run_info(dest, replace(info, epochs_done=int(meta["epoch"])))
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variant", choices=tuple(VARIANTS))
    ap.add_argument("--cpu-minutes", type=float, default=8.0)
    ap.add_argument("--out", default="runs/ablation")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0, help="training seed (TrainConfig.seed)")
    ap.add_argument("--from-run", metavar="RUN_DIR",
                    help="no training: evaluate RUN_DIR's last epoch sampled with EMA weights and "
                         "with raw weights (variant: the EMA ablation on one shared training)")
    args = ap.parse_args()
    if args.from_run:
        return sampling_weights(Path(args.from_run), args.per_class)

    from clothgan import generate
    from clothgan.evaluation.evaluate import EvalConfig, evaluate
    from clothgan.training.train import train

    run_dir = Path(args.out) / (args.variant if args.seed == 0 else f"{args.variant}-seed{args.seed}")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    data, model, training = configs(args.variant)
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = train(run_dir, data, model, training.replace(epochs=10_000, seed=args.seed),
                   cpu_minutes=args.cpu_minutes, progress=False, verbose=False)
    train_cpu = result.history[-1]["cpu_seconds"] if result.history else 0.0
    which = "last" if args.variant == "no-keeper" else "best"
    images = generate(run_dir, args.per_class, run_dir.with_name(f"{run_dir.name}-images"),
                      overwrite=True, progress=False, which=which)
    # The judge and the held-out photos are the standard data's, for every variant.
    ev = evaluate(images.out_dir, EvalConfig(data=DataConfig(), augmentation=False,
                                             memorisation=False), progress=False)
    from clothgan.training.selection import read_best

    print(json.dumps({
        "variant": args.variant, "seed": args.seed, "cpu_minutes_budget": args.cpu_minutes,
        "train_cpu_seconds": train_cpu, "process_cpu_seconds": round(time.process_time() - cpu0, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1), "epochs": result.epochs_done,
        "generator": which, "best": read_best(run_dir), "truncation": images.truncation,
        "fid": ev.fid, "fid_reference": ev.fid_reference, "class_consistency": ev.class_consistency,
        "judge_accuracy": ev.real_accuracy, "cas": ev.cas_accuracy,
        "train_on_real": ev.real_trained_accuracy, "kid": ev.kid, "class_mix": ev.class_mix,
    }))


def sampling_weights(run_dir: Path, per_class: int) -> None:
    """Print one JSON row each for RUN_DIR's last epoch sampled with EMA and with raw weights."""
    from clothgan import generate
    from clothgan.evaluation.evaluate import EvalConfig, evaluate

    raw = export_raw_generator(run_dir, run_dir.with_name(run_dir.name + "-raw"))
    for name, source, which in (("ema", run_dir, "last"), ("raw", raw, "last")):
        images = generate(source, per_class, run_dir.with_name(f"{run_dir.name}-{name}-images"),
                          overwrite=True, progress=False, which=which)
        ev = evaluate(images.out_dir, EvalConfig(data=DataConfig(), augmentation=False,
                                                 memorisation=False), progress=False)
        print(json.dumps({"run": str(run_dir), "sampling": name, "fid": ev.fid,
                          "class_consistency": ev.class_consistency, "cas": ev.cas_accuracy,
                          "kid": ev.kid, "class_mix": ev.class_mix}))


if __name__ == "__main__":
    main()
