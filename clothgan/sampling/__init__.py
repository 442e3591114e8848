"""Stage 4, sampling: a trained generator as arrays (notebooks) or as a labelled dataset on disk.

    sampler  Sampler: load a run's generator; class grids, same-noise rows, interpolation
    write    generate(): the labelled folder of clothgan.labelled, all-or-nothing
"""
from ..labelled import read_manifest
from .sampler import Sampler, class_noise, interpolate_noise
from .write import GenerationResult, generate

__all__ = ["GenerationResult", "Sampler", "class_noise", "generate", "interpolate_noise",
           "read_manifest"]
