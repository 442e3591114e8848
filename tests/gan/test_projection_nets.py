from types import SimpleNamespace

import keras
import numpy as np
import pytest
from keras import ops

from clothgan.config import GANConfig, PROJECTION_PARTS, preset
from clothgan.gan.layers import ConditionalBatchNorm, ProjectionHead
from clothgan.gan.projection import _levels, build_projection_discriminator, build_projection_generator


def _cfg(size=28, channels=1, without=()):
    return SimpleNamespace(latent_dim=16, image_size=size, channels=channels, num_classes=10,
                           g_filters=16, d_filters=16, leaky_slope=0.2,
                           embedding_dim=8, without=without)


@pytest.mark.parametrize("size,expected", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_levels(size, expected):
    assert _levels(size) == expected


def test_levels_rejects_unreachable_size():
    with pytest.raises(ValueError, match="cannot be reached"):
        _levels(27)


@pytest.mark.parametrize("size,channels", [(28, 1), (64, 3)])
def test_shapes_and_label_dependence(size, channels, tmp_path):
    cfg = _cfg(size, channels)
    g, d = build_projection_generator(cfg), build_projection_discriminator(cfg)
    z = ops.convert_to_tensor(np.random.default_rng(0).normal(size=(4, 16)).astype("float32"))
    y0 = ops.convert_to_tensor(np.zeros(4, "int32"))
    y1 = ops.convert_to_tensor(np.full(4, 3, "int32"))
    # After one training-mode pass the CBN statistics differ per class only through gain/bias:
    # perturb class 3's gain so the label must change the image.
    cbn = g.get_layer("cbn1")
    gamma = cbn.gamma.numpy(); gamma[3] *= 2.0; cbn.gamma.assign(gamma)
    a, b = g([z, y0]), g([z, y1])
    assert a.shape == (4, size, size, channels)
    assert float(ops.max(ops.abs(a))) <= 1.0
    assert not np.allclose(a, b)
    s0, s1 = d([a, y0]), d([a, y1])
    assert s0.shape == (4, 1) and not np.allclose(s0, s1)   # projection term uses the class
    for model in (g, d):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.saving.load_model(path)
        x = [z, y1] if model is g else [a, y1]
        np.testing.assert_allclose(again(x), model(x), atol=1e-6)


def _layer_types(model):
    return {type(layer) for layer in model.layers}


@pytest.mark.parametrize("part", PROJECTION_PARTS)
def test_each_part_can_be_switched_off_alone(part):
    full = _cfg()
    less = _cfg(without=(part,))
    g_full, d_full = build_projection_generator(full), build_projection_discriminator(full)
    g, d = build_projection_generator(less), build_projection_discriminator(less)
    removed = {"spectral_norm": (d, keras.layers.SpectralNormalization),
               "projection_head": (d, ProjectionHead),
               "conditional_bn": (g, ConditionalBatchNorm)}
    for name, (model, kind) in removed.items():
        reference = g_full if model.name == "generator" else d_full
        assert kind in _layer_types(reference)
        assert (kind in _layer_types(model)) == (name != part), name
    # The class must still reach both networks through the label plane.
    rng = np.random.default_rng(1)
    z = ops.convert_to_tensor(rng.normal(size=(4, 16)).astype("float32"))
    y0 = ops.convert_to_tensor(np.zeros(4, "int32"))
    y1 = ops.convert_to_tensor(np.full(4, 3, "int32"))
    if part == "conditional_bn":
        assert "label_plane" in [layer.name for layer in g.layers]
        assert not np.allclose(g([z, y0]), g([z, y1]))
    images = ops.convert_to_tensor(rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    assert not np.allclose(d([images, y0]), d([images, y1]))


def test_without_is_checked_and_round_trips():
    cfg = preset("projection")[0].replace(without=["spectral_norm", "conditional_bn"])
    assert cfg.without == ("spectral_norm", "conditional_bn")
    assert GANConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="choose from spectral_norm"):
        preset("projection")[0].replace(without=("batch_norm",))
    with pytest.raises(ValueError, match="'article' networks have none"):
        preset("quality")[0].replace(without=("spectral_norm",))
