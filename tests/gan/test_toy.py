"""Notebook 05's 2-D problem: the data, the mode count, and that a conditional GAN learns it in
seconds and collapses without noise."""
from __future__ import annotations

import numpy as np
import pytest

from clothgan.course import toy


def test_points_sit_on_their_own_classes_blobs():
    points, labels = toy.toy_points(3000, seed=1)
    assert points.shape == (3000, 2) and set(np.unique(labels)) == {0, 1, 2}
    assert toy.blobs_covered(points, labels) == 1.0
    assert toy.blobs_covered(points, (labels + 1) % 3) == 0.0          # another class's blobs
    one_each = toy.centres()[labels, 0]                                 # one blob per class
    assert toy.blobs_covered(one_each, labels) == pytest.approx(0.5)


def test_toy_points_plot_one_panel_per_run():
    from clothgan.course import plots

    points, labels = toy.toy_points(100)
    fig = plots.toy_points({"a": (points, labels), "b": (points, labels)})
    assert len(fig.axes) == 2


def test_a_conditional_gan_learns_every_blob_and_collapses_without_noise():
    keras = pytest.importorskip("keras")
    from clothgan.data import make_tf_dataset
    from clothgan.gan import ConditionalGAN

    points, labels = toy.toy_points(4096, seed=42)
    covered = {}
    for noise in (True, False):
        keras.utils.set_random_seed(42)
        gan = ConditionalGAN(*toy.toy_networks(noise=noise), num_classes=toy.CLASSES,
                             schedule="reference", seed=42)
        gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
        gan.fit(make_tf_dataset(points, labels, 64), epochs=15, verbose=0)
        z, y = gan.sample_latent(3000)
        covered[noise] = toy.blobs_covered(np.asarray(gan.generator([z, y])), np.asarray(y))
    assert covered[True] >= 5 / 6
    assert covered[False] <= 0.5
