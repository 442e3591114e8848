"""The reference preset's networks (the reference design, layer by layer) and the classic composite trap."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from clothgan.config import GANConfig, preset, TrainConfig  # noqa: E402
from clothgan.gan import build_discriminator, build_generator, forward_flops
from clothgan.gan.classic import build_composite_gan, compile_classic_discriminator


def _params(model, name):
    return model.get_layer(name).count_params()


def test_seed_discriminator_matches_the_tutorial():
    cfg = GANConfig()
    d = build_discriminator(cfg)
    assert d.name == "discriminator"
    # Embedding(10, 50); Dense(28*28) from 50; Conv2D(128, 3x3) on 1 image + 1 label channel;
    # Conv2D(128, 3x3) on 128; Dense(1) on 7*7*128.
    assert _params(d, "label_embedding") == 10 * 50
    assert _params(d, "label_dense") == 50 * 784 + 784
    assert _params(d, "conv1") == 3 * 3 * 2 * 128 + 128
    assert _params(d, "conv2") == 3 * 3 * 128 * 128 + 128
    assert _params(d, "p_real") == 7 * 7 * 128 + 1
    assert d.count_params() == 196_773
    conv1, conv2 = d.get_layer("conv1"), d.get_layer("conv2")
    assert conv1.strides == conv2.strides == (2, 2) and conv1.kernel_size == (3, 3)
    assert d.get_layer("dropout").rate == pytest.approx(0.4)
    assert d.get_layer("leaky1").negative_slope == pytest.approx(0.2)
    images = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    p = np.asarray(d([images, np.arange(5, dtype="int32")]))
    assert p.shape == (5, 1) and np.all((p > 0) & (p < 1))


def test_seed_generator_matches_the_tutorial():
    cfg = GANConfig()
    g = build_generator(cfg)
    assert g.name == "generator"
    assert [i.name for i in g.inputs] == ["noise", "label"]
    assert _params(g, "label_dense") == 50 * 49 + 49
    assert _params(g, "noise_dense") == 100 * 128 * 49 + 128 * 49
    assert _params(g, "up1") == 4 * 4 * 129 * 128 + 128
    assert _params(g, "up2") == 4 * 4 * 128 * 128 + 128
    assert _params(g, "to_image") == 7 * 7 * 128 + 1
    assert g.count_params() == 1_169_336
    assert g.get_layer("up1").strides == (2, 2) and g.get_layer("up1").kernel_size == (4, 4)
    noise = np.random.default_rng(0).standard_normal((10, 100)).astype("float32")
    out = np.asarray(g([noise, np.arange(10, dtype="int32")]))
    assert out.shape == (10, 28, 28, 1)
    assert out.min() >= -1 and out.max() <= 1
    # The label matters: the same noise with another class gives another image.
    other = np.asarray(g([noise, (np.arange(10, dtype="int32") + 1) % 10]))
    assert not np.allclose(out, other)


@pytest.mark.parametrize("dtype,tol", [(None, 1e-5), ("mixed_bfloat16", 2e-2)])
def test_fast_output_conv_equals_conv2d(dtype, tol):
    """SingleFilterConv2D is a faster Conv2D(1, 7x7): same weights, same images, same gradients."""
    import tensorflow as tf

    cfg = GANConfig()
    fast = build_generator(cfg, dtype)
    plain = build_generator(cfg, dtype, fast_output_conv=False)
    assert type(fast.get_layer("to_image")).__name__ == "SingleFilterConv2D"
    assert type(plain.get_layer("to_image")) is keras.layers.Conv2D
    plain.set_weights(fast.get_weights())
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((6, 100)).astype("float32")
    labels = np.arange(6, dtype="int32")
    grads = []
    for g in (fast, plain):
        with tf.GradientTape() as tape:
            out = tf.cast(g([noise, labels]), tf.float32)
            loss = tf.reduce_sum(out * out)
        grads.append((out.numpy(), tape.gradient(loss, g.get_layer("to_image").kernel).numpy()))
    scale = np.abs(grads[1][0]).max()
    np.testing.assert_allclose(grads[0][0], grads[1][0], atol=tol * scale)
    np.testing.assert_allclose(grads[0][1], grads[1][1], atol=tol * np.abs(grads[1][1]).max())


def test_other_sizes_and_rgb():
    cfg = GANConfig(image_size=32, channels=3)
    g, d = build_generator(cfg), build_discriminator(cfg)
    noise = np.zeros((2, 100), "float32")
    img = np.asarray(g([noise, np.array([0, 1], "int32")]))
    assert img.shape == (2, 32, 32, 3)
    assert tuple(d([img, np.array([0, 1], "int32")]).shape) == (2, 1)
    with pytest.raises(ValueError, match="multiple of 4"):
        GANConfig(image_size=30)


def test_mixed_precision_keeps_probabilities_float32():
    cfg = GANConfig()
    d = build_discriminator(cfg, "mixed_bfloat16")
    g = build_generator(cfg, "mixed_bfloat16")
    assert d.get_layer("conv2").compute_dtype == "bfloat16"
    assert d.get_layer("conv2").kernel.dtype == "float32"      # variables stay float32
    img = np.asarray(g([np.zeros((2, 100), "float32"), np.array([0, 1], "int32")]), "float32")
    assert np.asarray(d([img, np.array([0, 1], "int32")])).dtype == np.float32


def test_classic_composite_leaves_the_discriminator_untrained_in_keras3():
    """The lesson of notebook 05: after the tutorial's recipe, d.train_on_batch changes nothing."""
    cfg = GANConfig()
    d = compile_classic_discriminator(build_discriminator(cfg))
    g = build_generator(cfg)
    gan = build_composite_gan(g, d)
    before = [w.copy() for w in d.get_weights()]
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, 8).astype("int32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d.train_on_batch([images, labels], np.ones((8, 1), "float32"))
    assert any("does not have any trainable weights" in str(w.message) for w in caught)
    assert all(np.array_equal(a, b) for a, b in zip(before, d.get_weights()))
    # The composite itself trains G only.
    g_before = [w.copy() for w in g.get_weights()]
    gan.train_on_batch([rng.standard_normal((8, 100)).astype("float32"), labels],
                       np.ones((8, 1), "float32"))
    assert all(np.array_equal(a, b) for a, b in zip(before, d.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(g_before, g.get_weights()))


def test_forward_flops_counts_multiply_adds():
    inp = keras.Input((7,))
    m = keras.Model(inp, keras.layers.Dense(3)(inp))
    assert forward_flops(m) == 2 * 7 * 3
    inp = keras.Input((8, 8, 2))
    m = keras.Model(inp, keras.layers.Conv2D(4, 3, strides=2, padding="same")(inp))
    assert forward_flops(m) == 2 * (4 * 4 * 4) * (3 * 3 * 2)
    # The generator dominates: the seed G is about 9x the seed D per image.
    cfg = GANConfig()
    ratio = forward_flops(build_generator(cfg)) / forward_flops(build_discriminator(cfg))
    assert 8 < ratio < 10


def test_configs_validate_and_round_trip():
    g_cfg, t_cfg = preset("reference")
    t_cfg = t_cfg.replace(epochs=3)
    assert g_cfg == GANConfig() and t_cfg.epochs == 3
    assert GANConfig.from_dict(g_cfg.to_dict()) == g_cfg
    assert TrainConfig.from_dict(t_cfg.to_dict()) == t_cfg
    ref = TrainConfig.reference()
    assert (ref.real_per_step, ref.fake_per_step, ref.schedule) == (32, 64, "reference")
    for bad in (dict(batch_size=7), dict(schedule="x"), dict(precision="fp8"), dict(epochs=0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match="preset"):
        GANConfig(preset="nope")
