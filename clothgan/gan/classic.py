"""The classic (Keras 2) composite recipe, kept to teach its Keras 3 trap (notebook 05).

Use clothgan.gan.ConditionalGAN to train; these exist to show what goes wrong without it.
"""
from __future__ import annotations

import keras
import numpy as np

from .networks import adam


def compile_classic_discriminator(d: keras.Model, lr: float = 2e-4, beta_1: float = 0.5) -> keras.Model:
    """The reference design's `d_model.compile(...)`: binary cross-entropy, Adam, accuracy."""
    d.compile(loss="binary_crossentropy", optimizer=adam(lr, beta_1), metrics=["accuracy"])
    return d


def build_composite_gan(g: keras.Model, d: keras.Model, lr: float = 2e-4,
                        beta_1: float = 0.5) -> keras.Model:
    """The reference design's composite model: freeze D, stack G -> D, compile.

    Kept to teach a trap: in Keras 2, `compile()` froze each model's list of trainable weights,
    so `d.train_on_batch` kept training D after `d.trainable = False`. Keras 3 reads `trainable`
    when a train function is first traced, so D trained through `d.train_on_batch` after this
    call has no trainable weights and never changes.
    """
    d.trainable = False
    noise, label = g.inputs
    out = d([g.output, label])
    gan = keras.Model([noise, label], out, name="composite_gan")
    gan.compile(loss="binary_crossentropy", optimizer=adam(lr, beta_1))
    return gan


def snapshot(model: keras.Model) -> list:
    """Copies of a model's weights (NumPy), to compare after an update."""
    return [w.copy() for w in model.get_weights()]


def weights_changed(before: list, model: keras.Model) -> bool:
    """True when any weight of `model` differs from the snapshot `before`."""
    return any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
