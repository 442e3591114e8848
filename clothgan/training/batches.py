"""The training batches: a fixed subset, and a seeded order per epoch (exact resume)."""
from __future__ import annotations

import numpy as np


def subset(x: np.ndarray, y: np.ndarray, max_images: int | None, seed: int = 0):
    """A deterministic random subset of at most max_images (all when None)."""
    if max_images is None or max_images >= len(x):
        return x, y
    keep = np.sort(np.random.default_rng([seed, 0xDA7A]).permutation(len(x))[:max_images])
    return x[keep], y[keep]


def epoch_batches(x: np.ndarray, y: np.ndarray, batch: int, seed: int, first_epoch: int,
                  last_epoch: int, mirror: bool = False):
    """A tf.data pipeline of (images, labels) batches for epochs [first_epoch, last_epoch).

    Epoch e's order is a permutation seeded by (seed, e) alone, so a resumed run sees exactly
    the batches the uninterrupted run would have. The images stay in memory; a batch is one
    gather, prefetched while the previous step runs. mirror: each drawn image is flipped
    left-right with probability 1/2, also decided by (seed, e); without it the batches are
    those of earlier versions.
    """
    import tensorflow as tf

    n = len(x)
    steps = n // batch
    order = np.stack([np.random.default_rng([seed, e]).permutation(n)[: steps * batch]
                      for e in range(first_epoch, last_epoch)]).reshape(-1, batch).astype(np.int32)
    if mirror:
        # Mirrored copies sit after the originals, so a flip is an index offset: still one gather.
        flips = np.stack([np.random.default_rng([seed, e, 0xF1]).integers(0, 2, steps * batch)
                          for e in range(first_epoch, last_epoch)]).reshape(order.shape)
        order = order + n * flips.astype(np.int32)
        x, y = np.concatenate([x, x[:, :, ::-1]]), np.concatenate([y, y])
    images, labels = tf.constant(x), tf.constant(y.astype(np.int32))
    ds = tf.data.Dataset.from_tensor_slices(order)
    ds = ds.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
