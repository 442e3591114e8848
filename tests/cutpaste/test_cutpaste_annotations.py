"""COCO RLE and polygons, boxes, YOLO lines: the encodings detection tools read."""
from __future__ import annotations

import numpy as np

from clothgan.cutpaste.annotations import coco_annotation, Instance, mask_box, mask_polygons, read_yolo, rle_counts, rle_decode, rle_encode, segmentation_to_mask, yolo_lines
from clothgan.data.foreground import mask_iou


def test_rle_known_answers():
    # Column-major runs, background first: [[0, 1], [1, 1]] reads 0,1,1,1 -> runs 1, 3 -> "13".
    m = np.array([[0, 1], [1, 1]], bool)
    assert rle_counts(m) == [1, 3]
    assert rle_encode(m) == {"size": [2, 2], "counts": "13"}
    assert rle_counts(np.ones((2, 3), bool)) == [0, 6]
    # Runs above 15 take several 5-bit characters, low bits first, 0x20 = "more follows":
    # 35 = 3 + 1*32 -> chr(48 + (3 | 0x20)) = 'S', chr(48 + 1) = '1'; then 5 -> '5'.
    tall = np.zeros((40, 1), bool)
    tall[35:] = True
    assert rle_encode(tall)["counts"] == "S15"
    assert rle_decode({"size": [40, 1], "counts": "S15"}).sum() == 5
    # From the fourth run on, each is stored as the difference to the run two before (may be < 0).
    m = np.zeros((12, 1), bool)
    m[[1, 2, 3, 5, 6]] = True
    assert rle_counts(m) == [1, 3, 1, 2, 5]
    # '1', '3', '1', then 2 - 3 = -1 -> low bits 31 with the sign bit set, nothing more: 'O';
    # then 5 - 1 = 4 -> '4'.
    assert rle_encode(m)["counts"] == "131O4"
    assert np.array_equal(rle_decode(rle_encode(m)), m)


def test_rle_round_trips_random_masks():
    rng = np.random.default_rng(0)
    for i in range(30):
        h, w = rng.integers(1, 70, 2)
        m = rng.random((h, w)) < rng.uniform(0, 1)
        if i % 3 == 0:  # blobby masks with long runs, as garments give
            m = np.zeros((h, w), bool)
            m[rng.integers(0, h):, rng.integers(0, w):] = True
        assert np.array_equal(rle_decode(rle_encode(m)), m)
        assert np.array_equal(rle_decode({"size": [int(h), int(w)], "counts": rle_counts(m)}), m)


def test_boxes_are_tight_in_pixel_edges():
    m = np.zeros((30, 40), bool)
    assert mask_box(m) is None
    m[5:9, 10:21] = True
    m[20, 3] = True
    assert mask_box(m) == (3, 5, 18, 16)


def test_polygons_trace_the_mask():
    m = np.zeros((80, 90), bool)
    m[10:60, 20:70] = True
    m[40:75, 30:45] = True
    polys = mask_polygons(m)
    assert len(polys) == 1 and len(polys[0]) % 2 == 0
    assert mask_iou(segmentation_to_mask(polys, 80, 90), m) > 0.97


def test_coco_and_yolo_agree_on_the_box(tmp_path):
    m = np.zeros((100, 200), bool)
    m[10:50, 30:130] = True
    inst = Instance(3, m)
    ann = coco_annotation(inst)
    assert ann["bbox"] == [30, 10, 100, 40] and ann["category_id"] == 4 and ann["area"] == 4000
    line = yolo_lines([inst], 200, 100)
    assert line == "3 0.400000 0.300000 0.500000 0.400000\n"
    (tmp_path / "a.txt").write_text(line)
    ((cls, box),) = read_yolo(tmp_path / "a.txt", 200, 100)
    assert cls == 3 and np.allclose(box, (30, 10, 100, 40), atol=1e-3)
