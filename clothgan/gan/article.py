"""The reference design's two networks, layer by layer (the `reference` and `quality` presets
build these): the classic Keras conditional GAN article's.

Call conventions (shared with clothgan.runs): generator([noise (N, latent_dim) float32,
labels (N,) int32]) -> images (N, H, W, C) in [-1, 1]; discriminator([images, labels]) ->
(N, 1) probability that the image is a real photo of that class.
"""
from __future__ import annotations

import keras
from keras import layers

from ..config import GANConfig
from .layers import SingleFilterConv2D, dtype_policy, label_plane


def build_article_discriminator(cfg: GANConfig, dtype=None) -> keras.Model:
    """Image + class -> P(real): the reference design, layer by layer.

    The label is embedded (num_classes -> embedding_dim), projected to one HxW plane and stacked
    onto the image as an extra channel; two stride-2 3x3 convolutions with LeakyReLU, Flatten,
    Dropout and a sigmoid unit. `dtype` is a Keras dtype policy such as "mixed_bfloat16"; the
    sigmoid unit always runs in float32 so the loss sees full-precision probabilities.
    """
    policy = dtype_policy(dtype)
    h = w = cfg.image_size
    image = keras.Input((h, w, cfg.channels), name="image")
    label = keras.Input((), dtype="int32", name="label")
    x = layers.Concatenate(name="image_and_label", dtype=policy)(
        [image, label_plane(label, h, cfg, policy)])
    for i in (1, 2):
        x = layers.Conv2D(cfg.d_filters, 3, strides=2, padding="same", name=f"conv{i}",
                          dtype=policy)(x)
        x = layers.LeakyReLU(cfg.leaky_slope, name=f"leaky{i}", dtype=policy)(x)
    x = layers.Flatten(name="flatten", dtype=policy)(x)
    x = layers.Dropout(cfg.d_dropout, name="dropout", dtype=policy)(x)
    out = layers.Dense(1, activation="sigmoid", name="p_real", dtype="float32")(x)
    return keras.Model([image, label], out, name="discriminator")


def build_article_generator(cfg: GANConfig, dtype=None, fast_output_conv: bool = True) -> keras.Model:
    """Noise + class -> image in [-1, 1]: the reference design, layer by layer.

    The label becomes one (size/4)^2 plane; the noise a Dense (size/4)^2 x g_filters map with
    LeakyReLU; both are stacked and upsampled twice by stride-2 4x4 transposed convolutions with
    LeakyReLU, then a 7x7 convolution with tanh gives the image. For a single output channel
    that convolution is a SingleFilterConv2D (same weights and result, faster); with
    fast_output_conv=False it is a plain Conv2D, so the saved model needs nothing but Keras.
    """
    policy = dtype_policy(dtype)
    base = cfg.image_size // 4
    noise = keras.Input((cfg.latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    li = label_plane(label, base, cfg, policy)
    x = layers.Dense(cfg.g_filters * base * base, name="noise_dense", dtype=policy)(noise)
    x = layers.LeakyReLU(cfg.leaky_slope, name="leaky0", dtype=policy)(x)
    x = layers.Reshape((base, base, cfg.g_filters), name="noise_map", dtype=policy)(x)
    x = layers.Concatenate(name="noise_and_label", dtype=policy)([x, li])
    for i in (1, 2):
        x = layers.Conv2DTranspose(cfg.g_filters, 4, strides=2, padding="same", name=f"up{i}",
                                   dtype=policy)(x)
        x = layers.LeakyReLU(cfg.leaky_slope, name=f"leaky{i}", dtype=policy)(x)
    conv = SingleFilterConv2D if fast_output_conv and cfg.channels == 1 else layers.Conv2D
    out = conv(cfg.channels, 7, padding="same", activation="tanh", name="to_image",
               dtype=policy)(x)
    return keras.Model([noise, label], out, name="generator")
