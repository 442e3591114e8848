import numpy as np
import pytest
import tensorflow as tf

from clothgan.gan.augment import color, cutout, diff_augment, translation

SEED = tf.constant([1, 2], tf.int64)


def _images(b=8, h=16, w=16, c=1):
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (b, h, w, c)), tf.float32)


def test_translation_moves_content_and_fills_white():
    x = -tf.ones((64, 16, 16, 1))
    out = translation(x, SEED).numpy()
    shifted = [(o == 1.0).any() for o in out]
    assert any(shifted) and not all(shifted)    # some zero shifts, some real ones
    assert set(np.unique(out)) <= {-1.0, 1.0}
    assert ((out == 1.0).sum(axis=(1, 2, 3)) <= 16 * 16 - 12 * 12 + 1e-9).all()  # <= 2 px each side


def test_translation_is_a_pure_shift():
    x = tf.reshape(tf.range(16 * 16, dtype=tf.float32), (1, 16, 16, 1))
    out = translation(tf.repeat(x, 32, 0), SEED, fill=-999.0).numpy()[..., 0]
    for o in out:
        keep = o != -999.0
        # x holds each pixel's own index: every kept pixel comes from the same offset
        (ys, xs) = np.nonzero(keep)
        vals = o[keep].astype(int)
        sy, sx = vals // 16 - ys, vals % 16 - xs
        assert len(set(sy)) == 1 and len(set(sx)) == 1


def test_cutout_blanks_a_quarter_at_most():
    x = tf.ones((32, 16, 16, 1))
    out = cutout(x, SEED).numpy()
    blank = (out == 0).sum(axis=(1, 2, 3))
    assert (blank > 0).all() and (blank <= 64).all()


def test_color_changes_stats_and_keeps_shape_rgb():
    x = _images(c=3)
    out = color(x, SEED)
    assert out.shape == x.shape
    assert not np.allclose(out.numpy(), x.numpy())


def test_diff_augment_is_deterministic_per_seed_and_differentiable():
    x = tf.Variable(_images())
    a = diff_augment(x, SEED)
    b = diff_augment(x, SEED)
    c = diff_augment(x, tf.constant([3, 4], tf.int64))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(diff_augment(x, SEED))
    g = tape.gradient(loss, x)
    assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        diff_augment(_images(), SEED, ("rotate",))
