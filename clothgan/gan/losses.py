"""The adversarial losses ConditionalGAN can train with, and LeCam, its one regulariser.

A loss object says what D and G minimise given D's output `p`; `threshold` is where D's output
switches from "generated" to "real", `logit(p)` D's unbounded score. Every mean is divided by
the replica count, as keras.losses do, because per-replica gradients are summed.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def replica_mean(values):
    """mean(values) / replicas: a loss whose gradients the replicas sum."""
    return ops.mean(ops.cast(values, "float32")) / tf.distribute.get_strategy().num_replicas_in_sync


class BinaryCrossEntropy:
    """D outputs P(real): cross-entropy against 1 for real images, 0 for generated ones; G
    minimises it against 1 ("call these real": the non-saturating loss, notebook 06)."""

    name, threshold = "bce", 0.5

    def __init__(self):
        self.bce = keras.losses.BinaryCrossentropy()

    def discriminator(self, p, target: float):
        return self.bce(ops.full_like(p, target), p)

    def generator(self, p):
        return self.bce(ops.ones_like(p), p)

    def logit(self, p):
        p = ops.clip(ops.cast(p, "float32"), 1e-6, 1.0 - 1e-6)
        return ops.log(p) - ops.log1p(-p)


class Hinge:
    """D outputs a logit: D minimises relu(1 - real) + relu(1 + generated), G minimises -generated."""

    name, threshold = "hinge", 0.0

    def discriminator(self, p, target: float):
        return replica_mean(ops.relu(1.0 - p) if target == 1.0 else ops.relu(1.0 + p))

    def generator(self, p):
        return replica_mean(-p)

    def logit(self, p):
        return ops.cast(p, "float32")


LOSSES = {"bce": BinaryCrossEntropy, "hinge": Hinge}


def make_loss(loss):
    """A loss object from its name in LOSSES, or the object itself."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        return LOSSES[loss]()
    return loss


class NoRegulariser:
    """Adds nothing to D's loss."""

    ema = None

    def __call__(self, p, target: float):
        return 0.0


class LeCam:
    """LeCam regularisation of D (Tseng et al. 2021), for small datasets.

    D's loss gains weight * mean((s - ema_fake)^2) on real images and weight *
    mean((s - ema_real)^2) on generated ones, s being D's logit and ema_real / ema_fake moving
    averages (this decay) of its batch-mean logits: D's scores of the two cannot drift apart
    when D can memorise the photos. `ema` is a variable, so checkpoints carry it.
    """

    def __init__(self, loss, weight: float, decay: float = 0.99):
        self.loss, self.weight, self.decay = loss, float(weight), float(decay)
        self.ema = keras.Variable([0.0, 0.0], dtype="float32", trainable=False, autocast=False,
                                  name="lecam_ema", aggregation="only_first_replica")

    def __call__(self, p, target: float):
        """The term for a batch all real (target 1) or all generated (0); updates its average
        after using the other side's."""
        s, ema = self.loss.logit(p), ops.stop_gradient(self.ema)
        mine, other = (0, 1) if target == 1.0 else (1, 0)
        term = replica_mean(ops.square(s - ema[other]))
        new = self.decay * ema[mine] + (1.0 - self.decay) * ops.mean(ops.stop_gradient(s))
        self.ema.assign(ops.stack([new, ema[1]] if mine == 0 else [ema[0], new]))
        return self.weight * term
