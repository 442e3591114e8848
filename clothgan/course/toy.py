"""A conditional GAN small enough to converge in seconds: 2-D points, a few classes, each class
a mixture of Gaussian blobs (notebook 05 trains it with the class the learner writes).

The networks take and return what the image networks do, with points for images:
generator([noise (N, latent_dim), labels (N,)]) -> points (N, 2); discriminator([points,
labels]) -> (N, 1) probability that the point is a real one of that class.
"""
from __future__ import annotations

import numpy as np

#: Blobs per class, evenly spaced on a circle of radius 2, classes interleaved.
CLASSES, BLOBS, SPREAD = 3, 2, 0.12


def centres(classes: int = CLASSES, blobs: int = BLOBS) -> np.ndarray:
    """(classes, blobs, 2): blob k of class c sits at angle 2*pi*(c + k*classes)/(classes*blobs)."""
    angle = 2 * np.pi * (np.arange(classes)[:, None] + classes * np.arange(blobs)[None]) / (classes * blobs)
    return 2.0 * np.stack([np.cos(angle), np.sin(angle)], -1)


def toy_points(n: int, seed: int = 0, classes: int = CLASSES, blobs: int = BLOBS):
    """(points (n, 2) float32, labels (n,) int32): uniform classes, uniform blobs within a class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    which = rng.integers(0, blobs, n)
    points = centres(classes, blobs)[labels, which] + SPREAD * rng.standard_normal((n, 2))
    return points.astype("float32"), labels.astype("int32")


def toy_networks(latent_dim: int = 4, classes: int = CLASSES, width: int = 64, noise: bool = True):
    """(generator, discriminator): two small MLPs, the class embedded and concatenated.

    noise=False builds a generator that multiplies its noise by zero: it can only draw one point
    per class, the extreme case of mode collapse.
    """
    import keras
    from keras import layers

    z = keras.Input((latent_dim,), name="noise")
    y = keras.Input((), dtype="int32", name="label")
    h = z if noise else layers.Rescaling(0.0, name="noise_off")(z)
    h = layers.Concatenate()([h, layers.Embedding(classes, 4)(y)])
    for _ in range(2):
        h = layers.Dense(width, activation="leaky_relu")(h)
    generator = keras.Model([z, y], layers.Dense(2)(h), name="toy_generator")
    x = keras.Input((2,), name="point")
    y = keras.Input((), dtype="int32", name="label")
    h = layers.Concatenate()([x, layers.Embedding(classes, 4)(y)])
    for _ in range(2):
        h = layers.Dense(width, activation="leaky_relu")(h)
    out = layers.Dense(1, activation="sigmoid")(h)
    return generator, keras.Model([x, y], out, name="toy_discriminator")


def blobs_covered(points: np.ndarray, labels: np.ndarray, classes: int = CLASSES,
                  blobs: int = BLOBS, share: float = 0.1) -> float:
    """Share of the blobs that receive at least `share` of their class's points within 3
    SPREAD of their centre, and that are the class's own: 1.0 is every mode drawn, 1/blobs
    a generator that draws one blob per class."""
    c = centres(classes, blobs)
    hit = 0
    for k in range(classes):
        mine = points[labels == k]
        d = np.linalg.norm(mine[:, None, :] - c[k][None], axis=-1)      # (n, blobs)
        hit += int(np.sum(np.mean(d < 3 * SPREAD, axis=0) >= share))
    return hit / (classes * blobs)
