"""The `projection` preset: hinge loss, DiffAugment, EMA generator; run directory, CLI and exact resume."""
from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import checkpoint_arrays, make_tiny_folder, run_python_result  # noqa: E402

from clothgan.training.callbacks import SimulatedInterrupt  # noqa: E402
from clothgan.training.checkpoint import _groups, CHECKPOINT_FILE, read_checkpoint_meta  # noqa: E402
from clothgan.cli import main  # noqa: E402
from clothgan.config import DataConfig, GANConfig, preset, TrainConfig  # noqa: E402
from clothgan.gan import ConditionalGAN  # noqa: E402
from clothgan.gan import adam, build_discriminator, build_generator  # noqa: E402
from clothgan.gan.saved import load_generator
from clothgan.runs import read_run_info  # noqa: E402
from clothgan.training.train import train  # noqa: E402

SMALL = preset("projection")[0].replace(g_filters=16, d_filters=16, latent_dim=16)
TINY = TrainConfig(batch_size=16, epochs=2, precision="float32", seed=7)


def _gan(schedule="fused", cfg=SMALL):
    keras.utils.set_random_seed(0)
    gan = ConditionalGAN.from_config_objects(build_generator(cfg), build_discriminator(cfg),
                                             TrainConfig(schedule=schedule), cfg)
    gan.compile(adam(), adam())
    return gan


def _batch(n=8):
    rng = np.random.default_rng(0)
    # Tensors: a Keras call may not mix tensors (augmented images) with NumPy labels.
    return (keras.ops.convert_to_tensor(rng.uniform(-1, 1, (n, 28, 28, 1)).astype("float32")),
            keras.ops.convert_to_tensor(rng.integers(0, 10, n).astype("int32")))


def _trainable(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def _changed(before, model):
    return [not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables)]


def test_projection_preset_config_and_round_trip():
    cfg, training = preset("projection")
    assert (cfg.preset, cfg.networks, cfg.loss, cfg.ema_decay) == ("projection", "projection",
                                                                    "hinge", 0.999)
    assert set(cfg.augment) == {"color", "translation", "cutout"}
    assert GANConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg   # run.json trip
    with pytest.raises(ValueError, match="loss must be 'hinge'"):
        GANConfig(preset="projection", networks="projection")
    with pytest.raises(ValueError, match="loss must be 'bce'"):
        GANConfig(loss="hinge")
    with pytest.raises(ValueError, match="unknown augment"):
        preset("projection")[0].replace(augment=("rotate",))


def test_projection_steps_change_only_their_network_and_ema_follows_g():
    gan = _gan()
    images, labels = _batch()
    ema0 = [e.numpy().copy() for e in gan.ema_weights]
    g0, d0 = _trainable(gan.generator), _trainable(gan.discriminator)
    loss, logits = gan.discriminator_step(images, labels, 1.0)
    assert all(_changed(d0, gan.discriminator)) and not any(_changed(g0, gan.generator))
    # Hinge on logits: the loss is mean(relu(1 - logit)) of the (augmented) reals.
    assert float(loss) == pytest.approx(float(np.mean(np.maximum(0, 1 - np.asarray(logits)))),
                                        rel=1e-5)
    assert all(np.array_equal(a, e.numpy()) for a, e in zip(ema0, gan.ema_weights))

    g0, d0 = _trainable(gan.generator), _trainable(gan.discriminator)
    gan.generator_step(8)
    assert all(_changed(g0, gan.generator))
    assert int(gan.d_optimizer.iterations.numpy()) == 1        # no D update in G's step
    # D's forward pass in training mode re-projects each spectrally normalised kernel
    # (Keras' SpectralNormalization divides it by its largest singular value in place): every
    # change to D is one scalar per kernel, nothing else.
    for before, v in zip(d0, gan.discriminator.trainable_variables):
        after = v.numpy()
        if not np.array_equal(before, after):
            assert "kernel" in v.path, v.path
            ratio = after[before != 0] / before[before != 0]
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4, err_msg=v.path)
    assert int(gan.ema_steps.numpy()) == 1
    moved = 0
    for before, e, v in zip(ema0, gan.ema_weights, gan.generator.weights):
        now, target = e.numpy(), v.numpy()
        if not v.trainable:
            np.testing.assert_array_equal(now, target)   # BN statistics are copied
            continue
        if np.array_equal(before, target):
            continue
        # Strictly between the old average and the new weights.
        assert np.abs(now - target).sum() < np.abs(before - target).sum()
        assert not np.allclose(now, target)
        moved += 1
    assert moved > 0
    # Sampling uses the average, not the raw generator.
    assert not all(np.array_equal(a, b) for a, b in
                   zip(gan.sampling_weights(), gan.generator.get_weights()))


def test_projection_fused_and_reference_steps_train_with_augmentation():
    for schedule in ("fused", "reference"):
        gan = _gan(schedule)
        g0, d0 = _trainable(gan.generator), _trainable(gan.discriminator)
        images, labels = _batch()
        logs = gan.train_on_batch(images, labels, return_dict=True)
        assert all(np.isfinite(v) for v in logs.values())
        assert any(_changed(g0, gan.generator)) and any(_changed(d0, gan.discriminator))
        assert int(gan.ema_steps.numpy()) == 1


