"""ConditionalGAN: the generator and discriminator trained together, correctly under Keras 3.

One `keras.Model` owns both networks and both optimizers; `train_step` records one gradient
tape per network, so each optimizer only ever sees its own network's weights — no
`trainable = False` toggling, which Keras 3 does not honour the way Keras 2 did.
"""
from __future__ import annotations

from contextlib import contextmanager

import keras
import tensorflow as tf
from keras import ops

from ..config import TrainConfig

METRICS = ("d_loss", "g_loss", "d_real_acc", "d_fake_acc")


class ConditionalGAN(keras.Model):
    """Generator + discriminator with a custom `train_step`.

    Data: batches of (real images in [-1, 1], integer labels). Per step, with r real images:
    schedule "fused": the generator makes `fake_per_real * r` images once; D takes a step on the
    reals (-> 1), then one on those images (-> 0), then G takes one on the same images judged by
    the updated D (-> 1): the article's three updates from one generator pass.
    schedule "article": the tutorial's three updates — D on the reals, D on r fresh fakes, G on
    `fake_per_real * r` fresh fakes through the updated D.
    `call(inputs)` is the generator, so the model samples like `generator([noise, labels])`.

    loss "bce": the discriminator outputs a probability (the seed preset). loss "hinge": it
    outputs a logit; D minimises relu(1 - real) + relu(1 + fake), G minimises -fake.
    augment: a DiffAugment policy (clothgan.gan.augment) applied to every image D sees, real or
    fake, with a per-step stateless seed drawn from the checkpointed seed stream.
    ema_decay > 0: `ema_weights` track an exponential moving average of G's weights after each
    G update (BN statistics copied); `sampling_weights()` returns them for sampling.
    lecam_weight > 0: LeCam regularisation of D (Tseng et al. 2021), for small datasets: D's loss
    gains lecam_weight * (mean((s_real - ema_fake)^2) + mean((s_fake - ema_real)^2)), s being D's
    logit and ema_real / ema_fake moving averages (decay lecam_decay) of its batch-mean scores.
    It keeps D's scores of real and generated images from drifting apart when D can memorise.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 num_classes: int | None = None, fake_per_real: int = 2,
                 schedule: str = "fused", seed: int = 0, loss: str = "bce",
                 augment: tuple[str, ...] = (), ema_decay: float = 0.0, aux_weight: float = 0.0,
                 lecam_weight: float = 0.0, lecam_decay: float = 0.99, **kwargs):
        kwargs.setdefault("name", "conditional_gan")
        super().__init__(**kwargs)
        if schedule not in ("fused", "article"):
            raise ValueError(f"schedule must be 'fused' or 'article', got {schedule!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.num_classes = int(num_classes or _generator_classes(generator))
        if loss not in ("bce", "hinge"):
            raise ValueError(f"loss must be 'bce' or 'hinge', got {loss!r}")
        self.loss_kind = loss
        self.augment = tuple(augment)
        self.fake_per_real = int(fake_per_real)
        self.schedule = schedule
        # The noise and fake-label stream: a variable, so checkpoints carry its state.
        self.noise_seed = keras.random.SeedGenerator(seed, name="noise_seed")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
        self.ema_decay = float(ema_decay)
        self.aux_weight = float(aux_weight)
        # One copy of each generator variable (trainable or not, in get_weights() order).
        self.ema_weights, self.ema_steps = [], None
        if self.ema_decay > 0:
            self.ema_weights = [keras.Variable(v.numpy(), trainable=False, autocast=False,
                                               name=f"ema_{i}", aggregation="only_first_replica")
                                for i, v in enumerate(generator.weights)]
            self.ema_steps = keras.Variable(0, dtype="int64", trainable=False, autocast=False,
                                            name="ema_steps", aggregation="only_first_replica")
        self.lecam_weight, self.lecam_decay = float(lecam_weight), float(lecam_decay)
        self.lecam_ema = None   # [moving average of D's mean score on reals, on fakes]
        if self.lecam_weight > 0:
            self.lecam_ema = keras.Variable([0.0, 0.0], dtype="float32", trainable=False,
                                            autocast=False, name="lecam_ema",
                                            aggregation="only_first_replica")
        # Both networks are built Functional models; without this, fit() under a distribution
        # strategy tries a symbolic call with the (images, labels) batch.
        self.built = True

    @classmethod
    def from_config_objects(cls, generator, discriminator, train_cfg: TrainConfig,
                            model_cfg=None) -> "ConditionalGAN":
        extra = {}
        if model_cfg is not None:
            extra = dict(num_classes=model_cfg.num_classes, loss=model_cfg.loss,
                         augment=model_cfg.augment, ema_decay=model_cfg.ema_decay,
                         aux_weight=model_cfg.aux_weight, lecam_weight=model_cfg.lecam_weight,
                         lecam_decay=model_cfg.lecam_decay)
        return cls(generator, discriminator, fake_per_real=train_cfg.fake_per_real,
                   schedule=train_cfg.schedule, seed=train_cfg.seed, **extra)

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

    def fit(self, *args, **kwargs):
        # Grappler's remapper tries to fuse D's Conv2D + BiasAdd + LeakyRelu, which the
        # generator's loss still needs the BiasAdd output of (for LeakyReluGrad): it then fails
        # for the whole step graph and logs "remapper failed: INVALID_ARGUMENT" at error level.
        # The step gains nothing from it, so the step is traced and optimised without it.
        with _remapper_off():
            return super().fit(*args, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras's fit() peeks at the first distributed batch and strategy.reduce()s it to build
        # an unbuilt model symbolically; MultiWorkerMirroredStrategy cannot reduce an
        # (images, labels) tuple (a PerReplica-to-Tensor ValueError). Both networks and both
        # optimizers are built already (__init__, compile), so no batch is needed.
        super()._maybe_symbolic_build(iterator=None, data_batch=data_batch)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # -- pieces ------------------------------------------------------------------------------
    def replica_seed(self, offset: int = 0):
        """The next seed of the checkpointed stream with this replica's id (+ offset) folded in,
        so that the replicas of a distributed step draw differently."""
        seed = ops.cast(self.noise_seed.next(), "int64")
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx is not None else 0
        return tf.random.experimental.stateless_fold_in(seed, replica + offset)

    def sample_latent(self, n):
        """(noise, labels) for n generated images: standard normal noise, uniform classes.

        Drawn from the checkpointed seed stream; each replica folds in its id so that replicas
        of a distributed step generate different images.
        """
        seed = self.replica_seed()
        noise_seed, label_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        noise = tf.random.stateless_normal((n, self.latent_dim), seed=noise_seed)
        labels = tf.random.stateless_uniform((n,), seed=label_seed, minval=0,
                                             maxval=self.num_classes, dtype=tf.int32)
        return noise, labels

    def _loss(self, target: float, p):
        """D's loss (target 1: real, 0: fake); with hinge, target 1.0 from generator_step is G's."""
        if self.loss_kind == "hinge":
            return self._hinge(ops.relu(1.0 - p) if target == 1.0 else ops.relu(1.0 + p))
        return self.loss_fn(ops.full_like(p, target), p)

    def _g_loss(self, p):
        if self.loss_kind == "hinge":
            return self._hinge(-p)
        return self.loss_fn(ops.ones_like(p), p)

    def _split(self, p):
        """(realness, class logits or None) of a discriminator output."""
        if self.aux_weight > 0:
            return p[:, :1], p[:, 1:]
        return p, None

    def _aux(self, class_logits, labels):
        """aux_weight x cross-entropy of D's class logits (0 without the auxiliary classifier)."""
        if class_logits is None:
            return 0.0
        ce = keras.losses.sparse_categorical_crossentropy(labels, ops.cast(class_logits, "float32"),
                                                          from_logits=True)
        return self.aux_weight * self._hinge(ce)   # _hinge: mean / replicas

    def _hinge(self, values):
        # Divided by the replica count like keras.losses (per-replica gradients are summed).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return ops.mean(ops.cast(values, "float32")) / replicas

    def _score(self, p):
        """D's unbounded score: its logit (hinge outputs one; a bce probability is inverted)."""
        p = ops.cast(p, "float32")
        if self.loss_kind == "hinge":
            return p
        p = ops.clip(p, 1e-6, 1.0 - 1e-6)
        return ops.log(p) - ops.log1p(-p)

    def lecam(self, p_real=None, p_fake=None):
        """D's LeCam term (0 without it), updating the moving averages after using them.

        Either side may be None: the article schedule judges reals and fakes in separate updates.
        """
        if self.lecam_ema is None:
            return 0.0
        ema = ops.stop_gradient(self.lecam_ema)
        term, new, d = 0.0, [ema[0], ema[1]], self.lecam_decay
        if p_real is not None:
            s = self._score(p_real)
            term = term + self._hinge(ops.square(s - ema[1]))   # _hinge: mean / replicas
            new[0] = d * ema[0] + (1.0 - d) * ops.mean(ops.stop_gradient(s))
        if p_fake is not None:
            s = self._score(p_fake)
            term = term + self._hinge(ops.square(s - ema[0]))
            new[1] = d * ema[1] + (1.0 - d) * ops.mean(ops.stop_gradient(s))
        self.lecam_ema.assign(ops.stack(new))
        return self.lecam_weight * term

    def augment_images(self, images):
        """DiffAugment with this step's seed (identity without a policy)."""
        if not self.augment:
            return images
        from .augment import diff_augment

        return diff_augment(ops.cast(images, "float32"), self.replica_seed(7919), self.augment)

    def update_ema(self):
        """ema <- d*ema + (1-d)*G for trainable weights (d warmed up: min(decay, (1+t)/(10+t))),
        copies of G's batch-norm statistics; a no-op without EMA."""
        if not self.ema_weights:
            return
        self.ema_steps.assign_add(1)
        t = ops.cast(self.ema_steps, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for e, v in zip(self.ema_weights, self.generator.weights):
            if v.trainable:
                e.assign(decay * e + (1.0 - decay) * ops.cast(v, e.dtype))
            else:
                e.assign(v)

    def sampling_weights(self) -> list:
        """The weights to sample with (EMA when enabled), in generator.get_weights() order."""
        if self.ema_weights:
            return [e.numpy() for e in self.ema_weights]
        return self.generator.get_weights()

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
            self.trackers["d_real_acc"].update_state(ops.cast(p_real > self._threshold, "float32"))
        if p_fake is not None:
            self.trackers["d_fake_acc"].update_state(ops.cast(p_fake < self._threshold, "float32"))

    @property
    def _threshold(self) -> float:
        return 0.0 if self.loss_kind == "hinge" else 0.5

    def discriminator_step(self, images, labels, target: float):
        """One update of D alone on a batch that is all real (target 1) or all fake (target 0)."""
        d = self.discriminator
        with tf.GradientTape() as tape:
            p, classes = self._split(d([self.augment_images(images), labels], training=True))
            loss = self._loss(target, p)
            if target == 1.0:   # the classifier learns from real images only
                loss = loss + self._aux(classes, labels)
            loss = loss + (self.lecam(p_real=p) if target == 1.0 else self.lecam(p_fake=p))
        self._apply(self.d_optimizer, tape, loss, d.trainable_variables)
        return loss, p

    def generator_step(self, n):
        """One update of G alone: n generated images pushed towards D's 'real'."""
        g, d = self.generator, self.discriminator
        noise, labels = self.sample_latent(n)
        with tf.GradientTape() as tape:
            fake = self.augment_images(g([noise, labels], training=True))
            p, classes = self._split(d([fake, labels], training=True))
            loss = self._g_loss(p) + self._aux(classes, labels)
        self._apply(self.g_optimizer, tape, loss, g.trainable_variables)
        self.update_ema()
        return loss, p

    # -- the training steps --------------------------------------------------------------------
    def train_step(self, data):
        real, labels = data[0], data[1]
        if self.schedule == "article":
            self._article_step(real, labels)
        else:
            self._fused_step(real, labels)
        results = {name: t.result() for name, t in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3's fit() reduces each step's outputs over workers with
            # strategy.reduce("MEAN", v, axis=0), which fails on scalars: give each a length-1
            # axis; the reduced logs are then the scalar means over all replicas.
            results = {name: ops.reshape(v, (1,)) for name, v in results.items()}
        return results

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
        with tf.GradientTape() as g_tape:
            fake = g([noise, fake_labels], training=True)   # the one generator pass of the step
            with g_tape.stop_recording():
                loss_real, p_real = self.discriminator_step(real, labels, 1.0)
                loss_fake, p_fake = self.discriminator_step(ops.stop_gradient(fake), fake_labels, 0.0)
            # Each update sees the weights the one before it left, as in the article: one D
            # update on reals and fakes together, or G judged by the D of before D's update,
            # let D win within two epochs on some seeds (docs/experiments.md).
            p, classes = self._split(d([self.augment_images(fake), fake_labels], training=True))
            g_loss = self._g_loss(p) + self._aux(classes, fake_labels)
        self._apply(self.g_optimizer, g_tape, g_loss, g.trainable_variables)
        self.update_ema()
        self._track(0.5 * (loss_real + loss_fake), g_loss, p_real, p_fake)


@contextmanager
def _remapper_off():
    options = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": options.get("remapping", True)})


def _generator_classes(generator: keras.Model) -> int:
    """Number of classes a generator was built for (article: label embedding; projection: CBN)."""
    try:
        return generator.get_layer("label_embedding").input_dim
    except ValueError:
        return generator.get_layer("cbn0").num_classes
