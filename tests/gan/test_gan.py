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


@pytest.mark.parametrize("schedule,updates_d", [("fused", 2), ("reference", 2)])
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


def test_fused_step_does_less_work_than_the_reference():
    g, d = 140e6, 15e6
    art = step_flops(g, d, 32, 2, "reference")
    fused = step_flops(g, d, 32, 2, "fused")
    assert fused < art
    # Per real image: G forward for D's fake + 3x G for 2 fakes; D 3x on real and fake,
    # 2x (forward + input gradient) on the 2 fakes of the G update.
    assert art / 32 == pytest.approx(7 * g + 10 * d)
    # Fused: 3x G on 2 fakes; D 3x on 1 real + 2 fakes, plus 2x (forward + input gradient)
    # through the updated D on the 2 fakes for G's loss.
    assert fused / 32 == pytest.approx(6 * g + 9 * d + 4 * d)


class _NotebookCGAN(keras.Model):
    """Notebook 05's class as a learner writes it: the library's must train identically."""

    def __init__(self, generator, discriminator, num_classes, seed=0):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.num_classes = generator.inputs[0].shape[-1], num_classes
        self.bce = keras.losses.BinaryCrossentropy()
        self.seeds = keras.random.SeedGenerator(seed)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def sample_latent(self, n):
        return (keras.random.normal((n, self.latent_dim), seed=self.seeds),
                keras.random.randint((n,), 0, self.num_classes, seed=self.seeds, dtype="int32"))

    def _update(self, net, optimizer, tape, loss):
        optimizer.apply_gradients(zip(tape.gradient(loss, net.trainable_weights), net.trainable_weights))

    def discriminator_step(self, images, labels, target):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            p = self.discriminator([images, labels], training=True)
            loss = self.bce(tf.fill(tf.shape(p), target), p)
        self._update(self.discriminator, self.d_optimizer, tape, loss)
        return loss, p

    def generator_step(self, n):
        import tensorflow as tf

        noise, labels = self.sample_latent(n)
        with tf.GradientTape() as tape:
            p = self.discriminator([self.generator([noise, labels], training=True), labels],
                                   training=True)
            loss = self.bce(tf.ones_like(p), p)
        self._update(self.generator, self.g_optimizer, tape, loss)
        return loss, p

    def train_step(self, data):
        import tensorflow as tf

        real, labels = data
        n = tf.shape(real)[0]
        loss_real, _ = self.discriminator_step(real, labels, 1.0)
        noise, fake_labels = self.sample_latent(n)
        fake = self.generator([noise, fake_labels], training=False)
        loss_fake, _ = self.discriminator_step(fake, fake_labels, 0.0)
        g_loss, _ = self.generator_step(2 * n)
        return {"d_loss": (loss_real + loss_fake) / 2, "g_loss": g_loss}


def test_reference_schedule_trains_exactly_like_the_notebook_class():
    """Notebook 05 proves the learner's class is the library's: same start, same batches, same
    weights after fit()."""
    import tensorflow as tf

    from clothgan.course.compare import same_training

    images, labels = _batch(16)
    trained = []
    for cls in (_NotebookCGAN, ConditionalGAN):
        keras.utils.set_random_seed(5)
        g, d = build_generator(GANConfig()), build_discriminator(GANConfig())
        gan = (cls(g, d, 10, seed=5) if cls is _NotebookCGAN
               else cls(g, d, schedule="reference", seed=5))
        gan.compile(d_optimizer=adam(), g_optimizer=adam())
        gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(8).repeat(2),
                epochs=1, verbose=0)
        trained.append(gan)
    assert same_training(*trained)
    other = _gan("fused", fake_per_real=2, seed=5)   # a different schedule: different weights
    other.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(8).repeat(2),
              epochs=1, verbose=0)
    assert not same_training(trained[0], other)
