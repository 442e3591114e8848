"""ConditionalGAN: the generator and discriminator trained together, correctly under Keras 3.

One `keras.Model` owns both networks and both optimizers; `train_step` records one gradient
tape per network, so each optimizer only ever sees its own network's weights — no
`trainable = False` toggling, which Keras 3 does not honour the way Keras 2 did.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from .config import TrainConfig
from .models import forward_flops

METRICS = ("d_loss", "g_loss", "d_real_acc", "d_fake_acc")


class ConditionalGAN(keras.Model):
    """Generator + discriminator with a custom `train_step`.

    Data: batches of (real images in [-1, 1], integer labels). Per step, with r real images:
    schedule "fused": the generator makes `fake_per_real * r` images once; the discriminator
    judges real and generated images in one forward pass; its loss (real -> 1, generated -> 0)
    updates D and the generator's loss (generated -> 1) updates G, both from that single pass.
    schedule "article": the tutorial's three updates — D on the reals, D on r fresh fakes, G on
    `fake_per_real * r` fresh fakes through the updated D.
    `call(inputs)` is the generator, so the model samples like `generator([noise, labels])`.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 num_classes: int | None = None, fake_per_real: int = 2,
                 schedule: str = "fused", seed: int = 0, **kwargs):
        kwargs.setdefault("name", "conditional_gan")
        super().__init__(**kwargs)
        if schedule not in ("fused", "article"):
            raise ValueError(f"schedule must be 'fused' or 'article', got {schedule!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.num_classes = int(num_classes or generator.get_layer("label_embedding").input_dim)
        self.fake_per_real = int(fake_per_real)
        self.schedule = schedule
        # The noise and fake-label stream: a variable, so checkpoints carry its state.
        self.noise_seed = keras.random.SeedGenerator(seed, name="noise_seed")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
        # Both networks are built Functional models; without this, fit() under a distribution
        # strategy tries a symbolic call with the (images, labels) batch.
        self.built = True

    @classmethod
    def from_config_objects(cls, generator, discriminator, train_cfg: TrainConfig) -> "ConditionalGAN":
        return cls(generator, discriminator, fake_per_real=train_cfg.fake_per_real,
                   schedule=train_cfg.schedule, seed=train_cfg.seed)

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer,
                loss_fn: keras.losses.Loss | None = None, **kwargs):
        """Two optimizers and the adversarial loss (default: binary cross-entropy on probabilities).

        kwargs go to keras.Model.compile (jit_compile, steps_per_execution).
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn or keras.losses.BinaryCrossentropy()
        # Build slots now: checkpoints can then be restored before the first step.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # -- pieces ------------------------------------------------------------------------------
    def sample_latent(self, n):
        """(noise, labels) for n generated images: standard normal noise, uniform classes.

        Drawn from the checkpointed seed stream; each replica folds in its id so that replicas
        of a distributed step generate different images.
        """
        seed = ops.cast(self.noise_seed.next(), "int64")
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        seed = tf.random.experimental.stateless_fold_in(seed, replica)
        noise_seed, label_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        noise = tf.random.stateless_normal((n, self.latent_dim), seed=noise_seed)
        labels = tf.random.stateless_uniform((n,), seed=label_seed, minval=0,
                                             maxval=self.num_classes, dtype=tf.int32)
        return noise, labels

    def _loss(self, target: float, p):
        return self.loss_fn(ops.full_like(p, target), p)

    def _apply(self, optimizer, tape, loss, variables):
        grads = tape.gradient(optimizer.scale_loss(loss), variables)
        optimizer.apply_gradients(zip(grads, variables))

    def _track(self, d_loss, g_loss, p_real, p_fake):
        # Losses from keras.losses are pre-divided by the replica count (gradients are summed
        # across replicas); undo that for the numbers people read.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if d_loss is not None:
            self.trackers["d_loss"].update_state(d_loss * replicas)
        if g_loss is not None:
            self.trackers["g_loss"].update_state(g_loss * replicas)
        if p_real is not None:
            self.trackers["d_real_acc"].update_state(ops.cast(p_real > 0.5, "float32"))
        if p_fake is not None:
            self.trackers["d_fake_acc"].update_state(ops.cast(p_fake < 0.5, "float32"))

    def discriminator_step(self, images, labels, target: float):
        """One update of D alone on a batch that is all real (target 1) or all fake (target 0)."""
        d = self.discriminator
        with tf.GradientTape() as tape:
            p = d([images, labels], training=True)
            loss = self._loss(target, p)
        self._apply(self.d_optimizer, tape, loss, d.trainable_variables)
        return loss, p

    def generator_step(self, n):
        """One update of G alone: n generated images pushed towards D's 'real'."""
        g, d = self.generator, self.discriminator
        noise, labels = self.sample_latent(n)
        with tf.GradientTape() as tape:
            p = d([g([noise, labels], training=True), labels], training=True)
            loss = self._loss(1.0, p)
        self._apply(self.g_optimizer, tape, loss, g.trainable_variables)
        return loss, p

    # -- the training steps --------------------------------------------------------------------
    def train_step(self, data):
        real, labels = data[0], data[1]
        if self.schedule == "article":
            self._article_step(real, labels)
        else:
            self._fused_step(real, labels)
        return {name: t.result() for name, t in self.trackers.items()}

    def _article_step(self, real, labels):
        r = ops.shape(real)[0]
        loss_real, p_real = self.discriminator_step(real, labels, 1.0)
        noise, fake_labels = self.sample_latent(r)
        fake = self.generator([noise, fake_labels], training=False)
        loss_fake, p_fake = self.discriminator_step(fake, fake_labels, 0.0)
        g_loss, _ = self.generator_step(r * self.fake_per_real)
        self._track(0.5 * (loss_real + loss_fake), g_loss, p_real, p_fake)

    def _fused_step(self, real, labels):
        g, d = self.generator, self.discriminator
        r = ops.shape(real)[0]
        noise, fake_labels = self.sample_latent(r * self.fake_per_real)
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = g([noise, fake_labels], training=True)
            # One discriminator pass over reals and fakes together serves both losses.
            images = ops.concatenate([ops.cast(real, fake.dtype), fake], axis=0)
            p = d([images, ops.concatenate([labels, fake_labels], axis=0)], training=True)
            p_real, p_fake = p[:r], p[r:]
            d_loss = 0.5 * (self._loss(1.0, p_real) + self._loss(0.0, p_fake))
            g_loss = self._loss(1.0, p_fake)
        self._apply(self.d_optimizer, d_tape, d_loss, d.trainable_variables)
        self._apply(self.g_optimizer, g_tape, g_loss, g.trainable_variables)
        self._track(d_loss, g_loss, p_real, p_fake)


