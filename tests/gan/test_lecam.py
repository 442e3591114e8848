"""LeCam regularisation (GANConfig.lecam_weight): the term's value, the moving averages it keeps,
the discriminator loss it adds to, and its state in checkpoints."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from clothgan.config import ConfigError, GANConfig, TrainConfig  # noqa: E402
from clothgan.gan import ConditionalGAN, adam, build_discriminator, build_generator  # noqa: E402
from clothgan.training.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from helpers import random_batch as _batch  # noqa: E402


def _gan(lecam=0.0, schedule="fused", seed=0):
    keras.utils.set_random_seed(seed)
    cfg = GANConfig(lecam_weight=lecam)
    gan = ConditionalGAN.from_config_objects(build_generator(cfg), build_discriminator(cfg),
                                             TrainConfig(schedule=schedule, seed=seed), cfg)
    gan.compile(adam(), adam())
    return gan


def test_term_is_squared_distance_to_the_other_sides_average():
    gan = _gan(0.5)
    gan.lecam_ema.assign([1.0, -1.0])
    half = np.full((2, 1), 0.5, np.float32)                    # probability 0.5 = logit 0
    # Real images are pulled towards the generated ones' average (-1), and the other way round.
    assert float(gan.regulariser(half, 1.0)) == pytest.approx(0.5 * (0 + 1) ** 2, rel=1e-5)
    assert float(gan.regulariser(half, 0.0)) == pytest.approx(0.5 * (0 - 0.99) ** 2, rel=1e-5)
    assert np.allclose(gan.lecam_ema.numpy(), [0.99, -0.99], atol=1e-6)   # decay 0.99 towards 0
    assert float(gan.regulariser(half, 1.0)) == pytest.approx(0.5 * 0.99 ** 2, rel=1e-4)


@pytest.mark.parametrize("schedule", ["fused", "reference"])
def test_training_moves_the_averages(schedule):
    gan = _gan(0.5, schedule)
    gan.train_step(_batch())
    ema = gan.lecam_ema.numpy()
    assert np.all(np.isfinite(ema)) and np.all(ema != 0.0)


def test_it_raises_the_discriminator_loss_of_the_same_step():
    plain, regular = _gan(0.0), _gan(1.0)     # the same seed: the same networks and batch
    regular.lecam_ema.assign([3.0, -3.0])     # far from D's near-zero logits: a large term
    logs = [g.train_step(_batch()) for g in (plain, regular)]
    assert float(logs[1]["d_loss"]) > float(logs[0]["d_loss"]) + 1.0


def test_off_means_no_state_and_no_term():
    gan = _gan(0.0)
    half = np.full((2, 1), 0.5, np.float32)
    assert gan.lecam_ema is None and gan.regulariser(half, 1.0) == 0.0


def test_averages_survive_a_checkpoint(tmp_path):
    gan = _gan(0.3)
    gan.train_step(_batch())
    save_checkpoint(tmp_path / "c.npz", gan, 1, [])
    other = _gan(0.3, seed=1)
    load_checkpoint(tmp_path / "c.npz", other)
    assert np.array_equal(other.lecam_ema.numpy(), gan.lecam_ema.numpy())


@pytest.mark.parametrize("changes", [dict(lecam_weight=-1.0), dict(lecam_decay=1.0)])
def test_config_refuses_bad_settings(changes):
    with pytest.raises(ConfigError):
        GANConfig(**changes)
