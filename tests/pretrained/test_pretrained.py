"""Generators shipped in clothgan/pretrained: present, small, documented, and usable from the CLI."""
from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import make_tiny_folder  # noqa: E402

from clothgan.cli import main  # noqa: E402
from clothgan.config import DataConfig, DEFAULT_PRESET, TrainConfig  # noqa: E402
from clothgan.errors import ClothganError  # noqa: E402
from clothgan.course.notebook import results_run
from clothgan.labelled import read_manifest  # noqa: E402
from clothgan.data.folder import read_image_folder  # noqa: E402
from clothgan.pretrained import available, describe, PRETRAINED, pretrained_dir, provenance, PROVENANCE_FILE
from clothgan.pretrained.package import MAX_BYTES, package  # noqa: E402
from clothgan.pretrained.portable import NEWER_KEYS  # noqa: E402
from clothgan.gan.saved import load_generator
from clothgan.runs import read_run_info  # noqa: E402
from clothgan.training.train import train  # noqa: E402

SHAPES = {"reference": (28, 1), "quality": (28, 1), "quality-rgb64": (64, 3)}


def test_every_configuration_ships_a_generator():
    assert sorted(available()) == sorted(PRETRAINED)


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_shipped_generator_is_small_documented_and_draws_its_shape(name):
    path = pretrained_dir(name)
    assert (path / "generator.keras").stat().st_size <= MAX_BYTES
    prov = provenance(name)
    assert prov["command"].startswith("clothgan train ")
    assert re.fullmatch(r"[0-9a-f]{40}", prov["commit"])
    assert prov["data"]["url"].startswith("https://") and prov["data"]["train_images"] > 1000
    assert prov["training"]["cpu_seconds"] <= 60 * 60
    m = prov["metrics"]
    assert 0 < m["class_consistency"] <= 1 and 0 < m["cas_accuracy"] <= 1 and m["fid"] > 0
    g, info = load_generator(path)
    size, channels = SHAPES[name]
    assert (info.image_size, info.channels, info.preset) == (size, channels, name.split("-")[0])
    model = info.model_config()   # run.json written before it recorded each fact once
    assert (model.image_size, model.channels, model.num_classes) == (size, channels, 10)
    x = np.asarray(g([np.random.default_rng(0).standard_normal((4, 100)).astype("float32"),
                      np.arange(4, dtype="int32")], training=False))
    assert x.shape == (4, size, size, channels) and -1.0 <= x.min() < x.max() <= 1.0


def test_describe_names_the_command_and_how_it_was_scored(tmp_path):
    line = describe(pretrained_dir("quality"))
    m = provenance("quality")["metrics"]
    assert provenance("quality")["command"] in line and f"FID {m['fid']:.1f}" in line
    assert ("scored at the real class mix" in line) == (m.get("class_mix") == "real")
    scale = provenance("quality").get("truncation", 1.0)
    assert (f"noise scale {scale:g}" in line) == (scale != 1.0)
    assert describe(tmp_path) is None                     # a user's own run has no provenance


def test_generate_pretrained_writes_a_dataset(tmp_path):
    out = tmp_path / "syn"
    assert main(["generate", "--pretrained", "quality", "--per-class", "3", "--out", str(out)]) == 0
    rows = read_manifest(out)
    assert len(rows) == 30 and {r["class"] for r in rows} == set(read_image_folder(out).class_names)
    written = json.loads((out / "dataset.json").read_text())
    assert written["run"] == str(pretrained_dir("quality"))
    # It samples at the scale its provenance was scored at.
    assert written["truncation"] == provenance("quality")["truncation"] == read_run_info(
        pretrained_dir("quality")).truncation


def test_notebooks_show_the_shipped_generator_until_a_run_has_trained_enough(monkeypatch, tmp_path,
                                                                          capsys):
    from dataclasses import replace

    from clothgan.course.notebook import WORTH_SHOWING, notebook_run_dir
    from clothgan.runs import write_run_info
    from helpers import make_tiny_run

    monkeypatch.delenv("CLOTHGAN_RUN", raising=False)
    assert results_run() == pretrained_dir(DEFAULT_PRESET)
    assert "notebook 06 has not trained a run yet" in capsys.readouterr().out
    own = make_tiny_run(notebook_run_dir())
    write_run_info(own, replace(read_run_info(own), epochs_done=2))      # fast mode's toy run
    assert results_run() == pretrained_dir(DEFAULT_PRESET)
    assert f"has 2 epoch(s), fewer than {WORTH_SHOWING}" in capsys.readouterr().out
    write_run_info(own, replace(read_run_info(own), epochs_done=WORTH_SHOWING))
    assert results_run() == own
    chosen = make_tiny_run(tmp_path / "mine")
    monkeypatch.setenv("CLOTHGAN_RUN", str(chosen))
    assert results_run() == chosen and "the run you chose" in capsys.readouterr().out


def test_unknown_or_missing_pretrained_is_a_clear_error(tmp_path, monkeypatch, capsys):
    with pytest.raises(ClothganError, match="choose one of"):
        pretrained_dir("best-ever")
    assert main(["generate", "--pretrained", "best-ever", "--per-class", "1",
                 "--out", str(tmp_path)]) == 2
    assert "invalid choice" in capsys.readouterr().err
    import clothgan.pretrained as pt

    monkeypatch.setattr(pt, "__file__", str(tmp_path / "__init__.py"))
    with pytest.raises(ClothganError, match="not in this installation"):
        pt.pretrained_dir("quality")


def test_package_copies_the_kept_generator_with_provenance(tmp_path):
    data = DataConfig(dataset=str(make_tiny_folder(tmp_path / "tiny", 6)))
    run = tmp_path / "run"
    train(run, data, training=TrainConfig(batch_size=16, epochs=1, precision="float32"),
          progress=False, verbose=False)
    dest = package(run, "quality", "clothgan train --out run --epochs 1", {"fid": 3.0, "junk": 1},
                   dest_root=tmp_path / "shipped")
    assert sorted(p.name for p in dest.iterdir()) == ["generator.keras", PROVENANCE_FILE, "run.json"]
    config = zipfile.ZipFile(dest / "generator.keras").read("config.json").decode()
    assert not any(f'"{key}"' in config for key in NEWER_KEYS)     # older Keras versions load it
    prov = json.loads((dest / PROVENANCE_FILE).read_text())
    assert prov["metrics"] == {"fid": 3.0} and prov["training"]["epochs_done"] == 1
    assert prov["training"]["cpu_seconds"] > 0 and prov["kept"] is None
    # The commit is the one the run recorded when it started, not whatever is checked out now.
    assert prov["commit"] == read_run_info(run).config["code"]["commit"]
    assert prov["truncation"] == 1.0

    # A run whose noise scale was tuned ships it: in run.json, truncation.json and provenance.
    from dataclasses import replace

    from clothgan.pretrained import describe
    from clothgan.runs import TRUNCATION_FILE, write_run_info

    write_run_info(run, replace(read_run_info(run), truncation=0.6))
    (run / TRUNCATION_FILE).write_text(json.dumps({"truncation": 0.6}))
    dest = package(run, "quality", "clothgan train --out run --epochs 1", dest_root=tmp_path / "again")
    assert (dest / TRUNCATION_FILE).is_file() and read_run_info(dest).truncation == 0.6
    assert json.loads((dest / PROVENANCE_FILE).read_text())["truncation"] == 0.6
    assert "noise scale 0.6" in describe(dest)
