"""ConditionalGAN: each update touches only its own network; the fused and article steps train both."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from clothgan.config import GANConfig  # noqa: E402
from clothgan.gan import ConditionalGAN, METRICS
from clothgan.gan.networks import step_flops  # noqa: E402
from clothgan.gan import adam, build_discriminator, build_generator  # noqa: E402
from helpers import random_batch as _batch  # noqa: E402


def _gan(schedule="fused", fake_per_real=1, seed=0):
    keras.utils.set_random_seed(seed)
    cfg = GANConfig()
    gan = ConditionalGAN(build_generator(cfg), build_discriminator(cfg), schedule=schedule,
                         fake_per_real=fake_per_real, seed=seed)
    gan.compile(adam(), adam())
    return gan


def _snapshot(model):
    return [w.copy() for w in model.get_weights()]


def _changed(before, model):
    return [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]


def test_discriminator_step_changes_only_the_discriminator():
    gan = _gan()
    g0, d0 = _snapshot(gan.generator), _snapshot(gan.discriminator)
    images, labels = _batch()
    loss, p = gan.discriminator_step(images, labels, 1.0)
    assert np.isfinite(float(loss)) and tuple(p.shape) == (8, 1)
    assert not any(_changed(g0, gan.generator))
    assert all(_changed(d0, gan.discriminator))        # every kernel and bias moved
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 0


def test_generator_step_changes_only_the_generator():
    gan = _gan()
    g0, d0 = _snapshot(gan.generator), _snapshot(gan.discriminator)
    loss, _ = gan.generator_step(8)
    assert np.isfinite(float(loss))
    assert not any(_changed(d0, gan.discriminator))
    # Only the label rows that were drawn get embedding gradients; every dense/conv weight moves.
    changed = dict(zip([v.path for v in gan.generator.weights], _changed(g0, gan.generator)))
    assert all(v for k, v in changed.items() if "embedding" not in k)
    assert int(gan.g_optimizer.iterations) == 1 and int(gan.d_optimizer.iterations) == 0


@pytest.mark.parametrize("schedule,updates_d", [("fused", 2), ("article", 2)])
def test_train_step_updates_both_networks(schedule, updates_d):
    gan = _gan(schedule, fake_per_real=2)
    g0, d0 = _snapshot(gan.generator), _snapshot(gan.discriminator)
    logs = gan.train_step(_batch())
    assert set(logs) == set(METRICS)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(_changed(g0, gan.generator)) and any(_changed(d0, gan.discriminator))
    assert int(gan.d_optimizer.iterations) == updates_d
    assert int(gan.g_optimizer.iterations) == 1


def test_fit_learns_to_tell_real_from_fake():
    """A few compiled steps on a fixed batch: D's loss falls well below chance (ln 2)."""
    import tensorflow as tf

    gan = _gan()
    images, labels = _batch(16)
    ds = tf.data.Dataset.from_tensors((images, labels)).repeat(30)
    hist = gan.fit(ds, epochs=1, verbose=0, shuffle=False).history
    assert hist["d_loss"][-1] < np.log(2)
    assert hist["d_real_acc"][-1] > 0.8


def test_sample_latent_follows_the_seed_stream():
    a, b = _gan(seed=3), _gan(seed=3)
    na, la = a.sample_latent(6)
    nb, lb = b.sample_latent(6)
    np.testing.assert_array_equal(np.asarray(na), np.asarray(nb))
    np.testing.assert_array_equal(np.asarray(la), np.asarray(lb))
    n2, _ = a.sample_latent(6)                      # the stream moves on
    assert not np.array_equal(np.asarray(na), np.asarray(n2))
    assert np.asarray(la).min() >= 0 and np.asarray(la).max() < 10


def test_fused_step_does_less_work_than_the_article():
    g, d = 140e6, 15e6
    art = step_flops(g, d, 32, 2, "article")
    fused = step_flops(g, d, 32, 2, "fused")
    assert fused < art
    # Per real image: G forward for D's fake + 3x G for 2 fakes; D 3x on real and fake,
    # 2x (forward + input gradient) on the 2 fakes of the G update.
    assert art / 32 == pytest.approx(7 * g + 10 * d)
    # Fused: 3x G on 2 fakes; D 3x on 1 real + 2 fakes, plus 2x (forward + input gradient)
    # through the updated D on the 2 fakes for G's loss.
    assert fused / 32 == pytest.approx(6 * g + 9 * d + 4 * d)
