"""Bad input never stops a load; the cache is keyed by everything that shapes the arrays."""
from __future__ import annotations

import dataclasses
import io
import os
import pickle
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothgan.core.cache import cache_dir
from clothgan.data import arrays as preprocess
from clothgan.data import foreground, images
from clothgan.config import DataConfig
from clothgan.data import scan
from clothgan.errors import DataError
from clothgan.data import (build_arrays, classic_preprocess, load_image, SkippedImageWarning,
                           UnusableImage)
from clothgan.data.images import CORRUPT, EMPTY, NOT_IMAGE, TOO_LARGE

from helpers import write_image

CLASSES3 = ("dress", "hat", "shoes")


def png_bomb_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels: Pillow learns the size before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def jpeg_bytes(size=(40, 60), color=(90, 140, 200)) -> bytes:
    arr = np.full((size[1], size[0], 3), color, np.uint8)
    arr[::4] = 255 - arr[::4]            # detail, so the file has enough entropy to cut
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _save(path: Path, img: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def special_images(d: Path) -> dict[str, tuple[Path, float | None]]:
    """Usable images in unusual formats: name -> (path, expected mean pixel in [-1, 1] or None)."""
    out = {}
    # CMYK JPEG of pure red: grey level of red (ITU-R 601 luma 76) -> 76/127.5 - 1
    out["cmyk"] = (_save(d / "cmyk.jpg", Image.new("CMYK", (30, 30), (0, 255, 255, 0)),
                         quality=95), 76 / 127.5 - 1)
    # 16-bit greyscale PNG at half of full scale: mid grey, not clipped to white
    out["16bit"] = (_save(d / "gray16.png", Image.fromarray(np.full((30, 30), 32896, np.uint16))),
                    128 / 127.5 - 1)
    # Palette with a transparent index everywhere: white after compositing
    pal = Image.new("P", (30, 30), 0)
    pal.putpalette([0, 0, 0] * 256)
    out["palette_transparent"] = (_save(d / "pal.png", pal, transparency=0), 1.0)
    # RGBA: fully transparent black -> white
    out["rgba_clear"] = (_save(d / "clear.png", Image.new("RGBA", (30, 30), (0, 0, 0, 0))), 1.0)
    # RGBA: opaque black stays black
    out["rgba_opaque"] = (_save(d / "opaque.png", Image.new("RGBA", (30, 30), (0, 0, 0, 255))),
                          -1.0)
    # Animated GIF: first frame black, second white -> the first frame
    frames = [Image.new("L", (30, 30), 0), Image.new("L", (30, 30), 255)]
    p = d / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out["animated"] = (p, -1.0)
    # Bilevel, odd name, upper-case suffix
    out["odd_name"] = (_save(d / "ünï cødé (1) #x.PNG", Image.new("1", (30, 30), 1)), 1.0)
    return out


def bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    """Unusable files: name -> (path, expected skip reason)."""
    d.mkdir(parents=True, exist_ok=True)
    good = jpeg_bytes()
    out = {}
    (d / "empty.jpg").write_bytes(b"")
    out["empty"] = (d / "empty.jpg", EMPTY)
    (d / "text.png").write_text("these are notes, not pixels\n" * 10)
    out["text"] = (d / "text.png", NOT_IMAGE)
    (d / "truncated.jpg").write_bytes(good[: len(good) * 6 // 10])
    out["truncated_jpeg"] = (d / "truncated.jpg", CORRUPT)
    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 50, 3), np.uint8)).save(png, "PNG")
    (d / "truncated.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    out["truncated_png"] = (d / "truncated.png", CORRUPT)
    (d / "garbled.jpg").write_bytes(good[:300] + bytes(range(256)) * 8)
    out["garbled_jpeg"] = (d / "garbled.jpg", CORRUPT)
    (d / "bomb.png").write_bytes(png_bomb_header(100_000, 100_000))
    out["bomb"] = (d / "bomb.png", TOO_LARGE)
    return out


def test_every_bad_file_is_skipped_by_reason_and_every_usable_one_loads(tmp_path):
    root = tmp_path / "src"
    for c in CLASSES3:
        for i in range(4):
            write_image(root / c / f"{c}{i}.jpg")
    bad = bad_files(root / "hat")
    special = special_images(root / "dress")
    for stray in (".DS_Store", "notes.txt", "Thumbs.db", "desktop.ini"):
        (root / "shoes" / stray).write_bytes(b"\0\1\2")
    cfg = DataConfig(dataset=str(root), classes=CLASSES3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays = build_arrays(cfg, progress=False)
    skip_msgs = [str(w.message) for w in caught if issubclass(w.category, SkippedImageWarning)]
    assert len(skip_msgs) == len(bad)
    for path, reason in bad.values():
        assert any(m.startswith(f"{path}: skipped, {reason}") for m in skip_msgs), path
    assert {Path(s.path).name: s.reason for s in arrays.skipped} == \
        {p.name: r for p, r in bad.values()}
    assert arrays.skip_counts() == {EMPTY: 1, NOT_IMAGE: 1, CORRUPT: 3, TOO_LARGE: 1}
    assert not any("notes.txt" in m or "DS_Store" in m for m in skip_msgs)
    assert len(arrays.y) == 12 + len(special)
    by_name = dict(zip((Path(p).name for p in arrays.paths), arrays.x))
    for name, (path, mean) in special.items():
        assert abs(float(by_name[path.name].mean()) - mean) < 0.03, name


def test_load_image_names_the_file_and_the_reason(tmp_path):
    bad = bad_files(tmp_path)
    cfg = DataConfig()
    for path, reason in bad.values():
        with pytest.raises(UnusableImage) as err:
            load_image(path, cfg)
        assert err.value.reason == reason and str(path) in str(err.value)
    with pytest.raises(UnusableImage, match="unreadable"):
        load_image(tmp_path / "gone.jpg", cfg)


def test_pixel_cap_is_configurable(tmp_path, monkeypatch):
    p = write_image(tmp_path / "a.png", size=(40, 60))
    load_image(p, DataConfig())
    monkeypatch.setattr(images, "MAX_PIXELS", 40 * 60 - 1)
    with pytest.raises(UnusableImage, match="too large.*40x60"):
        load_image(p, DataConfig())


def test_exif_orientation_is_honoured_and_aspect_kept(tmp_path):
    arr = np.zeros((20, 40), np.uint8)
    arr[:, 20:] = 255                      # left half black, right half white
    exif = Image.Exif()
    exif[0x0112] = 6                       # display rotated 90 degrees clockwise
    p = _save(tmp_path / "rot.jpg", Image.fromarray(arr), exif=exif, quality=95)
    x = load_image(p, DataConfig(resize="squash"))[:, :, 0]
    assert x[:10].mean() < -0.8 and x[-10:].mean() > 0.8     # left edge is now the top
    wide = _save(tmp_path / "wide.png", Image.new("L", (60, 20), 0))
    x = load_image(wide, DataConfig())[:, :, 0]
    assert x[:8].min() == 1.0 and x[-8:].min() == 1.0         # padded with white, not squashed
    assert x[12:16].max() == -1.0
    assert classic_preprocess(wide).shape == (28, 28)          # the article squashes
    assert classic_preprocess(wide).max() == 0


def test_rgb_sizes_and_range(tmp_path):
    p = write_image(tmp_path / "red.png", size=(50, 50), color=(255, 0, 0))
    for size in (28, 32, 64):
        x = load_image(p, DataConfig(image_size=size, channels=3))
        assert x.shape == (size, size, 3) and x.dtype == np.float32
        assert x[0, 0, 0] == 1.0 and x[0, 0, 1] == -1.0 and x[0, 0, 2] == -1.0


def test_all_unusable_is_a_clear_error(tmp_path):
    root = tmp_path / "src"
    for c in CLASSES3:
        (root / c).mkdir(parents=True)
        (root / c / "x.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="none of the 3 image files is usable.*3 empty file"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_arrays(DataConfig(dataset=str(root), classes=CLASSES3), progress=False)


_PROCESS_RUN = """
import pickle, sys, warnings
from clothgan.config import DataConfig
from clothgan.core.parallel import fork_is_safe
from clothgan.data import build_arrays
assert fork_is_safe()          # so backend="process" forks worker processes here
cfg = DataConfig(dataset=sys.argv[1], classes=tuple(sys.argv[2].split(",")))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    a = build_arrays(cfg, workers=2, backend="process", progress=False)
sys.stdout.buffer.write(pickle.dumps((a.x, a.paths, a.skipped)))
"""


def test_workers_give_identical_results(tmp_path):
    root = tmp_path / "src"
    for ci, c in enumerate(CLASSES3):
        for i in range(50):
            write_image(root / c / f"{i}.png", size=(30 + i % 7, 40), color=(ci * 80, i * 5, 100))
    (root / "hat" / "bad.jpg").write_bytes(b"junk")
    cfg = DataConfig(dataset=str(root), classes=CLASSES3)
    inv = scan(cfg)
    results = {}
    for backend in ("serial", "thread"):
        for f in cache_dir("prepared").glob("*.npz"):
            f.unlink()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkippedImageWarning)
            a = build_arrays(cfg, inv, workers=2, backend=backend, progress=False)
        assert not a.from_cache
        results[backend] = (a.x, a.paths, a.skipped)
    # Forked worker processes, in a fresh interpreter: this one may have TensorFlow loaded
    # (other test modules), where clothgan rightly refuses to fork.
    proc = subprocess.run([sys.executable, "-c", _PROCESS_RUN, str(root), ",".join(CLASSES3)],
                          capture_output=True, timeout=120,
                          env={**os.environ, "CLOTHGAN_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    results["process"] = pickle.loads(proc.stdout)
    for b in ("thread", "process"):
        np.testing.assert_array_equal(results[b][0], results["serial"][0])
        assert results[b][1:] == results["serial"][1:]
    assert [Path(s.path).name for s in results["serial"][2]] == ["bad.jpg"]


def test_process_backend_falls_back_to_threads_where_fork_is_unsafe(monkeypatch):
    from clothgan.core import parallel

    monkeypatch.setattr(parallel, "fork_is_safe", lambda: False)
    assert parallel.pool_kind("auto", 2) == parallel.pool_kind("process", 2) == "thread"
    monkeypatch.setattr(parallel, "fork_is_safe", lambda: True)
    assert parallel.pool_kind("auto", 2) == "process"
    assert parallel.pool_kind("auto", 1) == parallel.pool_kind("serial", 2) == "serial"


def test_cache_is_reused_and_rebuilt_exactly_when_it_should_be(tiny_folder):
    cfg = DataConfig(dataset=str(tiny_folder))
    first = build_arrays(cfg, progress=False)
    again = build_arrays(cfg, progress=False)
    assert again.from_cache and not first.from_cache
    np.testing.assert_array_equal(again.x, first.x)
    np.testing.assert_array_equal(again.x, np.stack([load_image(p, cfg) for p in again.paths]))
    # A changed file is noticed.
    target = Path(first.paths[0])
    Image.new("RGB", (40, 60), (0, 0, 0)).save(target)
    changed = build_arrays(cfg, progress=False)
    assert not changed.from_cache and changed.cache_path != first.cache_path
    assert changed.x[0].mean() < first.x[0].mean()
    # A damaged cache file is rebuilt with a warning, never trusted.
    Path(changed.cache_path).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.warns(UserWarning, match="cache unreadable"):
        rebuilt = build_arrays(cfg, progress=False)
    assert not rebuilt.from_cache
    np.testing.assert_array_equal(rebuilt.x, changed.x)
    assert build_arrays(cfg, progress=False).from_cache
    assert not list(Path(changed.cache_path).parent.glob(".*tmp*"))     # no temp files left


# Another value for every DataConfig field: a new field must be added here (and to the key).
_OTHER = {"dataset": "elsewhere", "image_size": 32, "channels": 3, "classes": CLASSES3,
          "include_kids": False, "val_fraction": 0.2, "test_fraction": 0.15, "split_seed": 7,
          "resize": "squash", "foreground": True}


def test_every_config_field_changes_the_cache_key(tiny_folder, monkeypatch):
    monkeypatch.setattr(foreground, "FOREGROUND_VERSION", "v1")
    records = scan(DataConfig(dataset=str(tiny_folder))).records
    base = DataConfig()
    fields = {f.name for f in dataclasses.fields(DataConfig)}
    assert fields == set(_OTHER), "update _OTHER for the new DataConfig field(s)"
    keys = {preprocess._cache_key(base, records)}
    for name, value in _OTHER.items():
        keys.add(preprocess._cache_key(base.replace(**{name: value}), records))
    assert len(keys) == len(_OTHER) + 1
    fg = base.replace(foreground=True)
    k1 = preprocess._cache_key(fg, records)
    monkeypatch.setattr(foreground, "FOREGROUND_VERSION", "v2")
    assert preprocess._cache_key(fg, records) != k1     # a new extractor never reuses old arrays


def test_foreground_extractor_is_called_and_its_failures_are_skipped(tiny_folder, monkeypatch):
    cfg = DataConfig(dataset=str(tiny_folder), foreground=True)
    calls = []

    def on_white(img, path):
        calls.append(path)
        if path.endswith("hat_0.png"):
            raise ValueError("no garment found")
        return Image.new("RGB", img.size, (0, 0, 0))

    monkeypatch.setattr(foreground, "foreground_on_white", on_white)
    monkeypatch.setattr(foreground, "FOREGROUND_VERSION", "test")
    with pytest.warns(SkippedImageWarning, match="hat_0.png: skipped, foreground extraction failed"):
        arrays = build_arrays(cfg, progress=False, backend="serial")
    assert len(calls) == 60 and len(arrays.y) == 59
    assert arrays.x[:, :, 10:18].max() == -1.0   # every image came through the extractor (black)