def test_diff_augment_seeds_come_from_the_checkpointed_stream():
    gan = _gan()
    x = _batch(4)[0]
    state = gan.noise_seed.state.numpy().copy()
    a = np.asarray(gan.augment_images(x))
    b = np.asarray(gan.augment_images(x))
    gan.noise_seed.state.assign(state)
    np.testing.assert_array_equal(a, np.asarray(gan.augment_images(x)))
    assert not np.array_equal(a, b) and not np.array_equal(a, x)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> DataConfig:
    return DataConfig(dataset=str(make_tiny_folder(tmp_path_factory.mktemp("tiny_projection"), 4)))


@pytest.fixture(scope="module")
def cli_run(tiny_data, tmp_path_factory):
    """`clothgan train --preset projection`, 2 epochs: the reference for resume."""
    out = tmp_path_factory.mktemp("qruns") / "cli"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLOTHGAN_HOME", str(tmp_path_factory.mktemp("qhome")))
        assert main(["train", "--out", str(out), "--preset", "projection", "--dataset",
                     tiny_data.dataset, "--batch-size", "16", "--epochs", "2", "--precision",
                     "float32", "--seed", "7", "--no-progress"]) == 0
    return out


def test_cli_projection_run_directory_samples_with_the_ema_generator(cli_run):
    info = read_run_info(cli_run)
    assert info.preset == "projection" and info.epochs_done == 2
    assert info.model_config() == preset("projection")[0]
    g, _ = load_generator(cli_run)
    images = np.asarray(g([np.zeros((3, 100), "float32"), np.arange(3, dtype="int32")]))
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1
    ckpt = checkpoint_arrays(cli_run / CHECKPOINT_FILE)
    ema = [ckpt[f"ema/{i:04d}"] for i in range(len(g.get_weights()))]
    raw = [ckpt[f"generator/{i:04d}"] for i in range(len(g.get_weights()))]
    for w, e in zip(g.get_weights(), ema):
        np.testing.assert_array_equal(w, e)           # generator.keras holds the EMA weights
    assert not all(np.array_equal(e, r) for e, r in zip(ema, raw))
    assert (cli_run / "samples" / "epoch_0002.png").is_file()


def test_projection_resume_is_exact(cli_run, tiny_data, tmp_path):
    out = tmp_path / "q"
    with pytest.raises(KeyboardInterrupt):
        train(out, tiny_data, preset("projection")[0], TINY, progress=False,
              verbose=False, callbacks=[SimulatedInterrupt(epoch=2, step=1)])
    assert read_checkpoint_meta(out / CHECKPOINT_FILE)["epoch"] == 1
    result = train(out, resume=True, progress=False, verbose=False)
    assert result.epochs_done == 2
    ref = checkpoint_arrays(cli_run / CHECKPOINT_FILE)
    now = {f"{g}/{i:04d}": np.asarray(v.numpy()) for g, vs in _groups(result.gan).items()
           for i, v in enumerate(vs)}
    assert now.keys() == ref.keys() and any(k.startswith("ema/") for k in now)
    for k in ref:
        np.testing.assert_allclose(now[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_projection_64x64_rgb_trains_and_samples(tiny_data, tmp_path):
    data = tiny_data.replace(image_size=64, channels=3)
    small = preset("projection")[0].replace(g_filters=8, d_filters=8, latent_dim=16)
    result = train(tmp_path / "rgb", data, small, TINY.replace(epochs=1), progress=False,
                   verbose=False)
    g, info = load_generator(result.run_dir)
    assert (info.image_size, info.channels) == (64, 3)
    images = np.asarray(g([np.zeros((2, 16), "float32"), np.array([0, 9], "int32")]))
    assert images.shape == (2, 64, 64, 3) and np.isfinite(images).all()


def test_projection_generator_loads_in_a_fresh_process(cli_run):
    """generator.keras holds custom layers: load_generator must register them itself."""
    import subprocess
    import sys

    code = ("import sys; from clothgan.gan import load_generator; "
            "g, info = load_generator(sys.argv[1]); print(info.preset, g.output.shape[1:])")
    out = subprocess.run([sys.executable, "-c", code, str(cli_run)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] == "projection" and "(28, 28, 1)" in out.stdout


def test_projection_trains_under_mirrored_strategy_on_two_logical_cpus(tiny_data, tmp_path):
    """Spectral norm and EMA update inside a 2-replica MirroredStrategy."""
    script = f"""
import json
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from clothgan.training.train import train
from clothgan.config import DataConfig, GANConfig, TrainConfig, preset
from clothgan.gan.saved import load_generator
model = preset("projection")[0].replace(g_filters=16, d_filters=16)
cfg = TrainConfig(batch_size=16, epochs=2, precision="float32", seed=7, strategy="mirrored")
r = train({str(tmp_path / "m")!r}, DataConfig(dataset={tiny_data.dataset!r}), model, cfg,
          progress=False, verbose=False)
g, _ = load_generator({str(tmp_path / "m")!r})
x = np.asarray(g([np.zeros((2, 100), "float32"), np.array([0, 1], "int32")]))
print("RESULT" + json.dumps({{"replicas": r.replicas, "ema_steps": int(r.gan.ema_steps.numpy()),
      "d_steps": int(r.gan.d_optimizer.iterations.numpy()),
      "g_steps": int(r.gan.g_optimizer.iterations.numpy()),
      "finite": bool(np.isfinite([h["d_loss"] for h in r.history]).all() and np.isfinite(x).all())}}))
"""
    res = run_python_result(script)
    assert res["replicas"] == 2 and res["finite"]
    # One EMA update per step, not per replica; the fused step updates D twice (reals, fakes).
    assert res["ema_steps"] == res["g_steps"] > 0 and res["d_steps"] == 2 * res["g_steps"]
