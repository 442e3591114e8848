"""Typed configuration shared by every part of clothgan, plus the project's environment variables.

Every setting lives in a frozen dataclass passed explicitly. The field defaults of `GANConfig`
and `TrainConfig` are the reference design (what the course builds); `preset(name)` gives a named
recipe, and every entry point given no configuration (`clothgan.train(out)`, `clothgan train`)
trains `preset(DEFAULT_PRESET)`.
"""
from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import asdict, dataclass, field, fields, replace

from .errors import ConfigError

#: The package version (clothgan.__version__).
VERSION = "0.1.0"

#: The course's ten classes, in label-index order.
CLASSES: tuple[str, ...] = (
    "dress", "hat", "longsleeve", "outwear", "pants",
    "shirt", "shoes", "shorts", "skirt", "t-shirt",
)

#: Environment variables the project reads (documented in README.md).
ENV_HOME = "CLOTHGAN_HOME"          # cache root: datasets, prepared arrays, masks, classifiers
ENV_DATA_DIR = "CLOTHGAN_DATA_DIR"  # an existing copy of the dataset: skips the download
ENV_FAST = "CLOTHGAN_FAST"          # "1": notebooks and examples run tiny workloads (CI)


#: Seeds must fit every generator they feed (NumPy's legacy seeding takes 32 bits).
SEED_MAX = 2**32 - 1


def _must(name: str, what: str, value) -> ConfigError:
    return ConfigError(f"{name + ' ' if name else ''}must be {what}, got {value!r}")


def _bounds(low, high, low_open: bool, high_open: bool) -> str:
    low, high = (v if v is None or isinstance(v, int) else f"{v:g}" for v in (low, high))
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    return f"{'<' if high_open else '<='} {high}"


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int within [low, high]: refuses bools, floats (28.0 too) and text."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _must(name, "a whole number", value)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _must(name, _bounds(low, high, False, False), value)
    return value


def check_float(name: str, value, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a finite float within its bounds (open or closed): refuses NaN, inf, bools, text."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _must(name, "a number", value)
    value = float(value)
    if not math.isfinite(value):
        raise _must(name, "a finite number", value)
    if ((low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))):
        raise _must(name, _bounds(low, high, low_open, high_open), value)
    return value


def check_seed(name: str, value) -> int:
    """A random seed: a whole number in [0, SEED_MAX]."""
    return check_int(name, value, 0, SEED_MAX)


def check_bool(name: str, value) -> bool:
    """True or False (1, 0 and "yes" are refused: a switch is never a count)."""
    if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):   # NumPy's
        raise _must(name, "True or False", value)
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _must(name, f"one of {', '.join(map(str, choices))}", value)
    return value


def check_choice_int(name: str, value, choices) -> int:
    """A whole number from `choices` (channels: 1 or 3)."""
    value = check_int(name, value)
    if value not in choices:
        raise _must(name, " or ".join(map(str, choices)), value)
    return value


#: The largest noise scale: beyond it the noise lies far outside what any generator trained on
#: (N(0, 1)) and the images saturate to one or two grey levels.
TRUNCATION_MAX = 4.0


def check_truncation(value, name: str = "truncation") -> float:
    """A noise scale in (0, TRUNCATION_MAX] (1 = the noise the generator trained on)."""
    try:
        return check_float(name, value, 0, TRUNCATION_MAX, low_open=True)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (1 = unscaled noise, 0.5-0.8 = more typical images)") from None


def set_fields(config, **values) -> None:
    """Store checked (normalised) values on a frozen dataclass from its __post_init__."""
    for key, value in values.items():
        object.__setattr__(config, key, value)


def check_names(name: str, values, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A tuple of distinct, non-empty names (a single string is refused: "hat" is not a list)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise _must(name, "a list of names", values)
    names = tuple(values)
    bad = [v for v in names if not isinstance(v, str) or not v.strip()]
    if bad:
        raise _must(name, "non-empty names", bad[0])
    repeated = sorted({v for v in names if names.count(v) > 1})
    if repeated:
        raise ConfigError(f"{name + ': ' if name else ''}{', '.join(repeated)} given more than "
                          "once; name each one once")
    if not names and not allow_empty:
        raise _must(name, "at least one name", values)
    return names


class Config:
    """Dict round trip, replace() and a stable digest, shared by every config class."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """The config from `to_dict()` output or its JSON (lists back to tuples); keys this
        version does not know are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known})

    def replace(self, **changes):
        return replace(self, **changes)

    def digest(self) -> str:
        """Stable text of every setting, for cache keys."""
        return json.dumps(self.to_dict(), sort_keys=True)


