"""The training batches: a fixed subset, and a seeded order per epoch (exact resume)."""
from __future__ import annotations

import numpy as np


def subset(x: np.ndarray, y: np.ndarray, max_images: int | None, seed: int = 0):
    """A deterministic random subset of at most max_images (all when None); notebook 06 trains
    on one in fast mode."""
    if max_images is None or max_images >= len(x):
        return x, y
    keep = np.sort(np.random.default_rng([seed, 0xDA7A]).permutation(len(x))[:max_images])
    return x[keep], y[keep]


def epoch_order(n: int, batch: int, seed: int, epoch: int, repeat: int = 1) -> np.ndarray:
    """Epoch `epoch`'s image indices: `repeat` passes over the n images, each pass a permutation
    seeded by (seed, epoch, pass), cut to whole batches (pass 0's seed is (seed, epoch))."""
    passes = [np.random.default_rng([seed, epoch] + ([k] if k else [])).permutation(n)
              for k in range(repeat)]
    order = np.concatenate(passes)
    return order[: len(order) // batch * batch]


def epoch_batches(x: np.ndarray, y: np.ndarray, batch: int, seed: int, first_epoch: int,
                  last_epoch: int, mirror: bool = False, repeat: int = 1):
    """A tf.data pipeline of (images, labels) batches for epochs [first_epoch, last_epoch).

    Epoch e's order (`epoch_order`) is seeded by (seed, e) alone, so a resumed run sees exactly
    the batches the uninterrupted run would have. The images stay in memory; a batch is one
    gather, prefetched while the previous step runs. mirror: each drawn image is flipped
    left-right with probability 1/2, also decided by (seed, e); without it the batches are
    those of earlier versions. repeat: passes over the images per epoch, so that a small
    dataset's epoch is long enough for the per-epoch work (checkpoint, grid, scoring) to be a
    small share of it.
    """
    import tensorflow as tf

    n = len(x)
    per_epoch = len(epoch_order(n, batch, seed, first_epoch, repeat))

    def indices(epoch) -> np.ndarray:
        # Made when the epoch starts, not up front: a run may plan many epochs (a CPU budget
        # ends it), and every epoch's order is a function of (seed, epoch) alone anyway.
        e = int(epoch)
        order = epoch_order(n, batch, seed, e, repeat).astype(np.int32)
        if mirror:
            # Mirrored copies sit after the originals: a flip is an index offset, one gather.
            order = order + n * np.random.default_rng([seed, e, 0xF1]).integers(
                0, 2, per_epoch).astype(np.int32)
        return order.reshape(-1, batch)

    if mirror:
        x, y = np.concatenate([x, x[:, :, ::-1]]), np.concatenate([y, y])
    images, labels = tf.constant(x), tf.constant(y.astype(np.int32))

    def epoch_dataset(epoch):
        order = tf.numpy_function(indices, [epoch], tf.int32, stateful=False)
        return tf.data.Dataset.from_tensor_slices(tf.ensure_shape(order, (per_epoch // batch, batch)))

    ds = tf.data.Dataset.range(first_epoch, last_epoch).flat_map(epoch_dataset)
    ds = ds.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
