"""Benchmark: CGAN training throughput of the seed architecture on the real data.

Prints one JSON object. All loops run in this process on the same prepared images, interleaved
over --repeats rounds (medians reported) so that a busy machine slows all of them alike:

  article        the tutorial's loop: d.train_on_batch(real half), g.predict + d.train_on_batch
                 (fake half), gan.train_on_batch(full batch) — made to work under Keras 3 by
                 setting d.trainable before each call (the composite is compiled with D frozen);
  same_schedule  the project's ConditionalGAN, fused step, same batch (32 real; 64 generated
                 images train G), float32;
  same_schedule_xla  the same with XLA jit_compile;
  default        the project's defaults (TrainConfig(): fused, 32 real + 32 generated, mixed
                 precision where the hardware has it).

Throughput is real images per second (the work a user waits for per epoch). GFLOP/s counts the
dense/conv work of each schedule (clothgan.gan.step_flops: backward = 2x forward) and is
compared with float32 and bfloat16 matmul peaks measured in the same run. On a shared machine
wall-clock rates swing with other processes' load, so every rate is also given per CPU second
of this process (and the peak share computed from CPU time), which the load barely moves. The input pipeline's
own rate (batches produced with no training) shows that it cannot starve the step.

    CLOTHGAN_DATA_DIR=../shared/datasets/clothing-dataset-full python bench/train.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

TARGET_SAME_SCHEDULE_PEAK_SHARE = 0.60
TARGET_DEFAULT_SPEEDUP = 3.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def matmul_peak(dtype: str, n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """Median (GFLOP per wall second, GFLOP per CPU second) of an n^3 matmul in `dtype`."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    mm = tf.function(lambda: tf.matmul(a, b))
    mm().numpy()
    wall, cpu = [], []
    for _ in range(repeats):
        c, t = _cpu(), time.perf_counter()
        for _ in range(3):
            r = mm()
        r.numpy()
        wall.append(3 * 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
        cpu.append(3 * 2 * n ** 3 / (_cpu() - c) / 1e9)
    return statistics.median(wall), statistics.median(cpu)


class ArticleLoop:
    """The tutorial's train() loop body, one batch per call, on the same arrays."""

    def __init__(self, x, y, cfg, batch=64, seed=0):
        import keras

        from clothgan.gan import build_discriminator, build_generator
        from clothgan.gan.classic import build_composite_gan, compile_classic_discriminator

        keras.utils.set_random_seed(seed)
        self.x, self.y, self.half, self.batch = x, y, batch // 2, batch
        self.latent, self.classes = cfg.latent_dim, cfg.num_classes
        self.d = compile_classic_discriminator(build_discriminator(cfg))
        self.g = build_generator(cfg, fast_output_conv=False)     # the article's plain Conv2D
        self.gan = build_composite_gan(self.g, self.d)
        self.rng = np.random.default_rng(seed)
        self.real = self.half

    def latent_points(self, n):
        z = self.rng.standard_normal((n, self.latent)).astype(np.float32)
        return z, self.rng.integers(0, self.classes, n).astype(np.int32)

    def step(self):
        i = self.rng.integers(0, len(self.x), self.half)
        self.d.trainable = True                     # the Keras 3 fix: D trainable for its own updates
        self.d.train_on_batch([self.x[i], self.y[i]], np.ones((self.half, 1), np.float32))
        z, labels = self.latent_points(self.half)
        fake = self.g.predict([z, labels], verbose=0)
        self.d.train_on_batch([fake, labels], np.zeros((self.half, 1), np.float32))
        self.d.trainable = False                    # ... and frozen inside the composite
        z, labels = self.latent_points(self.batch)
        self.gan.train_on_batch([z, labels], np.ones((self.batch, 1), np.float32))

    def run(self, steps):
        for _ in range(steps):
            self.step()

    def check_trains_both(self):
        """The fix works: a step changes D's and G's weights."""
        from clothgan.gan.classic import snapshot, weights_changed

        d0, g0 = snapshot(self.d), snapshot(self.g)
        self.step()
        return weights_changed(d0, self.d) and weights_changed(g0, self.g)


class ProjectLoop:
    """ConditionalGAN.fit on the training pipeline, `steps` steps per call."""

    def __init__(self, x, y, cfg, training):
        from clothgan.core.hardware import resolve_precision
        from clothgan.training.batches import epoch_batches
        from clothgan.training.train import build_gan

        import keras

        keras.utils.set_random_seed(training.seed)
        self.policy = resolve_precision(training.precision)
        self.gan = build_gan(cfg, training, self.policy)
        self.real = training.real_per_step
        self.ds = epoch_batches(x, y, self.real, training.seed, 0, 1000)
        self.gan.fit(self.ds, steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)   # trace

    def run(self, steps):
        self.gan.fit(self.ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)


def pipeline_rate(x, y, real, steps=300) -> float:
    """Real images per second the input pipeline alone delivers."""
    from clothgan.training.batches import epoch_batches

    it = iter(epoch_batches(x, y, real, 0, 0, 1000))
    next(it)
    t = time.perf_counter()
    for _ in range(steps):
        next(it)
    return steps * real / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="clothing-full")
    ap.add_argument("--steps", type=int, default=40, help="timed steps per loop and round")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (medians)")
    ap.add_argument("--no-xla", action="store_true", help="skip the XLA measurement")
    args = ap.parse_args()

    import keras
    import tensorflow as tf

    from clothgan.config import DataConfig, GANConfig, TrainConfig
    from clothgan.errors import ClothganError
    from clothgan.gan.networks import step_flops
    from clothgan.gan import build_discriminator, build_generator, forward_flops
    from clothgan.data import load_split

    try:
        arrays = load_split(DataConfig(dataset=args.dataset), "train")
    except ClothganError as exc:
        print(f"bench/train.py: {exc}", file=sys.stderr)
        return 2
    x, y = arrays.x, arrays.y
    cfg = GANConfig()
    g_fl, d_fl = forward_flops(build_generator(cfg)), forward_flops(build_discriminator(cfg))
    same = TrainConfig.reference(schedule="fused", precision="float32")
    default = TrainConfig()
    loops = {"article": ArticleLoop(x, y, cfg, batch=64)}
    loops["same_schedule"] = ProjectLoop(x, y, cfg, same)
    if not args.no_xla:
        loops["same_schedule_xla"] = ProjectLoop(x, y, cfg, same.replace(jit_compile=True))
    loops["default"] = ProjectLoop(x, y, cfg, default)
    schedules = {"article": (32, 2, "article"), "same_schedule": (32, 2, "fused"),
                 "same_schedule_xla": (32, 2, "fused"),
                 "default": (default.real_per_step, default.fake_per_real, default.schedule)}
    article_trains_both = loops["article"].check_trains_both()
    loops["article"].run(3)                                     # warm up predict / train_on_batch

    wall: dict[str, list[float]] = {k: [] for k in loops}
    cpu: dict[str, list[float]] = {k: [] for k in loops}
    peaks = {"float32": [], "bfloat16": []}
    peaks_cpu = {"float32": [], "bfloat16": []}
    for _ in range(args.repeats):
        for dt in peaks:
            w, c = matmul_peak(dt)
            peaks[dt].append(w)
            peaks_cpu[dt].append(c)
        for name, loop in loops.items():
            c, t = _cpu(), time.perf_counter()
            loop.run(args.steps)
            wall[name].append(args.steps * loop.real / (time.perf_counter() - t))
            cpu[name].append(args.steps * loop.real / (_cpu() - c))
    peak = {k: statistics.median(v) for k, v in peaks.items()}
    peak_cpu = {k: statistics.median(v) for k, v in peaks_cpu.items()}
    base = statistics.median(wall["article"])
    results = {}
    for name in loops:
        r, fpr, sched = schedules[name]
        rate = statistics.median(wall[name])
        per_image = step_flops(g_fl, d_fl, r, fpr, sched) / r
        gflops = per_image * rate / 1e9
        gflop_per_cpu_s = per_image * statistics.median(cpu[name]) / 1e9
        results[name] = {
            "real_images_per_s": round(rate, 1),
            "real_images_per_cpu_s": round(statistics.median(cpu[name]), 1),
            "speedup_vs_article": round(rate / base, 2),
            "gflop_per_real_image": round(step_flops(g_fl, d_fl, r, fpr, sched) / r / 1e9, 3),
            "gflops": round(gflops, 1),
            "share_of_fp32_peak": round(gflops / peak["float32"], 3),
            "gflop_per_cpu_s": round(gflop_per_cpu_s, 1),
            "share_of_fp32_peak_cpu_time": round(gflop_per_cpu_s / peak_cpu["float32"], 3),
            "schedule": {"real": r, "generated_for_g": r * fpr, "step": sched},
            "policy": getattr(loops[name], "policy", "float32"),
            "rounds": [round(v, 1) for v in wall[name]],
        }
    results["default"]["share_of_bf16_peak"] = round(
        results["default"]["gflops"] / peak["bfloat16"], 3)
    results["default"]["share_of_bf16_peak_cpu_time"] = round(
        results["default"]["gflop_per_cpu_s"] / peak_cpu["bfloat16"], 3)
    pipe = pipeline_rate(x, y, default.real_per_step)
    out = {
        "benchmark": "train",
        "data": {"dataset": args.dataset, "train_images": int(len(x)), "image": list(x.shape[1:])},
        "model": {"preset": "seed", "g_forward_mflop": round(g_fl / 1e6, 2),
                  "d_forward_mflop": round(d_fl / 1e6, 2)},
        "peak_gflops": {k: round(v, 1) for k, v in peak.items()},
        "peak_gflop_per_cpu_s": {k: round(v, 1) for k, v in peak_cpu.items()},
        "loops": results,
        "article_fix_trains_both_networks": bool(article_trains_both),
        "input_pipeline_real_images_per_s": round(pipe, 1),
        "pipeline_headroom_vs_default": round(pipe / results["default"]["real_images_per_s"], 1),
        "targets": {
            "same_schedule_share_of_fp32_peak": TARGET_SAME_SCHEDULE_PEAK_SHARE,
            "same_schedule_met": results["same_schedule"]["share_of_fp32_peak"]
            >= TARGET_SAME_SCHEDULE_PEAK_SHARE,
            "same_schedule_met_cpu_time": results["same_schedule"]["share_of_fp32_peak_cpu_time"]
            >= TARGET_SAME_SCHEDULE_PEAK_SHARE,
            "default_speedup_vs_article": TARGET_DEFAULT_SPEEDUP,
            "default_met": results["default"]["speedup_vs_article"] >= TARGET_DEFAULT_SPEEDUP,
            "default_speedup_cpu_time": round(results["default"]["real_images_per_cpu_s"]
                                              / results["article"]["real_images_per_cpu_s"], 2),
        },
        "steps_per_round": args.steps, "repeats": args.repeats,
        "load_average_1m_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "python": platform.python_version()},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
