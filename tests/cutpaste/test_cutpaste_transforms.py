"""Garment transforms: each setting does what it says, on image and mask together."""
from __future__ import annotations

import numpy as np
import pytest

from clothgan.cutpaste.config import TransformConfig
from clothgan.cutpaste.transforms import garment_homography, jitter_lut, sample_transform, tilt_homography, transform_garment, TransformParams, warp_rgba


def _cutout(w=60, h=100) -> np.ndarray:
    """An RGBA cut-out whose colour says where each pixel came from (red: left half)."""
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[:, : w // 2, 0] = 255
    rgba[:, w // 2:, 2] = 255
    rgba[:, :, 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]   # green grows downwards
    rgba[:, :, 3] = 255
    return rgba


def _project(h, pts):
    p = np.c_[pts, np.ones(len(pts))] @ h.T
    return p[:, :2] / p[:, 2:]


def test_scale_sets_the_longer_side():
    for scale in (0.2, 0.5):
        patch, _, _ = transform_garment(_cutout(), TransformParams(scale=scale), reference=400)
        ys, xs = np.nonzero(patch[:, :, 3] >= 128)
        assert abs((ys.max() - ys.min() + 1) - scale * 400) <= 2
        assert abs((xs.max() - xs.min() + 1) - scale * 400 * 0.6) <= 2


def test_flip_mirrors_left_and_right():
    plain, _, _ = transform_garment(_cutout(), TransformParams(scale=0.25), 400)
    flipped, _, _ = transform_garment(_cutout(), TransformParams(scale=0.25, flip=True), 400)
    mid = plain.shape[0] // 2
    assert plain[mid, 2, 0] == 255 and flipped[mid, 2, 2] == 255   # left edge: red, then blue


def test_rotation_turns_counter_clockwise_on_screen():
    h = garment_homography(60, 100, TransformParams(scale=1.0, rotation=90), reference=100)
    top, bottom = _project(h, [[30, 0], [30, 100]])
    # The garment's top swings to the left, its bottom to the right; it now lies across.
    assert top[0] < -45 and bottom[0] > 45 and abs(top[1]) < 1e-6


def test_tilt_is_a_perspective_foreshortening():
    # Tilting about x (> 0): the top edge comes towards the camera and looks longer, the bottom
    # edge recedes and looks shorter, and the garment is squashed vertically.
    h = tilt_homography(30, 0, focal=1.5)
    tl, tr, bl, br = _project(h, [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    assert (tr[0] - tl[0]) > 1.0 > (br[0] - bl[0])
    assert bl[1] - tl[1] < 1.0
    # About y: left and right edges, same story; and a longer focal length flattens the effect.
    hy = tilt_homography(0, 30, focal=1.5)
    tl, tr, bl, br = _project(hy, [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    assert abs((bl[1] - tl[1]) - (br[1] - tr[1])) > 0.1
    far = tilt_homography(0, 30, focal=500.0)
    tl2, tr2, bl2, br2 = _project(far, [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    assert abs((bl2[1] - tl2[1]) - (br2[1] - tr2[1])) < 0.01
    assert abs((tr2[0] - tl2[0]) - np.cos(np.radians(30))) < 0.01   # orthographic limit
    assert np.allclose(tilt_homography(0, 0, 1.5), np.eye(3))


def test_image_and_mask_move_together():
    rgba = _cutout()
    p = TransformParams(scale=0.5, rotation=33, flip=True, tilt_x=25, tilt_y=-20)
    patch, _, _ = transform_garment(rgba, p, reference=300)
    inside = patch[:, :, 3] == 255
    colour = (patch[:, :, 0].astype(int) + patch[:, :, 2]) >= 250   # red or blue: garment pixels
    assert inside.sum() > 1000
    assert colour[inside].mean() > 0.99 and not colour[patch[:, :, 3] == 0].any()


def test_warp_pads_and_reports_the_offset():
    rgba = _cutout(10, 10)
    h = np.array([[1, 0, 100], [0, 1, 50], [0, 0, 1]], float)
    patch, left, top = warp_rgba(rgba, h, pad=3)
    assert (left, top) == (97, 47) and patch.shape[:2] == (16, 16)
    assert patch[:3].max() == 0 and patch[3:13, 3:13, 3].min() == 255


def test_brightness_and_contrast_jitter():
    assert np.array_equal(jitter_lut(0.0, 1.0), np.arange(256))
    lut = jitter_lut(0.1, 1.0)
    assert lut[100] == 126 and lut[255] == 255
    lut = jitter_lut(0.0, 2.0, mean=100)
    assert lut[100] == 100 and lut[110] == 120 and lut[0] == 0
    patch, _, _ = transform_garment(_cutout(), TransformParams(scale=0.3, brightness=-0.2), 300)
    base, _, _ = transform_garment(_cutout(), TransformParams(scale=0.3), 300)
    assert np.array_equal(patch[:, :, 3], base[:, :, 3])          # alpha untouched
    assert patch[:, :, :3].astype(int).sum() < base[:, :, :3].astype(int).sum()


def test_sampling_stays_in_range_and_is_seeded():
    cfg = TransformConfig()
    draws = [sample_transform(np.random.default_rng(i), cfg) for i in range(300)]
    for name in ("scale", "rotation", "tilt_x", "tilt_y", "brightness", "contrast"):
        lo, hi = getattr(cfg, name)
        values = [getattr(d, name) for d in draws]
        assert lo <= min(values) and max(values) <= hi and max(values) - min(values) > 0.8 * (hi - lo)
    assert 0.4 < np.mean([d.flip for d in draws]) < 0.6
    assert sample_transform(np.random.default_rng(5), cfg) == draws[5]
    fixed = TransformConfig.identity(0.4)
    assert sample_transform(np.random.default_rng(1), fixed) == TransformParams(scale=0.4)


@pytest.mark.parametrize("bad", [dict(scale=(0.5, 0.1)), dict(flip=1.5), dict(tilt_x=(-80, 10)),
                                 dict(focal=0.5)])
def test_bad_ranges_are_refused(bad):
    with pytest.raises(ValueError):
        TransformConfig(**bad)
