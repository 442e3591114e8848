"""Stage 2, the conditional GAN: the networks, the loss and the training step.

    layers      custom layers (label plane, fast 7x7 output conv, conditional BN, projection)
    article     the reference design's discriminator and generator, layer by layer
    projection  the projection networks (spectral norm, projection head, conditional BN)
    networks    build either family from a GANConfig; FLOP counts
    augment     DiffAugment: the same random transforms on real and generated images
    losses      the adversarial losses (binary cross-entropy, hinge) and LeCam
    cgan        ConditionalGAN: one keras.Model, two optimizers, a train_step
    classic     the reference design's Keras 2 composite recipe, kept to show its Keras 3 trap
    saved       loading a saved generator
"""
from .cgan import METRICS, ConditionalGAN
from .networks import adam, build_discriminator, build_generator, forward_flops
from .saved import load_generator

__all__ = ["METRICS", "ConditionalGAN", "adam", "build_discriminator", "build_generator",
           "forward_flops", "load_generator"]
