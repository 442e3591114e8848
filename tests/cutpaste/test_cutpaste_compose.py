"""Composition: placement limits, blend modes, backgrounds, single garments."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import build_test_bank
from clothgan.cutpaste.backgrounds import Backgrounds, procedural
from clothgan.cutpaste.compose import compose_scene, compose_single, GarmentBank, render_size
from clothgan.cutpaste.config import ComposeConfig, TransformConfig
from clothgan.errors import DataError


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> GarmentBank:
    b, report = build_test_bank(tmp_path_factory.mktemp("photos"), tmp_path_factory.mktemp("home"))
    assert len(b) >= 15 and len(report.failed) <= 5
    return b


def _scenes(bank, cfg, n=25, seed=0):
    bg = Backgrounds(cfg.size, cfg.backgrounds, seed, pool=4)
    return [compose_scene(np.random.default_rng([seed, i]), bank, bg, cfg) for i in range(n)]


def test_garments_without_room_are_counted(bank):
    """Ten large garments do not all fit one small scene: what is left out is said, not hidden."""
    cfg = ComposeConfig(size=96, objects=(10, 10), transform=TransformConfig(scale=(0.5, 0.6)))
    scenes = _scenes(bank, cfg, n=6)
    assert all(len(s.instances) + s.dropped == 10 for s in scenes)
    assert sum(s.dropped for s in scenes) > 0


def test_scenes_respect_object_count_occlusion_and_truncation(bank):
    cfg = ComposeConfig(size=192, objects=(2, 4), max_occlusion=0.3, max_truncation=0.25,
                        transform=TransformConfig(scale=(0.3, 0.5)))
    scenes = _scenes(bank, cfg)
    counts = [len(s.instances) for s in scenes]
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) >= 2
    truncated = 0
    for s in scenes:
        union = np.zeros((192, 192), int)
        for inst in s.instances:
            union += inst.mask
            area = int(inst.mask.sum())
            assert area >= 0.7 * inst.placed_area - 1            # occlusion limit
            assert inst.placed_area >= 0.75 * inst.full_area - 1  # truncation limit
            truncated += inst.placed_area < inst.full_area
        assert union.max() <= 1                                   # visible masks never overlap
    assert truncated > 0                                          # garments do cross the border


def test_zero_limits_mean_no_occlusion_and_no_truncation(bank):
    cfg = ComposeConfig(size=192, objects=(3, 3), max_occlusion=0.0, max_truncation=0.0,
                        transform=TransformConfig(scale=(0.25, 0.35)))
    for s in _scenes(bank, cfg, n=15):
        for inst in s.instances:
            assert inst.mask.sum() == inst.placed_area == inst.full_area


def test_blend_modes_share_geometry_and_differ_where_they_should(bank):
    images, masks = {}, {}
    for blend in ("hard", "gaussian", "poisson"):
        cfg = ComposeConfig(size=160, objects=(1, 1), blend=blend, feather=2.0)
        (scene,) = _scenes(bank, cfg, n=1, seed=3)
        images[blend] = scene.image.astype(int)
        masks[blend] = scene.instances[0].mask
    assert np.array_equal(masks["hard"], masks["gaussian"]) and np.array_equal(masks["hard"],
                                                                               masks["poisson"])
    m = masks["hard"]
    background = Backgrounds(160, None, 3, pool=4).draw(np.random.default_rng([3, 0]))
    assert np.array_equal(images["hard"][~m], background[~m])           # hard: nothing outside
    diff = np.abs(images["gaussian"] - images["hard"]).sum(2) > 0
    import cv2
    ring = cv2.dilate(m.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~cv2.erode(
        m.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert diff.any() and diff[~ring].mean() < 0.01                  # gaussian: only at the edge
    inner = cv2.erode(m.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert np.abs(images["poisson"] - images["hard"])[inner].mean() > 2  # poisson: recoloured inside


def test_classification_image_is_one_garment_of_the_asked_class(bank):
    cfg = ComposeConfig.for_classification(size=28, channels=1)
    bg = Backgrounds(render_size(cfg), None, 0, pool=4)
    for label in (0, 4, 9):
        img, got, src = compose_single(np.random.default_rng(label), bank, bg, cfg, label)
        assert img.shape == (28, 28) and img.dtype == np.uint8 and got == label
        assert src in bank.sources and bank.labels[bank.sources.index(src)] == label
    rgb = cfg.replace(size=64, channels=3)
    img, _, _ = compose_single(np.random.default_rng(1), bank, Backgrounds(render_size(rgb)), rgb, 2)
    assert img.shape == (64, 64, 3)


def test_a_class_without_garments_is_a_clear_error(bank):
    small = GarmentBank(bank.rgba[:1], bank.labels[:1], bank.sources[:1], bank.classes)
    missing = next(c for c in range(10) if c != int(small.labels[0]))
    cfg = ComposeConfig.for_classification()
    with pytest.raises(DataError, match=small.classes[missing]):
        compose_single(np.random.default_rng(0), small, Backgrounds(render_size(cfg)), cfg, missing)


def test_bank_round_trips_through_its_file(bank, tmp_path):
    bank.save(tmp_path / "b.npz")
    again = GarmentBank.load(tmp_path / "b.npz")
    assert len(again) == len(bank) and again.classes == bank.classes
    assert all(np.array_equal(a, b) for a, b in zip(again.rgba, bank.rgba))
    assert again.sources == bank.sources and again.failed == bank.failed


def test_procedural_backgrounds_depend_only_on_seed_and_index():
    a = Backgrounds(64, None, seed=1, pool=6)
    b = Backgrounds(64, None, seed=1, pool=6)
    for j in (5, 2, 0):                       # another order of first use: same images
        a._get(j)
    draws_a = [a.draw(np.random.default_rng([1, i])) for i in range(6)]
    draws_b = [b.draw(np.random.default_rng([1, i])) for i in range(6)]
    assert all(np.array_equal(x, y) for x, y in zip(draws_a, draws_b))
    assert not np.array_equal(draws_a[0], Backgrounds(64, None, seed=2, pool=6).draw(
        np.random.default_rng([1, 0])))
    kinds = {k: procedural(np.random.default_rng(0), 48, k) for k in ("gradient", "noise", "wood")}
    assert all(v.shape == (48, 48, 3) and v.std() > 1 for v in kinds.values())
    draws_a[0][:] = 0                          # painting on a draw never changes the pool
    assert np.array_equal(a.draw(np.random.default_rng([1, 0])), draws_b[0])


def test_folder_backgrounds_are_cropped_and_a_bad_folder_is_named(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((90, 140, 3), 40 * i + 30, np.uint8)).save(tmp_path / f"bg{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    bg = Backgrounds(64, str(tmp_path), seed=0)
    draws = [bg.draw(np.random.default_rng(i)) for i in range(12)]
    assert all(d.shape == (64, 64, 3) for d in draws)
    assert len({int(d[0, 0, 0]) // 20 for d in draws}) >= 2    # several files used
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        Backgrounds(64, str(tmp_path / "empty"), 0)
    with pytest.raises(DataError, match="does not exist"):
        Backgrounds(64, str(tmp_path / "nope"), 0)
    white = Backgrounds(32, "white").draw(np.random.default_rng(0))
    assert white.min() == 255

