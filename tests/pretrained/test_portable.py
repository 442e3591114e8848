"""Shipped generators load on every Keras clothgan allows, and a generator from a newer Keras
fails with both versions named (issue 22: Colab's Keras 3.13.2 refused archives 3.15.1 wrote)."""
from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from oldest_keras import RECORD, archive_keys, lower_bound  # noqa: E402

from clothgan.errors import ClothganError  # noqa: E402
from clothgan.gan.saved import _unloadable, load_generator  # noqa: E402
from clothgan.pretrained.portable import NEWER_KEYS, make_portable, shipped_archives  # noqa: E402


def entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(path, **changed: bytes) -> None:
    """Replace some entries of a .keras archive, keeping the rest."""
    old = entries(path)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in old.items():
            zf.writestr(name, changed.get(name, data))


def newer_keys(path) -> int:
    text = entries(path)["config.json"].decode()
    return sum(text.count(f'"{key}"') for key in NEWER_KEYS)


def tiny_generator():
    noise = keras.Input((4,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    x = keras.layers.Concatenate()([keras.layers.Dense(4)(noise), keras.layers.Embedding(3, 4)(label)])
    return keras.Model([noise, label], keras.layers.Dense(2, activation="tanh")(x))


def draw(model) -> np.ndarray:
    z = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")
    return np.asarray(model([z, np.arange(6, dtype="int32") % 3], training=False))


def test_the_record_is_of_the_oldest_keras_pyproject_allows():
    assert json.loads(RECORD.read_text())["keras"] == lower_bound()


@pytest.mark.parametrize("archive", shipped_archives(), ids=lambda p: p.parent.name)
def test_shipped_archives_hold_no_config_key_the_oldest_supported_keras_refuses(archive):
    known = {k: set(v) for k, v in json.loads(RECORD.read_text())["classes"].items()}
    for name, keys in archive_keys(archive).items():
        assert name in known, (f"{name} is not in {RECORD.name}: record it "
                                 "(docs/data.md, Checking the course on Colab's stack)")
        assert keys <= known[name], (f"{archive}: {name} holds {sorted(keys - known[name])}, which "
                                     f"Keras {lower_bound()} refuses; run "
                                     "`python -m clothgan.pretrained.portable`")


def test_make_portable_removes_the_newer_keys_and_keeps_every_pixel(tmp_path):
    model = tiny_generator()
    path = tmp_path / "g.keras"
    model.save(path)
    before, found = entries(path), newer_keys(path)
    assert make_portable(path) == found
    after = entries(path)
    assert newer_keys(path) == 0 and before.keys() == after.keys()
    assert all(after[n] == before[n] for n in before if n != "config.json")
    assert np.array_equal(draw(keras.saving.load_model(path, compile=False)), draw(model))
    assert make_portable(path) == 0 and entries(path) == after          # again: nothing to do


def test_a_newer_key_that_means_something_is_refused_and_the_file_kept(tmp_path):
    path = tmp_path / "g.keras"
    tiny_generator().save(path)
    config = json.loads(entries(path)["config.json"])
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["quantization_config"] = {"mode": "int8"}
    rewrite(path, **{"config.json": json.dumps(config).encode()})
    kept = path.read_bytes()
    with pytest.raises(ClothganError, match="quantization_config.*cannot be saved for older"):
        make_portable(path)
    assert path.read_bytes() == kept


def test_a_generator_from_a_newer_keras_names_both_versions_and_the_upgrade(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(shipped_archives()[0].parent, run)
    config = entries(run / "generator.keras")["config.json"].decode()
    config = config.replace('"seed": null', '"seed": null, "axes_of_the_future": null', 1)
    rewrite(run / "generator.keras", **{"config.json": config.encode(),
                                        "metadata.json": b'{"keras_version": "99.1.0"}'})
    with pytest.raises(ClothganError) as err:
        load_generator(run)
    message = str(err.value)
    assert f"saved by Keras 99.1.0, this is Keras {keras.__version__}" in message
    assert 'pip install "keras>=99.1.0"' in message and "damaged" not in message


def test_an_unreadable_shipped_generator_says_reinstall_not_resume(tmp_path):
    inside = _unloadable(shipped_archives()[0], TypeError(), keras.__version__)
    assert "reinstall clothgan" in str(inside) and "--resume" not in str(inside)
    (tmp_path / "generator.keras").write_bytes(b"not a zip")
    mine = _unloadable(tmp_path / "generator.keras", TypeError(), keras.__version__)
    assert "damaged" in str(mine) and "--resume" in str(mine)
