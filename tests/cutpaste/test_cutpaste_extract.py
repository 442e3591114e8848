"""GrabCut garment extraction: accuracy on photos with known masks, clean-up, cache, preprocessing hook."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from clothgan.config import DataConfig
from clothgan.cutpaste import foreground_on_white, FOREGROUND_VERSION, ForegroundFailed
from clothgan.cutpaste.config import ExtractConfig
from clothgan.data.foreground import clean_mask, extract, garment_on_white, grabcut_alpha, guided_filter, mask_iou, mask_key, MaskQuality
from clothgan.cutpaste.synthetic import extraction_trials, garment_photo
from clothgan.core.cache import cache_dir


def test_mean_iou_on_known_masks_is_at_least_0_9():
    trials = extraction_trials(20, seed=1000)
    ious = [t.iou for t in trials]
    assert len({t.shape for t in trials}) >= 4         # several garment outlines, not one easy case
    assert np.mean(ious) >= 0.9, f"mean IoU {np.mean(ious):.3f}: {np.round(ious, 3)}"


def test_extraction_is_deterministic():
    # GrabCut seeds its colour models with k-means; an unseeded RNG would change the mask.
    photo, _, _ = garment_photo(np.random.default_rng(3))
    other, _, _ = garment_photo(np.random.default_rng(4))
    first = grabcut_alpha(photo)
    grabcut_alpha(other)
    assert np.array_equal(first, grabcut_alpha(photo))


def test_mask_has_a_soft_edge_and_a_solid_inside():
    photo, truth, _ = garment_photo(np.random.default_rng(7))
    alpha = grabcut_alpha(photo)
    inner = cv2.erode(truth.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (alpha[inner] == 255).mean() > 0.97
    edge = ((alpha > 10) & (alpha < 245)).sum()
    assert edge > 0.5 * cv2.Canny(truth.astype(np.uint8) * 255, 100, 200).astype(bool).sum()


def test_clean_mask_keeps_large_parts_drops_specks_fills_holes():
    m = np.zeros((100, 100), bool)
    m[10:60, 10:40] = True          # the garment
    m[20:30, 20:30] = False         # a hole inside it
    m[10:55, 60:90] = True          # the second shoe of a pair: about as large, kept
    m[80:83, 80:83] = True          # a speck, dropped
    out = clean_mask(m, keep_ratio=0.35, fill_holes=True)
    assert out[25, 25] and out[30, 70] and not out[81, 81]
    alone = clean_mask(m, keep_ratio=1.0, fill_holes=False)
    assert not alone[30, 70] and not alone[25, 25]


def test_guided_filter_snaps_an_upsampled_mask_to_the_photo_edge():
    guide = np.zeros((40, 40), np.float32)
    guide[:, 20:] = 1.0                       # the photo's edge: column 20
    x = np.arange(40, dtype=np.float32)
    for centre in (17.5, 18.5, 21.5):         # a blurry mask edge, as 4x upsampling leaves it
        rough = np.tile(np.clip((x - centre) / 8 + 0.5, 0, 1), (40, 1)).astype(np.float32)
        assert (rough >= 0.5).argmax(1)[0] != 20
        out = guided_filter(guide, rough, radius=4, eps=1e-3) >= 0.5
        assert set(out.argmax(1).tolist()) == {20}


def test_quality_flags_a_photo_with_nothing_to_extract():
    flat = np.full((120, 90, 3), 128, np.uint8) + np.random.default_rng(0).integers(0, 3, (120, 90, 3),
                                                                                     dtype=np.uint8)
    q = MaskQuality.of(grabcut_alpha(flat), ExtractConfig())
    assert not q.ok and q.reason


def test_masks_are_cached_by_content_and_settings(tmp_path):
    photo, truth, _ = garment_photo(np.random.default_rng(11), (160, 200))
    a = tmp_path / "a.jpg"
    Image.fromarray(photo).save(a, quality=95)
    cut = extract(a)
    cached = list(cache_dir("masks").rglob("*.png"))
    assert len(cached) == 1 and cut.quality.ok and mask_iou(cut.alpha, truth) > 0.85
    # Same bytes under another name: same entry; the cached mask is what comes back.
    b = tmp_path / "b.jpg"
    shutil.copy(a, b)
    assert mask_key(a, ExtractConfig()) == mask_key(b, ExtractConfig())
    marker = np.zeros_like(cut.alpha)
    marker[5:10, 5:10] = 255
    cv2.imwrite(str(cached[0]), marker)
    assert np.array_equal(extract(b).alpha, marker)
    # Other settings or other bytes: another entry.
    assert mask_key(a, ExtractConfig(iterations=2)) != mask_key(a, ExtractConfig())
    Image.fromarray(photo[:, ::-1].copy()).save(b, quality=95)
    assert mask_key(a, ExtractConfig()) != mask_key(b, ExtractConfig())


def test_garment_on_white_and_the_preprocessing_hook(tmp_path):
    photo, truth, _ = garment_photo(np.random.default_rng(5), (160, 200))
    p = tmp_path / "dress" / "d.jpg"
    p.parent.mkdir()
    Image.fromarray(photo).save(p, quality=95)
    white = garment_on_white(p)
    outside = cv2.dilate(truth.astype(np.uint8), np.ones((11, 11), np.uint8)) == 0
    assert (white[outside] >= 250).mean() > 0.97
    small = Image.fromarray(photo).resize((40, 50))
    assert foreground_on_white(small, str(p)).size == (40, 50)
    assert FOREGROUND_VERSION.startswith("grabcut-")
    from clothgan.data import load_image
    x = load_image(p, DataConfig(dataset=str(tmp_path), foreground=True))
    # Top middle: the photo's background (padding only widens the sides), white once cut out.
    assert x.shape == (28, 28, 1) and x[0, 14, 0] > 0.95
    assert load_image(p, DataConfig(dataset=str(tmp_path)))[0, 14, 0] < 0.9


def test_failed_extraction_raises_with_the_reason(tmp_path):
    p = tmp_path / "flat.png"
    Image.fromarray(np.full((100, 80, 3), 90, np.uint8)).save(p)
    with pytest.raises(ForegroundFailed, match="flat.png"):
        garment_on_white(p)


@pytest.mark.real_data
def test_real_photos_mostly_extract(real_data_dir):
    from clothgan.data import scan

    inv = scan(DataConfig(dataset=str(real_data_dir)))
    records = sorted(inv.records, key=lambda r: r.path)[::400][:12]
    cuts = [extract(r.path) for r in records]
    ok = [c.quality.ok for c in cuts]
    assert sum(ok) >= 0.75 * len(ok), [c.quality.reason for c in cuts]
    areas = [c.quality.area for c in cuts if c.quality.ok]
    assert 0.1 < np.median(areas) < 0.8      # a garment, not the whole photo nor a speck

