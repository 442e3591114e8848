"""The named recipes: `quality` (the default) is the article's networks plus EMA sampling; run.json
files written before presets named their networks still load as what they were."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import checkpoint_arrays, make_tiny_folder  # noqa: E402

from clothgan.training.checkpoint import CHECKPOINT_FILE  # noqa: E402
from clothgan.cli import main  # noqa: E402
from clothgan.config import DEFAULT_PRESET, GAN_PRESETS, GANConfig, preset  # noqa: E402
from clothgan.gan import build_discriminator, build_generator  # noqa: E402
from clothgan.gan.saved import load_generator
from clothgan.runs import read_run_info  # noqa: E402


def test_quality_is_the_article_networks_with_ema_a_tuned_noise_scale_and_the_keeper():
    seed, seed_training = preset("seed")
    quality, quality_training = preset("quality")
    assert DEFAULT_PRESET == "quality" and GAN_PRESETS == ("reference", "quality", "small-data",
                                                          "projection")
    assert (quality.networks, quality.loss, quality.augment) == ("article", "bce", ())
    assert quality.ema_decay == 0.999 and seed.ema_decay == 0.0
    assert quality.tune_truncation and not seed.tune_truncation    # seed samples as the article
    assert quality.replace(preset="seed", ema_decay=0.0, tune_truncation=False) == seed
    assert quality_training == seed_training and quality_training.keep_best == "fid"
    g, d = build_generator(quality), build_discriminator(quality)
    assert g.get_layer("label_embedding") and d.get_layer("p_real")
    assert g.count_params() == build_generator(seed).count_params() == 1_169_336


def test_every_preset_is_one_registry_entry_that_the_help_and_the_docs_list(capsys):
    import re
    from pathlib import Path

    from clothgan.config import PRESET_ALIASES, PRESETS

    root = Path(__file__).resolve().parents[2]
    for name, recipe in PRESETS.items():
        model, training = preset(name)
        assert model == GANConfig(preset=name, **recipe.model) and model.preset == name
        assert training.keep_best == "fid" and "\n" not in recipe.summary
    for alias, name in PRESET_ALIASES.items():
        assert preset(alias) == preset(name) and GANConfig(preset=alias).preset == name
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = re.sub(r"(?<=-) ", "", " ".join(capsys.readouterr().out.split()))   # wrapped at "-"
    for name, recipe in PRESETS.items():
        assert f"{name}, {' '.join(recipe.summary.split())}" in help_text
    usage = f"[--preset {'|'.join(PRESETS)}]"
    readme = (root / "README.md").read_text()
    assert usage in readme and usage in (root / "docs" / "commands.md").read_text()
    table = readme.split("## Presets", 1)[1].split("\n\n", 2)[1]
    assert re.findall(r"^\| \**`([\w-]+)`", table, re.M) == list(PRESETS)


def test_run_json_from_before_networks_loads_as_what_it_was():
    old_quality = preset("projection")[0].to_dict()
    del old_quality["networks"]
    old_quality["preset"] = "quality"          # then the name of the hinge-loss projection recipe
    cfg = GANConfig.from_dict(old_quality)
    assert (cfg.preset, cfg.networks, cfg.loss) == ("projection", "projection", "hinge")
    old_seed = GANConfig().to_dict()
    del old_seed["networks"]
    assert GANConfig.from_dict(old_seed) == GANConfig()
    with pytest.raises(ValueError, match="networks must be one of"):
        GANConfig(networks="resnet")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("best")[0]


def test_settings_that_follow_the_data_are_never_silently_overwritten(tmp_path):
    from clothgan import train
    from clothgan.config import DataConfig, resolve_configs
    from clothgan.errors import ConfigError

    _, model, _ = resolve_configs(DataConfig(image_size=64, channels=3, classes=("hat", "pants")))
    assert (model.image_size, model.channels, model.num_classes) == (64, 3, 2)   # defaults follow
    _, model, _ = resolve_configs(DataConfig(image_size=64), GANConfig(image_size=64))
    assert model.image_size == 64                                                 # agreeing is fine
    with pytest.raises(ConfigError, match=r"GANConfig.image_size is 64 but the data's is 28"):
        resolve_configs(None, GANConfig(image_size=64))
    with pytest.raises(ConfigError, match=r"num_classes is 3 but the data's is 2.*classes"):
        resolve_configs(DataConfig(classes=("hat", "pants")), GANConfig(num_classes=3))
    with pytest.raises(ConfigError, match="image_size is 64"):   # before any photo is read
        train(tmp_path / "r", model=GANConfig(image_size=64), progress=False, verbose=False)
    assert not (tmp_path / "r").exists()


def test_default_cli_run_trains_like_seed_and_samples_from_the_average(tmp_path):
    """Same seed: `quality` and `seed` take identical training steps; only the sampled weights
    (the generator's moving average) differ."""
    data = make_tiny_folder(tmp_path / "tiny", 4)
    common = ["--dataset", str(data), "--batch-size", "16", "--epochs", "2", "--precision",
              "float32", "--seed", "3", "--keep-best", "none", "--no-progress"]
    assert main(["train", "--out", str(tmp_path / "q")] + common) == 0
    assert main(["train", "--out", str(tmp_path / "s"), "--preset", "seed"] + common) == 0
    q, s = checkpoint_arrays(tmp_path / "q" / CHECKPOINT_FILE), checkpoint_arrays(tmp_path / "s" / CHECKPOINT_FILE)
    raw = [k for k in s if k.startswith(("generator/", "discriminator/"))]
    assert raw and all(np.array_equal(q[k], s[k]) for k in raw)
    assert read_run_info(tmp_path / "q").preset == "quality"
    g, _ = load_generator(tmp_path / "q")
    ema = [q[f"ema/{i:04d}"] for i in range(len(g.get_weights()))]
    assert all(np.array_equal(w, e) for w, e in zip(g.get_weights(), ema))
    assert not all(np.array_equal(e, q[f"generator/{i:04d}"]) for i, e in enumerate(ema))


def test_cli_widths_reach_the_model(tmp_path):
    data = make_tiny_folder(tmp_path / "tiny", 2)
    assert main(["train", "--out", str(tmp_path / "w"), "--dataset", str(data), "--batch-size",
                 "16", "--epochs", "1", "--g-filters", "16", "--d-filters", "8",
                 "--keep-best", "none", "--no-progress"]) == 0
    model = read_run_info(tmp_path / "w").config["model"]
    assert (model["g_filters"], model["d_filters"]) == (16, 8)
    assert main(["train", "--out", str(tmp_path / "w"), "--resume", "--g-filters", "32"]) == 2


def test_cli_without_reaches_the_projection_networks(tmp_path, capsys):
    data = make_tiny_folder(tmp_path / "tiny", 2)
    common = ["--dataset", str(data), "--batch-size", "16", "--epochs", "1", "--g-filters", "16",
              "--d-filters", "8", "--keep-best", "none", "--no-progress"]
    assert main(["train", "--out", str(tmp_path / "p"), "--preset", "projection", "--without",
                 "spectral_norm,conditional_bn"] + common) == 0
    model = read_run_info(tmp_path / "p").config["model"]
    assert model["without"] == ["spectral_norm", "conditional_bn"]
    g, _ = load_generator(tmp_path / "p")
    assert "label_plane" in [layer.name for layer in g.layers]
    capsys.readouterr()
    # The article networks have no such parts: one clear line, not a traceback.
    assert main(["train", "--out", str(tmp_path / "q"), "--preset", "quality", "--without",
                 "spectral_norm"] + common) == 2
    assert "'article' networks have none" in capsys.readouterr().err
