"""Differentiable augmentation (DiffAugment) applied to real and fake images for the discriminator.

With few training images a discriminator memorises the reals; augmenting both reals and fakes
with the same random, differentiable transforms lets it learn without leaking the
augmentations into the generator (its gradients flow through the transforms).
"""
from __future__ import annotations

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")


def _uniform(batch, lo, hi, seed):
    return tf.random.stateless_uniform([batch, 1, 1, 1], seed, lo, hi)


def color(x, seed):
    """Random brightness, saturation (RGB only) and contrast, per image."""
    b = tf.shape(x)[0]
    s = tf.random.experimental.stateless_split(seed, 3)
    x = x + _uniform(b, -0.5, 0.5, s[0])
    if x.shape[-1] == 3:
        mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - mean) * _uniform(b, 0.0, 2.0, s[1]) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _uniform(b, 0.5, 1.5, s[2]) + mean


def translation(x, seed, ratio: float = 0.125, fill: float = 1.0):
    """Shift each image by up to ratio*size pixels; uncovered pixels take `fill` (white = 1)."""
    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    s = tf.random.experimental.stateless_split(seed, 2)
    max_dy = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    max_dx = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    dy = tf.random.stateless_uniform([b, 1], s[0], -max_dy, max_dy + 1, dtype=tf.int32)
    dx = tf.random.stateless_uniform([b, 1], s[1], -max_dx, max_dx + 1, dtype=tf.int32)
    rows = tf.range(h)[None, :] - dy           # (b, h): source row for each target row
    cols = tf.range(w)[None, :] - dx
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    out = tf.gather(x, tf.clip_by_value(rows, 0, h - 1), axis=1, batch_dims=1)
    out = tf.gather(out, tf.clip_by_value(cols, 0, w - 1), axis=2, batch_dims=1)
    return tf.where(valid[..., None], out, tf.cast(fill, x.dtype))


def cutout(x, seed, ratio: float = 0.5, fill: float = 0.0):
    """Blank one random square of side ratio*size per image (fill 0 = mid-grey in [-1, 1])."""
    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    s = tf.random.experimental.stateless_split(seed, 2)
    ch = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    cw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    cy = tf.random.stateless_uniform([b, 1], s[0], 0, h + (1 - ch % 2), dtype=tf.int32)
    cx = tf.random.stateless_uniform([b, 1], s[1], 0, w + (1 - cw % 2), dtype=tf.int32)
    ys = tf.range(h)[None, :]
    xs = tf.range(w)[None, :]
    in_y = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch)
    in_x = (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    hole = in_y[:, :, None] & in_x[:, None, :]
    return tf.where(hole[..., None], tf.cast(fill, x.dtype), x)


_OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x, seed, policy: tuple[str, ...] = POLICIES):
    """Apply the policy's transforms in order; `seed` is a stateless seed (shape [2], int)."""
    unknown = set(policy) - set(_OPS)
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {sorted(unknown)}; choose from {POLICIES}")
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), max(len(policy), 1))
    for i, name in enumerate(policy):
        x = _OPS[name](x, seeds[i])
    return x
