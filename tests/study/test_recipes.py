"""Recipes for synthetic images (clothgan.study.recipes): names, soft labels from the teacher,
loss weights that scale the loss, and fine-tuning on the real photos alone."""
from __future__ import annotations

import numpy as np
import pytest

from clothgan.errors import ClothganError, ConfigError
from clothgan.study.recipes import Recipe, augment_fit, phases, split_method


def test_recipe_names_round_trip_and_bad_parts_are_one_line_errors():
    for text in ("soft", "soft1", "w0.5", "ft", "r3", "soft+w0.5+ft+r0.5"):
        assert Recipe.parse(text).name == text
    assert split_method("cutpaste+soft") == ("cutpaste", Recipe(soft=0.5))
    assert split_method("none") == ("none", Recipe())
    for bad in ("cutpaste+magic", "oracle+soft", "cutpaste+w0", "cutpaste+soft2"):
        with pytest.raises(ConfigError):
            split_method(bad)


def _constant_teacher(probs):
    """A Keras model that gives every image the probabilities `probs`."""
    import keras

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(len(probs), activation="softmax")])
    kernel, _ = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.zeros_like(kernel), np.log(np.asarray(probs, np.float32))])
    return model


def test_soft_labels_mix_the_teachers_probabilities_into_synthetic_targets_only():
    teacher_probs = np.array([0.1, 0.6, 0.3], np.float32)
    teacher = _constant_teacher(teacher_probs)
    xr, yr = np.zeros((4, 4, 4, 1), np.float32), np.array([0, 1, 2, 0])
    xs, ys = np.ones((2, 4, 4, 1), np.float32), np.array([2, 0])
    (p,) = phases(Recipe(soft=0.5), xr, yr, xs, ys, 3, teacher)
    assert p.targets.shape == (6, 3) and p.real == 4
    assert np.allclose(p.targets[:4], np.eye(3)[yr])                       # photos: their labels
    assert np.allclose(p.targets[4:], 0.5 * np.eye(3)[ys] + 0.5 * teacher_probs, atol=1e-5)
    (pure,) = phases(Recipe(soft=1.0), xr, yr, xs, ys, 3, teacher)
    assert np.allclose(pure.targets[4:], teacher_probs, atol=1e-5)
    with pytest.raises(ClothganError):
        phases(Recipe(soft=0.5), xr, yr, xs, ys, 3, None)


def test_finetune_trains_on_synthetic_alone_then_the_real_photos_alone():
    xr, yr = np.zeros((4, 4, 4, 1), np.float32), np.array([0, 1, 2, 0])
    xs, ys = np.ones((6, 4, 4, 1), np.float32), np.array([2, 0, 1, 1, 0, 2])
    first, last = phases(Recipe(finetune=True, weight=0.5), xr, yr, xs, ys, 3)
    assert np.array_equal(first.x, xs) and first.real == 0 and np.allclose(first.weight, 0.5)
    assert np.array_equal(last.x, xr) and last.targets.tolist() == yr.tolist()
    assert np.allclose(last.weight, 1) and last.learning_rate_scale < 1
    (mixed,) = phases(Recipe(weight=0.25), xr, yr, xs, ys, 3)
    assert mixed.weight.tolist() == [1] * 4 + [0.25] * 6 and mixed.targets.ndim == 1


def _toy(seed, side=4):
    """side x side images: class 0 dark, class 1 bright; 'synthetic' bright images wrongly labelled 0."""
    rng = np.random.default_rng(seed)
    shape = (side, side, 1)
    xr = np.concatenate([rng.uniform(-1, -0.5, (20,) + shape), rng.uniform(0.5, 1, (20,) + shape)])
    yr = np.repeat([0, 1], 20)
    xs = rng.uniform(0.5, 1, (120,) + shape)
    return xr.astype(np.float32), yr, xs.astype(np.float32), np.zeros(120, np.int64)


def _mlp(side=4):
    import keras

    return keras.Sequential([keras.Input((side, side, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(2, activation="softmax")])


def test_the_synthetic_weight_scales_their_loss_and_finetuning_forgets_them():
    xr, yr, xs, ys = _toy(0)
    bright = xr[yr == 1]

    def bright_as_one(recipe):
        model = augment_fit(_mlp(), xr, yr, (xs, ys), recipe, num_classes=2, epochs=40,
                            batch_size=32, learning_rate=0.05)
        return float(np.mean(model.predict(bright, verbose=0).argmax(1) == 1))

    assert bright_as_one("w1") < 0.5          # 3 wrong images per photo outweigh the photos
    assert bright_as_one("w0.01") == 1.0      # at weight 0.01 they count for 1.2 photos
    assert bright_as_one("ft") == 1.0         # fine-tuning on the photos undoes them


def test_augment_fit_trains_its_own_teacher_for_soft_labels_and_reads_a_folder(tmp_path):
    from PIL import Image

    xr, yr, xs, _ = _toy(1, side=8)
    for c, name in enumerate(("dark", "bright")):
        (tmp_path / name).mkdir()
        for i in range(5):
            value = 40 if c == 0 else 220
            Image.fromarray(np.full((8, 8), value, np.uint8)).save(tmp_path / name / f"{i}.png")
    model = augment_fit(_mlp(8), xr, yr, tmp_path, "soft", classes=["dark", "bright"], epochs=20,
                        batch_size=32, learning_rate=0.05)
    assert float(np.mean(model.predict(xr, verbose=0).argmax(1) == yr)) == 1.0
    with pytest.raises(ClothganError, match="classes"):
        augment_fit(_mlp(8), xr, yr, tmp_path, "soft", epochs=1)
