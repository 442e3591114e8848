from types import SimpleNamespace

import keras
import numpy as np
import pytest
from keras import ops

from clothgan.quality import _levels, build_quality_discriminator, build_quality_generator


def _cfg(size=28, channels=1):
    return SimpleNamespace(latent_dim=16, image_size=size, channels=channels, num_classes=10,
                           g_filters=16, d_filters=16, leaky_slope=0.2, aux_weight=0.0)


@pytest.mark.parametrize("size,expected", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_levels(size, expected):
    assert _levels(size) == expected


def test_levels_rejects_unreachable_size():
    with pytest.raises(ValueError, match="cannot be reached"):
        _levels(27)


@pytest.mark.parametrize("size,channels", [(28, 1), (64, 3)])
def test_shapes_and_label_dependence(size, channels, tmp_path):
    cfg = _cfg(size, channels)
    g, d = build_quality_generator(cfg), build_quality_discriminator(cfg)
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
