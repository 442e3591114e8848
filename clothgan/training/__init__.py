"""Stage 3, training: a ConditionalGAN fitted into a resumable, self-describing run directory.

    train       train(), in phases: plan the run, load photos, build, callbacks, fit, finish
    batches     each epoch's seeded order of the training photos
    strategy    one device, mirrored, multi-worker or TPU
    callbacks   sample grids, checkpoints and history, CPU budget, NaN guard, progress
    checkpoint  the atomic checkpoint of both networks, optimizers and RNG state
    grids       per-class sample grids as PNG and GIF
    selection   the kept generator (scored on the validation split) and its noise scale
"""
from .train import TrainingDiverged, TrainResult, train

__all__ = ["TrainResult", "TrainingDiverged", "train"]