def fast_mode() -> bool:
    """True when CLOTHGAN_FAST asks for tiny workloads (set by CI for the notebooks)."""
    return os.environ.get(ENV_FAST, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class DataConfig(Config):
    """Which images to load and how to turn them into training arrays."""

    dataset: str = "clothing-full"      # registry name, or a path to a folder / CSV
    image_size: int = 28
    channels: int = 1                   # 1 = grayscale, 3 = RGB
    classes: tuple[str, ...] = CLASSES
    include_kids: bool = True
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    resize: str = "pad"                 # "pad" keeps aspect ratio; "squash" is the classic 28x28 resize
    foreground: bool = False            # cut the garment out onto a plain background first

    def __post_init__(self) -> None:
        dataset = os.fspath(self.dataset) if isinstance(self.dataset, os.PathLike) else self.dataset
        if not isinstance(dataset, str) or not dataset.strip():
            raise ConfigError(f"dataset must be a registry name or a path, got {dataset!r}")
        set_fields(self, dataset=dataset, image_size=check_int("image_size", self.image_size, 8),
             channels=check_choice_int("channels", self.channels, (1, 3)),
             classes=check_names("classes", self.classes),
             include_kids=check_bool("include_kids", self.include_kids),
             val_fraction=check_float("val_fraction", self.val_fraction, 0, 1, high_open=True),
             test_fraction=check_float("test_fraction", self.test_fraction, 0, 1, high_open=True),
             split_seed=check_seed("split_seed", self.split_seed),
             resize=check_choice("resize", self.resize, ("pad", "squash")),
             foreground=check_bool("foreground", self.foreground))
        if not self.val_fraction + self.test_fraction < 1:
            raise ConfigError("val_fraction + test_fraction must be in [0, 1)")

    @property
    def num_classes(self) -> int:
        return len(self.classes)


#: Network families (clothgan.gan.networks): "article" is the reference design's pair (the
#: classic Keras conditional GAN article), layer by layer; "projection" is
#: clothgan.gan.projection's (spectral norm, projection head, CBN).
NETWORKS = ("article", "projection")

#: The preset `clothgan train` and notebook 06 use unless told otherwise (PRESETS, below).
DEFAULT_PRESET = "quality"

#: How `clothgan evaluate` weighs synthetic images per class: at the real splits' class mix, or as
#: the folder has them.
CLASS_MIXES = ("real", "as-is")

#: Parts of the projection networks that GANConfig.without can switch off one at a time (the
#: ablation in bench/ablation.py): spectral normalisation of D, D's projection head (replaced by
#: the reference design's label plane concatenated to the image), G's class-conditional batch norm
#: (replaced by plain batch norm, with the reference design's label plane stacked on the noise map).
PROJECTION_PARTS = ("spectral_norm", "projection_head", "conditional_bn")

#: DiffAugment transforms (clothgan.gan.augment.POLICIES, kept here so configs need no TensorFlow).
AUGMENT_POLICIES = ("color", "translation", "cutout")

@dataclass(frozen=True)
class Preset:
    """A named recipe: a one-line summary (what `clothgan train --help`, README.md and
    docs/commands.md say) and what it changes from GANConfig's and TrainConfig's defaults."""

    name: str
    summary: str
    model: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)


#: Every preset keeps its best-scoring generator: that changes only which weights are sampled
#: (the reference run's validation FID swings by 30% between scorings).
_KEEP_BEST = dict(keep_best="fid")

