"""Mixed precision against float32 on whatever device Keras sees, as JSON on stdout.

Mixed means mixed_float16 on a GPU (what `clothgan train --precision auto` picks there) and
mixed_bfloat16 elsewhere. Two checks:

- shipped generators (trained weights): the same noise through a float32 and a mixed copy. It
  reports the difference in 8-bit grey levels, non-finite pixels, and images/s for each copy;
- both network families (article, projection) at 28x28 grey and 64x64 RGB, from identical fresh
  weights: the discriminator's loss on images, and the generator's non-saturating loss through
  the discriminator. It reports the gradients' relative error and cosine against float32, with
  and without the loss scale that `clothgan.training.build_gan` wraps float16 optimizers in
  (2**15 to start), and the share of gradient entries that underflow to zero.

The script uses only Keras, so it runs on TensorFlow or JAX, for example on a GPU machine that
has no TensorFlow:

    python bench/precision.py [--images 4096] [--repeats 5]
    KERAS_BACKEND=jax python bench/precision.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout, uninstalled


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4096, help="images per shipped generator")
    parser.add_argument("--batch", type=int, default=64, help="batch for the gradient checks")
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args()


# --help answers before Keras loads (tests/contracts/test_bench.py runs every script's --help).
ARGS = parse_args() if __name__ == "__main__" else None

import keras  # noqa: E402
import numpy as np  # noqa: E402

from clothgan.config import preset as preset_configs  # noqa: E402
from clothgan.sampling.sampler import class_noise, with_precision  # noqa: E402
from clothgan.gan import build_discriminator, build_generator  # noqa: E402
from clothgan.pretrained import available, pretrained_dir  # noqa: E402
from clothgan.gan.saved import load_generator  # noqa: E402

GREY = 2.0 / 255.0
LOSS_SCALE = 2.0 ** 15


def device() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "CPU"
    return backend


def on_gpu() -> bool:
    return "cpu" not in device().lower()


def images_per_s(model, inputs, repeats: int) -> float:
    model.predict(inputs, batch_size=1024, verbose=0)    # compile and warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict(inputs, batch_size=1024, verbose=0)
        times.append(time.perf_counter() - t0)
    return len(inputs[0]) / statistics.median(times)


def shipped(policy: str, n: int, repeats: int) -> dict:
    out = {}
    for name in available():
        print(f"precision: shipped generator {name}", file=sys.stderr, flush=True)
        g32, info = load_generator(pretrained_dir(name))
        mixed = with_precision(g32, policy)
        classes = len(info.class_names)
        per = -(-n // classes)
        z = np.concatenate([class_noise(0, c, per, info.latent_dim) for c in range(classes)])
        y = np.repeat(np.arange(classes, dtype=np.int32), per)
        a = g32.predict([z, y], batch_size=1024, verbose=0)
        b = np.asarray(mixed.predict([z, y], batch_size=1024, verbose=0), np.float32)
        diff = np.abs(a - b) / GREY
        out[name] = dict(images=len(z), mean_grey_levels=float(diff.mean()),
                         p999_grey_levels=float(np.quantile(diff, 0.999)),
                         max_grey_levels=float(diff.max()),
                         nonfinite=int((~np.isfinite(b)).sum()),
                         float32_images_per_s=images_per_s(g32, [z, y], repeats),
                         mixed_images_per_s=images_per_s(mixed, [z, y], repeats))
    return out


def value_and_grads(loss_fn, models, trained: int):
    """loss_fn(*models) and its gradient with respect to models[trained]'s trainable weights."""
    backend = keras.backend.backend()
    target = models[trained]
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(*models)
        grads = tape.gradient(loss, target.trainable_variables)
        return float(loss), [np.asarray(tf.convert_to_tensor(g), np.float32) for g in grads]
    if backend == "jax":
        import jax

        # Every model's weights go in as arguments: captured as constants, XLA folds them slowly.
        states = [([v.value for v in m.trainable_variables], [v.value for v in m.non_trainable_variables])
                  for m in models]

        def pure(weights, states):
            def caller(model, tv, ntv):
                return lambda inputs, training=False: model.stateless_call(tv, ntv, inputs,
                                                                           training=training)[0]

            return loss_fn(*[caller(m, weights if i == trained else tv, ntv)
                             for i, (m, (tv, ntv)) in enumerate(zip(models, states))])

        loss, grads = jax.jit(jax.value_and_grad(pure))(states[trained][0], states)
        return float(loss), [np.asarray(g, np.float32) for g in grads]
    raise SystemExit(f"bench/precision.py supports the tensorflow and jax backends, not {backend}")


