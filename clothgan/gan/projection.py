"""The "projection" networks: techniques established for GANs trained on small datasets.

Generator: class-conditional batch normalisation (each class owns its BN gain and bias) in
upsample-conv blocks. Discriminator: spectrally normalised convolutions and a projection head
(score = w.h + embed(y).h), which conditions on the class far more sharply than concatenating
a label plane. Both take and return the same tensors as the reference design's ("article")
networks (clothgan.runs).
GANConfig.without switches these parts off one at a time, for the ablation.
"""
from __future__ import annotations

import keras
from keras import layers

from .layers import ConditionalBatchNorm, ProjectionHead, dtype_policy, label_plane


def _levels(size: int) -> tuple[int, int]:
    """(base, upsamplings): the smallest base >= 4 with base * 2**k == size (28 -> 7, 2; 64 -> 4, 4)."""
    k = 0
    while size % (2 ** (k + 1)) == 0 and size // 2 ** (k + 1) >= 4:
        k += 1
    if k == 0:
        raise ValueError(f"image_size {size} cannot be reached by 2x upsamplings from >= 4 pixels")
    return size // 2 ** k, k


def _sn(layer, cfg):
    if "spectral_norm" in cfg.without:
        return layer
    return layers.SpectralNormalization(layer, power_iterations=1, name=f"sn_{layer.name}")


def _norm(x, label, cfg, name, dtype):
    """Class-conditional batch norm, or plain batch norm when the label enters as a plane."""
    if "conditional_bn" in cfg.without:
        return layers.BatchNormalization(momentum=0.9, name=name, dtype=dtype)(x)
    return ConditionalBatchNorm(cfg.num_classes, name=name, dtype=dtype)([x, label])


def build_projection_generator(cfg, dtype=None) -> keras.Model:
    """Noise + class -> image: Dense to a base map, then [upsample, conv3x3, CBN, ReLU] blocks."""
    dtype = dtype_policy(dtype)
    base, k = _levels(cfg.image_size)
    width = [cfg.g_filters * 2 ** max(0, k - 1 - i) for i in range(k + 1)]   # e.g. 256, 128, 64
    noise = keras.Input((cfg.latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    x = layers.Dense(base * base * width[0], name="noise_dense", dtype=dtype)(noise)
    x = layers.Reshape((base, base, width[0]), name="noise_map", dtype=dtype)(x)
    if "conditional_bn" in cfg.without:
        x = layers.Concatenate(name="noise_and_label", dtype=dtype)(
            [x, label_plane(label, base, cfg, dtype)])
    x = _norm(x, label, cfg, "cbn0", dtype)
    x = layers.ReLU(name="relu0", dtype=dtype)(x)
    for i in range(1, k + 1):
        x = layers.UpSampling2D(2, name=f"up{i}", dtype=dtype)(x)
        x = layers.Conv2D(width[i], 3, padding="same", use_bias=False, name=f"conv{i}", dtype=dtype)(x)
        x = _norm(x, label, cfg, f"cbn{i}", dtype)
        x = layers.ReLU(name=f"relu{i}", dtype=dtype)(x)
    out = layers.Conv2D(cfg.channels, 3, padding="same", activation="tanh", name="to_image",
                        dtype="float32")(x)
    return keras.Model([noise, label], out, name="generator")


def build_projection_discriminator(cfg, dtype=None) -> keras.Model:
    """Image + class -> realness logit (unbounded): SN conv blocks, average pooling, projection."""
    dtype = dtype_policy(dtype)
    _, k = _levels(cfg.image_size)
    image = keras.Input((cfg.image_size, cfg.image_size, cfg.channels), name="image")
    label = keras.Input((), dtype="int32", name="label")
    x = image
    if "projection_head" in cfg.without:
        x = layers.Concatenate(name="image_and_label", dtype=dtype)(
            [image, label_plane(label, cfg.image_size, cfg, dtype)])
    for i in range(k + 1):
        filters = cfg.d_filters * 2 ** min(i, 2) // 2          # e.g. 64, 128, 256
        x = _sn(layers.Conv2D(filters, 3, padding="same", name=f"conv{i}a", dtype=dtype), cfg)(x)
        x = layers.LeakyReLU(cfg.leaky_slope, name=f"leaky{i}a", dtype=dtype)(x)
        if i < k:   # the last block keeps its resolution
            x = _sn(layers.Conv2D(filters, 4, strides=2, padding="same", name=f"down{i}",
                                  dtype=dtype), cfg)(x)
            x = layers.LeakyReLU(cfg.leaky_slope, name=f"leaky{i}b", dtype=dtype)(x)
    h = layers.GlobalAveragePooling2D(name="pool", dtype="float32")(x)
    out = _sn(layers.Dense(1, name="score", dtype="float32"), cfg)(h)
    if "projection_head" not in cfg.without:
        projection = ProjectionHead(cfg.num_classes, name="projection", dtype="float32")([h, label])
        out = layers.Add(name="logit", dtype="float32")([out, projection])
    return keras.Model([image, label], out, name="discriminator")