#: The named recipes, one entry each; `preset(name)` and `clothgan train --preset` read them.
PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("reference", "the reference design: the classic Keras CGAN tutorial's networks, "
           "layer by layer", {}, _KEEP_BEST),
    Preset("quality", "the same networks sampled from a moving average of the generator, with a "
           "noise scale chosen on validation photos (the recipe that won at 60 CPU-minutes)",
           dict(ema_decay=0.999, tune_truncation=True), _KEEP_BEST),
    # DiffAugment and LeCam keep D from memorising a few hundred photos.
    Preset("small-data", "quality plus DiffAugment (translation, cutout) and LeCam "
           "regularisation, for a few hundred photos",
           dict(ema_decay=0.999, tune_truncation=True, augment=("translation", "cutout"),
                lecam_weight=0.3), _KEEP_BEST),
    Preset("projection", "spectral-norm projection discriminator, class-conditional batch-norm "
           "generator, hinge loss, DiffAugment, EMA: ahead early, behind at 60 CPU-minutes",
           dict(networks="projection", loss="hinge", augment=AUGMENT_POLICIES, ema_decay=0.999,
                tune_truncation=True, g_filters=64, d_filters=64), _KEEP_BEST),
)}
#: Other names a preset is known by: run.json files and commands written before it was renamed.
PRESET_ALIASES = {"seed": "reference"}
GAN_PRESETS = tuple(PRESETS)


def preset_name(name: str) -> str:
    """The preset's own name for `name` (an alias or the name itself); unknown ones are an error."""
    name = PRESET_ALIASES.get(name, name)
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(GAN_PRESETS)}")
    return name


@dataclass(frozen=True)
class GANConfig(Config):
    """The conditional GAN's architecture (see clothgan.gan.networks)."""

    preset: str = "reference"     # the recipe's name (PRESETS); networks say what is built
    networks: str = "article"     # "article" | "projection" (NETWORKS)
    latent_dim: int = 100
    image_size: int = 28          # these three follow the data (FROM_DATA, GANConfig.for_data)
    channels: int = 1
    num_classes: int = 10
    embedding_dim: int = 50       # label embedding width in both networks
    d_filters: int = 128          # Conv2D filters in each discriminator block
    g_filters: int = 128          # filters of the generator's 7x7 seed and Conv2DTranspose blocks
    leaky_slope: float = 0.2
    d_dropout: float = 0.4
    loss: str = "bce"             # "bce" (D outputs a probability) | "hinge" (D outputs a logit)
    augment: tuple[str, ...] = ()  # DiffAugment policy applied to real and fake images before D
    ema_decay: float = 0.0        # > 0: sample from an exponential moving average of G's weights
    tune_truncation: bool = False  # when training ends, choose the noise scale to sample with on
                                   # the validation split (needs keep_best; clothgan.training.selection)
    without: tuple[str, ...] = ()  # PROJECTION_PARTS switched off (projection networks only)
    lecam_weight: float = 0.0     # > 0: LeCam regularisation of D (Tseng et al. 2021), this weight
    lecam_decay: float = 0.99     # decay of the moving averages of D's scores that LeCam uses

    def __post_init__(self) -> None:
        set_fields(self, augment=check_names("augment", self.augment, allow_empty=True),
             without=check_names("without", self.without, allow_empty=True),
             latent_dim=check_int("latent_dim", self.latent_dim, 1),
             image_size=check_int("image_size", self.image_size, 8),
             channels=check_choice_int("channels", self.channels, (1, 3)),
             num_classes=check_int("num_classes", self.num_classes, 2),
             embedding_dim=check_int("embedding_dim", self.embedding_dim, 1),
             d_filters=check_int("d_filters", self.d_filters, 1),
             g_filters=check_int("g_filters", self.g_filters, 1),
             leaky_slope=check_float("leaky_slope", self.leaky_slope, 0, 1),
             d_dropout=check_float("d_dropout", self.d_dropout, 0, 1, high_open=True),
             ema_decay=check_float("ema_decay", self.ema_decay, 0, 1, high_open=True),
             tune_truncation=check_bool("tune_truncation", self.tune_truncation),
             lecam_weight=check_float("lecam_weight", self.lecam_weight, 0),
             lecam_decay=check_float("lecam_decay", self.lecam_decay, 0, 1, high_open=True))
        object.__setattr__(self, "preset", preset_name(self.preset))
        if self.image_size % 4:
            raise ConfigError(f"image_size must be a multiple of 4 and >= 8 (two 2x upsamplings), "
                             f"got {self.image_size}")
        if self.loss not in ("bce", "hinge"):
            raise ConfigError(f"loss must be 'bce' or 'hinge', got {self.loss!r}")
        if self.networks not in NETWORKS:
            raise ConfigError(f"networks must be one of {', '.join(NETWORKS)}, got {self.networks!r}")
        if self.networks == "article" and self.loss != "bce":
            raise ConfigError("the reference design's discriminator outputs a probability: loss must be 'bce'")
        if self.networks == "projection" and self.loss != "hinge":
            raise ConfigError("the projection discriminator outputs a logit: loss must be 'hinge' "
                             "(preset('projection') sets it)")
        unknown = set(self.augment) - set(AUGMENT_POLICIES)
        if unknown:
            raise ConfigError(f"unknown augment policy {sorted(unknown)}; choose from "
                             f"{', '.join(AUGMENT_POLICIES)}")
        unknown = set(self.without) - set(PROJECTION_PARTS)
        if unknown:
            raise ConfigError(f"unknown part {sorted(unknown)} in without; choose from "
                             f"{', '.join(PROJECTION_PARTS)}")
        if self.without and self.networks != "projection":
            raise ConfigError(f"without={self.without} switches off parts of the projection "
                             f"networks; the {self.networks!r} networks have none of them")

    def for_data(self, data: DataConfig) -> "GANConfig":
        """This model at `data`'s image size, channels and class count (FROM_DATA). A field left
        at its default follows the data; one set to another value must agree with it."""
        follows = {"image_size": data.image_size, "channels": data.channels,
                   "num_classes": data.num_classes}
        for name, value in follows.items():
            mine = getattr(self, name)
            if mine != value and mine != _GAN_DEFAULTS[name]:
                raise ConfigError(f"GANConfig.{name} is {mine} but the data's is {value}: the "
                                  f"networks are built for the data; set DataConfig("
                                  f"{FROM_DATA[name]}=...) and leave GANConfig.{name} out")
        return self.replace(**follows)

    @classmethod
    def from_dict(cls, d: dict) -> "GANConfig":
        d = dict(d)
        if d.get("aux_weight", 0.0):
            raise ConfigError(f"aux_weight {d['aux_weight']}: the auxiliary classifier was removed "
                              f"from clothgan; train this run with the version that wrote it")
        d.pop("aux_weight", None)     # written as 0 by earlier versions: nothing to do
        if "networks" not in d:
            # Written before presets named their networks: "quality" then meant the hinge-loss
            # projection networks, which the preset is called now.
            d["networks"] = "projection" if d.get("loss") == "hinge" else "article"
            if d["networks"] == "projection":
                d["preset"] = "projection"
        return super().from_dict(d)