def d_output_loss(cfg, out):
    out = keras.ops.cast(out, "float32")
    if cfg.loss == "hinge":
        return keras.ops.mean(keras.ops.relu(1.0 - out))
    return -keras.ops.mean(keras.ops.log(out + 1e-7))


def compare(loss_fn, models32, models_mixed, trained: int) -> dict:
    l32, g32 = value_and_grads(loss_fn(1.0), models32, trained)
    flat32 = np.concatenate([g.ravel() for g in g32])
    result = dict(loss_float32=l32)
    for label, scale in (("unscaled", 1.0), ("scaled", LOSS_SCALE)):
        lm, gm = value_and_grads(loss_fn(scale), models_mixed, trained)
        flat = np.concatenate([g.ravel() for g in gm]) / scale
        live = flat32 != 0
        result[f"loss_mixed_{label}"] = lm / scale
        result[f"grad_rel_error_{label}"] = float(np.linalg.norm(flat - flat32) / np.linalg.norm(flat32))
        result[f"grad_cosine_{label}"] = float(flat @ flat32 / (np.linalg.norm(flat) * np.linalg.norm(flat32)))
        result[f"grad_underflow_{label}"] = float(np.mean(flat[live] == 0))
        result[f"grad_nonfinite_{label}"] = int((~np.isfinite(flat)).sum())
    return result


def fresh(policy: str, batch: int) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for preset in ("quality", "projection"):
        for size, channels in ((28, 1), (64, 3)):
            cfg = preset_configs(preset)[0].replace(image_size=size, channels=channels)
            print(f"precision: {preset} networks, {size}x{size}x{channels}", file=sys.stderr, flush=True)
            keras.utils.set_random_seed(0)
            g32, d32 = build_generator(cfg), build_discriminator(cfg)
            gm, dm = build_generator(cfg, policy), build_discriminator(cfg, policy)
            gm.set_weights(g32.get_weights())
            dm.set_weights(d32.get_weights())
            # Tensors, not arrays: Keras refuses a nested input that mixes the two.
            real, z, y = (keras.ops.convert_to_tensor(a) for a in (
                rng.uniform(-1, 1, (batch, size, size, channels)).astype(np.float32),
                rng.standard_normal((batch, cfg.latent_dim)).astype(np.float32),
                rng.integers(0, cfg.num_classes, batch).astype(np.int32)))

            def d_loss(scale):
                return lambda d: scale * d_output_loss(cfg, d([real, y], training=False))

            def g_loss(scale):
                # The generator trains in batch-statistics mode; the discriminator is frozen here.
                return lambda g, d: scale * d_output_loss(cfg, d([g([z, y], training=True), y],
                                                                 training=False))

            out[f"{preset}-{size}x{size}x{channels}"] = dict(
                networks=cfg.networks,
                discriminator=compare(d_loss, [d32], [dm], 0),
                generator=compare(g_loss, [g32, d32], [gm, dm], 0))
    return out


def main() -> None:
    args = ARGS or parse_args()
    policy = "mixed_float16" if on_gpu() else "mixed_bfloat16"
    print(json.dumps(dict(backend=keras.backend.backend(), keras=keras.__version__, device=device(),
                          machine=platform.machine(), policy=policy,
                          shipped=shipped(policy, args.images, args.repeats),
                          networks=fresh(policy, args.batch)), indent=1))


if __name__ == "__main__":
    main()
