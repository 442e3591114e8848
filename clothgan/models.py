"""The conditional GAN's two networks and the classic (Keras 2) composite model.

Call conventions (shared with clothgan.runs): generator([noise (N, latent_dim) float32,
labels (N,) int32]) -> images (N, H, W, C) in [-1, 1]; discriminator([images, labels]) ->
(N, 1) probability that the image is a real photo of that class.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from .config import GANConfig


def _dtype(policy):
    """A layer dtype policy (None = Keras' global policy)."""
    return keras.dtype_policies.get(policy) if policy is not None else keras.config.dtype_policy()


@keras.saving.register_keras_serializable(package="clothgan")
class SingleFilterConv2D(layers.Conv2D):
    """`Conv2D(1, k, padding="same")` with the same weights and result, computed faster.

    oneDNN's direct convolution with one output channel runs at a few percent of the CPU's
    peak; here one GEMM maps each pixel to its k*k kernel-offset contributions, and a fixed
    one-hot k x k convolution over those k*k channels adds them at their offsets (about 4x
    faster forward+backward on CPU, in float32 and bfloat16). Other configurations fall back
    to Conv2D.
    """

    def _fast(self) -> bool:
        return (self.filters == 1 and self.padding == "same" and self.strides == (1, 1)
                and self.dilation_rate == (1, 1) and self.groups == 1
                and self.data_format == "channels_last")

    def convolution_op(self, inputs, kernel):
        if not self._fast():
            return super().convolution_op(inputs, kernel)
        from keras import ops

        kh, kw = self.kernel_size
        cin = kernel.shape[2]
        kernel = ops.cast(kernel, inputs.dtype)
        # (kh, kw, cin, 1) -> (cin, kh*kw): column o holds the weights of kernel offset o.
        per_offset = ops.reshape(ops.transpose(kernel[..., 0], (2, 0, 1)), (cin, kh * kw))
        maps = ops.matmul(inputs, per_offset)                       # (N, H, W, kh*kw)
        one_hot = ops.reshape(ops.eye(kh * kw, dtype=inputs.dtype), (kh, kw, kh * kw, 1))
        return ops.conv(maps, one_hot, strides=1, padding="same")


def label_plane(label, side: int, cfg: GANConfig, policy):
    """The article's class conditioning: embed the label, project it to one side x side plane."""
    li = layers.Embedding(cfg.num_classes, cfg.embedding_dim, name="label_embedding",
                          dtype=policy)(label)
    li = layers.Dense(side * side, name="label_dense", dtype=policy)(li)
    return layers.Reshape((side, side, 1), name="label_plane", dtype=policy)(li)


def build_discriminator(cfg: GANConfig, dtype=None) -> keras.Model:
    """Image + class -> P(real). The "article" networks are the tutorial's design layer by layer.

    The "projection" networks' discriminator (clothgan.quality) returns an unbounded logit instead.

    The label is embedded (num_classes -> embedding_dim), projected to one HxW plane and stacked
    onto the image as an extra channel; two stride-2 3x3 convolutions with LeakyReLU, Flatten,
    Dropout and a sigmoid unit. `dtype` is a Keras dtype policy such as "mixed_bfloat16"; the
    sigmoid unit always runs in float32 so the loss sees full-precision probabilities.
    """
    policy = _dtype(dtype)
    if cfg.networks == "projection":
        from .quality import build_quality_discriminator

        return build_quality_discriminator(cfg, policy)
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


def build_generator(cfg: GANConfig, dtype=None, fast_output_conv: bool = True) -> keras.Model:
    """Noise + class -> image in [-1, 1]. The "article" networks are the tutorial's design layer by
    layer; the "projection" networks' generator is clothgan.quality's (class-conditional batch norm).

    The label becomes one (size/4)^2 plane; the noise a Dense (size/4)^2 x g_filters map with
    LeakyReLU; both are stacked and upsampled twice by stride-2 4x4 transposed convolutions with
    LeakyReLU, then a 7x7 convolution with tanh gives the image. For a single output channel
    that convolution is a SingleFilterConv2D (same weights and result, faster); with
    fast_output_conv=False it is a plain Conv2D, so the saved model needs nothing but Keras.
    """
    policy = _dtype(dtype)
    if cfg.networks == "projection":
        from .quality import build_quality_generator

        return build_quality_generator(cfg, policy)
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


def adam(lr: float = 2e-4, beta_1: float = 0.5, beta_2: float = 0.999) -> keras.optimizers.Adam:
    """The tutorial's optimizer: Adam(2e-4, beta_1=0.5)."""
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)


def compile_classic_discriminator(d: keras.Model, lr: float = 2e-4, beta_1: float = 0.5) -> keras.Model:
    """The tutorial's `d_model.compile(...)`: binary cross-entropy, Adam, accuracy."""
    d.compile(loss="binary_crossentropy", optimizer=adam(lr, beta_1), metrics=["accuracy"])
    return d


def build_composite_gan(g: keras.Model, d: keras.Model, lr: float = 2e-4,
                        beta_1: float = 0.5) -> keras.Model:
    """The tutorial's composite model: freeze D, stack G -> D, compile.

    Kept to teach a trap: in Keras 2, `compile()` froze each model's list of trainable weights,
    so `d.train_on_batch` kept training D after `d.trainable = False`. Keras 3 reads `trainable`
    when a train function is first traced, so D trained through `d.train_on_batch` after this
    call has no trainable weights and never changes. Use clothgan.gan.ConditionalGAN instead.
    """
    d.trainable = False
    noise, label = g.inputs
    out = d([g.output, label])
    gan = keras.Model([noise, label], out, name="composite_gan")
    gan.compile(loss="binary_crossentropy", optimizer=adam(lr, beta_1))
    return gan


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


def label_planes(model: keras.Model, labels) -> np.ndarray:
    """What the network makes of each label: the `label_plane` map (N, h, w, 1) it concatenates."""
    sub = keras.Model(model.get_layer("label_embedding").input,
                      model.get_layer("label_plane").output)
    return np.asarray(sub(np.asarray(labels, np.int32)), np.float32)