#: GANConfig fields that follow from the data, and the DataConfig field each comes from: run.json
#: records them once, under the data.
FROM_DATA = {"image_size": "image_size", "channels": "channels", "num_classes": "classes"}
_GAN_DEFAULTS = {f.name: f.default for f in fields(GANConfig)}


#: Numeric precision of every command (clothgan.core.hardware.resolve_precision): 16-bit compute
#: where the hardware is built for it, mixed (16-bit on any hardware that has it), float32.
PRECISIONS = ("auto", "mixed", "float32")
#: Training schedules (clothgan.gan.ConditionalGAN) and earlier names still accepted.
SCHEDULES = ("fused", "reference")
SCHEDULE_ALIASES = {"article": "reference"}
#: tf.distribute strategies (clothgan.training.strategy.resolve_strategy).
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")

#: What a run may keep besides its last generator (clothgan.training.selection).
KEEP_BEST = ("none", "fid", "consistency", "usefulness")


@dataclass(frozen=True)
class TrainConfig(Config):
    """How the GAN is trained (see clothgan.training).

    Per step the discriminator sees `batch_size // 2` real images and generated ones, and the
    generator is updated on `fake_per_real * batch_size // 2` generated images.
    schedule "reference": the reference design's loop exactly (D on the real half, D on a fresh
    fake half, then G on a fresh full batch: three updates, three generator forwards per step);
    "article", its earlier name, is still accepted.
    schedule "fused": the same three updates, all on one generator forward per step.
    """

    epochs: int = 180             # about 25 CPU-minutes on a 2-core AVX-512 BF16 CPU
    batch_size: int = 64
    fake_per_real: int = 1        # the reference design's G batch is the full batch: 2 per real image
    schedule: str = "fused"       # "fused" | "reference" (SCHEDULES)
    lr: float = 2e-4              # Adam learning rate of G (and of D unless d_lr is set)
    beta_1: float = 0.5
    beta_2: float = 0.999
    d_lr: float | None = None     # the discriminator's own rate (two time-scale update rule)
    mirror: bool = False          # real images flipped left-right at random (x-flip augmentation)
    repeat: int = 1               # passes over the photos per epoch (small datasets: fewer, longer
                                  # epochs, so checkpoints, grids and scoring cost less)
    seed: int = 0
    precision: str = "auto"       # "auto" (mixed where the hardware has fast 16-bit) | "mixed" | "float32"
    strategy: str = "auto"        # "auto" | "default" | "mirrored" | "multiworker" | "tpu"
    jit_compile: bool = False     # XLA; measured slower than oneDNN on CPU (bench/train.py)
    steps_per_execution: int = 1
    sample_every: int = 1         # epochs between sample grids
    keep_best: str = "none"       # "fid" | "consistency": keep the generator scoring best on the
                                  # real validation split (clothgan.training.selection) | "none"
    eval_every: int = 5           # epochs between those scorings

    def __post_init__(self) -> None:
        set_fields(self, epochs=check_int("epochs", self.epochs, 1),
             batch_size=check_int("batch_size", self.batch_size, 2),
             fake_per_real=check_int("fake_per_real", self.fake_per_real, 1),
             lr=check_float("lr", self.lr, 0, low_open=True),
             beta_1=check_float("beta_1", self.beta_1, 0, 1, high_open=True),
             beta_2=check_float("beta_2", self.beta_2, 0, 1, high_open=True),
             d_lr=None if self.d_lr is None else check_float("d_lr", self.d_lr, 0, low_open=True),
             mirror=check_bool("mirror", self.mirror),
             repeat=check_int("repeat", self.repeat, 1),
             seed=check_seed("seed", self.seed),
             jit_compile=check_bool("jit_compile", self.jit_compile),
             steps_per_execution=check_int("steps_per_execution", self.steps_per_execution, 1),
             sample_every=check_int("sample_every", self.sample_every, 1),
             eval_every=check_int("eval_every", self.eval_every, 1))
        if self.batch_size % 2:
            raise ConfigError(f"batch_size must be even and >= 2 (half real, half generated), "
                             f"got {self.batch_size}")
        object.__setattr__(self, "schedule", SCHEDULE_ALIASES.get(self.schedule, self.schedule))
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule must be 'fused' or 'reference', got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got "
                              f"{self.precision!r}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}")
        if self.keep_best not in KEEP_BEST:
            raise ConfigError(f"keep_best must be one of {', '.join(KEEP_BEST)}, got {self.keep_best!r}")

    @property
    def discriminator_lr(self) -> float:
        return self.lr if self.d_lr is None else self.d_lr

    @property
    def real_per_step(self) -> int:
        return self.batch_size // 2

    @property
    def fake_per_step(self) -> int:
        return self.fake_per_real * self.real_per_step

    @classmethod
    def reference(cls, **changes) -> "TrainConfig":
        """The reference design's training: batch 64 (32 real + 32 generated for D, 64 for G),
        three updates, float32."""
        base = dict(batch_size=64, fake_per_real=2, schedule="reference", precision="float32",
                    epochs=100)
        base.update(changes)
        return cls(**base)


def preset(name: str = DEFAULT_PRESET) -> tuple[GANConfig, TrainConfig]:
    """(model, training) configs of a named recipe (PRESETS, or an alias); change them with
    .replace()."""
    recipe = PRESETS[preset_name(name)]
    return GANConfig(preset=recipe.name, **recipe.model), TrainConfig(**recipe.training)


def resolve_configs(data: DataConfig | None = None, model: GANConfig | None = None,
                    training: TrainConfig | None = None, epochs: int | None = None
                    ) -> tuple[DataConfig, GANConfig, TrainConfig]:
    """What a run trains: the given configs, the default preset's where None (as the command
    line), with the model's image size, channels and classes taken from the data (a model that
    sets one of them to something else is an error naming both)."""
    default_model, default_training = preset(DEFAULT_PRESET)
    data = data or DataConfig()
    training = training or default_training
    if epochs is not None:
        training = training.replace(epochs=epochs)
    return data, (model or default_model).for_data(data), training
