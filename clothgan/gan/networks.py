"""Build either network family from a GANConfig, and measure what a network costs."""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..config import GANConfig
from .article import build_article_discriminator, build_article_generator
from .projection import build_projection_discriminator, build_projection_generator


def build_discriminator(cfg: GANConfig, dtype=None) -> keras.Model:
    """cfg.networks' discriminator: "article" (the reference design's: P(real),
    clothgan.gan.article) or "projection" (an unbounded realness logit,
    clothgan.gan.projection). `dtype`: a Keras dtype policy."""
    if cfg.networks == "projection":
        return build_projection_discriminator(cfg, dtype)
    return build_article_discriminator(cfg, dtype)


def build_generator(cfg: GANConfig, dtype=None, fast_output_conv: bool = True) -> keras.Model:
    """cfg.networks' generator; fast_output_conv=False builds the reference design's 7x7 output layer as a
    plain Conv2D (the saved model then needs nothing but Keras)."""
    if cfg.networks == "projection":
        return build_projection_generator(cfg, dtype)
    return build_article_generator(cfg, dtype, fast_output_conv)


def adam(lr: float = 2e-4, beta_1: float = 0.5, beta_2: float = 0.999,
         policy: str = "float32") -> keras.optimizers.Optimizer:
    """The reference design's optimizer: Adam(2e-4, beta_1=0.5); under the "mixed_float16"
    policy wrapped in a LossScaleOptimizer, since float16 gradients underflow to zero."""
    optimizer = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)
    return keras.optimizers.LossScaleOptimizer(optimizer) if policy == "mixed_float16" else optimizer


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations (2 per multiply-add) of one sample's forward pass.

    Counts the dense, convolution and transposed-convolution layers, which hold all but a
    fraction of a percent of the work; element-wise layers are left out.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            _, h, w, cin = layer.input.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * cin * layer.filters * kh * kw
        elif isinstance(layer, layers.Conv2D):
            _, h, w, cout = layer.output.shape
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            total += 2 * h * w * cout * kh * kw * cin
        elif isinstance(layer, layers.Dense):
            rows = 1
            for dim in layer.input.shape[1:-1]:
                rows *= dim
            total += 2 * rows * layer.input.shape[-1] * layer.units
    return int(total)


def training_memory(cfg: GANConfig, images_per_step: int, bytes_per_value: int = 4) -> int:
    """A rough upper estimate of the bytes one training step holds, before building anything:
    feature maps of both networks (kept for the backward pass) for every image of the step, and
    the largest weight matrices with their gradients and Adam slots."""
    side, width = cfg.image_size, max(cfg.g_filters, cfg.d_filters)
    maps = 12 * side * side * width * images_per_step * bytes_per_value
    dense = cfg.latent_dim * cfg.g_filters * (side // 4) ** 2 + cfg.embedding_dim * side * side
    return int(maps + 16 * dense)


def step_flops(g_flops: int, d_flops: int, real: int, fake_per_real: int, schedule: str) -> int:
    """Useful floating-point operations of one training step (backward = 2x forward).

    reference: G forward for r fakes; D forward+backward on r reals and on r fakes; G+D forward on
    f fakes, D backward to its input only (frozen), G backward.
    fused: G forward+backward on f fakes; D forward+backward on r reals and on the f fakes; D
    forward again on the f fakes (updated D), backward to its input only, for G's loss.
    """
    r, f = real, real * fake_per_real
    if schedule in ("reference", "article"):
        return g_flops * r + 3 * d_flops * 2 * r + (3 * g_flops + 2 * d_flops) * f
    return 3 * g_flops * f + 3 * d_flops * (r + f) + 2 * d_flops * f


def label_planes(model: keras.Model, labels) -> np.ndarray:
    """What the network makes of each label: the `label_plane` map (N, h, w, 1) it concatenates."""
    sub = keras.Model(model.get_layer("label_embedding").input,
                      model.get_layer("label_plane").output)
    return np.asarray(sub(np.asarray(labels, np.int32)), np.float32)