def step_flops(g_flops: int, d_flops: int, real: int, fake_per_real: int, schedule: str) -> int:
    """Useful floating-point operations of one training step (backward = 2x forward).

    article: G forward for r fakes; D forward+backward on r reals and on r fakes; G+D forward on
    f fakes, D backward to its input only (frozen), G backward.
    fused: G forward+backward on f fakes; D forward on r+f images, backward to weights and input
    for its own loss; backward to the input only for G's loss on the f fakes.
    """
    r, f = real, real * fake_per_real
    if schedule == "article":
        return g_flops * r + 3 * d_flops * 2 * r + (3 * g_flops + 2 * d_flops) * f
    return 3 * g_flops * f + 3 * d_flops * (r + f) + d_flops * f


def model_step_flops(gan: ConditionalGAN, real: int) -> int:
    """step_flops() for this model's networks and schedule."""
    return step_flops(forward_flops(gan.generator), forward_flops(gan.discriminator), real,
                      gan.fake_per_real, gan.schedule)


def snapshot(model: keras.Model) -> list:
    """Copies of a model's weights (NumPy), to compare after an update."""
    return [w.copy() for w in model.get_weights()]


def weights_changed(before: list, model: keras.Model) -> bool:
    """True when any weight of `model` differs from the snapshot `before`."""
    import numpy as np

    return any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
