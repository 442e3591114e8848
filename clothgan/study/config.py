"""What an augmentation study measures and how: one frozen config, the command line's defaults."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..config import (GAN_PRESETS, PRESET_ALIASES, Config, set_fields, check_choice, check_float,
                      check_int, check_names)
from ..errors import ConfigError
from ..cutpaste.framed import FrameConfig
from .classifier import StudyClassifierConfig
from .recipes import split_method

#: Ways of adding images to the real photos; "none" is the real-only baseline. gan, cutpaste and
#: both take recipe parts after "+" (clothgan.study.recipes): "cutpaste+soft+w0.5". gan-useful:
#: a generator chosen for usefulness, not looks (clothgan.study.run.Study._generator).
METHODS = ("none", "gan", "gan-useful", "cutpaste", "both")
#: Controls: unseen real photos (the ceiling) and noise images (must not score as a gain).
CONTROLS = ("oracle", "noise")
#: How the synthetic images are shared out over the classes.
BALANCES = ("uniform", "rare")
#: How generated images are chosen from the candidates (clothgan.study.sources).
FILTERS = ("none", "judge", "gold")
#: How cut-and-paste images are made (clothgan.cutpaste).
CUTPASTE_STYLES = ("framed", "procedural")

#: Most synthetic images per real photo: beyond it the real photos are a rounding error, and the
#: images alone would not fit in memory at fraction 1.
MAX_RATIO = 100.0
#: Fractions are kept to this many decimal places: cells are named by them, so two fractions
#: that round alike would share (and overwrite) one cell.
FRACTION_DIGITS = 4

#: Settings that only say which cells to run: a study folder may grow along them.
CELL_AXES = ("fractions", "methods", "seeds")


@dataclass(frozen=True)
class StudyConfig(Config):
    """One augmentation study: every fraction x method x seed is a cell, one classifier each.

    ratio: synthetic images per real photo of the fraction. balance "rare": they go to the
    classes with fewer photos first, so that real + synthetic counts are as even as the total
    allows; "uniform": the same number per class. synthetic_weight: their loss weight (real
    photos weigh 1). gan_minutes: CPU-minutes to train each generator (one per fraction and
    seed, on that fraction's photos only); gan_preset: its recipe, "auto" for the one that
    suits the number of photos (clothgan.study.run.gan_recipe); full_generator "pretrained":
    at fraction 1 sample the generator shipped for the default preset (trained by this project
    on the whole training split, 60 CPU-minutes) instead of training one per seed ("train").
    gan_filter "judge": keep a generated image only if
    the real-only classifier of its cell gives its class at least the `filter_quantile`
    quantile of what that class's validation photos get; "gold": the run's discriminator's
    most real-looking; "none": the first drawn. gan_candidates: candidates drawn per image kept.
    """

    fractions: tuple[float, ...] = (0.1, 0.25, 1.0)
    methods: tuple[str, ...] = ("none", "gan", "cutpaste", "both") + CONTROLS
    seeds: int = 3
    ratio: float = 1.0
    balance: str = "rare"
    synthetic_weight: float = 1.0
    gan_minutes: float = 10.0
    gan_preset: str = "auto"
    full_generator: str = "pretrained"
    gan_filter: str = "judge"
    filter_quantile: float = 0.25
    gan_candidates: int = 4
    cutpaste: str = "framed"
    frame: FrameConfig = field(default_factory=FrameConfig)
    classifier: StudyClassifierConfig = field(default_factory=StudyClassifierConfig)

    def __post_init__(self) -> None:
        if isinstance(self.fractions, (str, bytes)) or not isinstance(self.fractions, (list, tuple)):
            raise ConfigError(f"fractions must be a list of numbers, got {self.fractions!r}")
        fractions = tuple(round(check_float("fractions", f, 0, 1, low_open=True), FRACTION_DIGITS)
                          for f in self.fractions)
        if not fractions or 0 in fractions:
            raise ConfigError(f"fractions must be in (0, 1] with at most {FRACTION_DIGITS} decimal "
                              f"places, got {self.fractions}")
        check_names(f"fractions (kept to {FRACTION_DIGITS} decimal places)",
                    [f"{f:g}" for f in fractions])
        methods = check_names("methods", self.methods)
        for m in methods:   # a source may carry recipe parts: cutpaste+soft+w0.5
            check_choice("methods", split_method(m)[0], METHODS + CONTROLS)
        set_fields(self, fractions=fractions, methods=methods, seeds=check_int("seeds", self.seeds, 1),
             ratio=check_float("ratio", self.ratio, 0, MAX_RATIO, low_open=True),
             synthetic_weight=check_float("synthetic_weight", self.synthetic_weight, 0, low_open=True),
             gan_minutes=check_float("gan_minutes", self.gan_minutes, 0, low_open=True),
             filter_quantile=check_float("filter_quantile", self.filter_quantile, 0, 1, high_open=True),
             gan_candidates=check_int("gan_candidates", self.gan_candidates, 1))
        if isinstance(self.classifier, dict):
            object.__setattr__(self, "classifier", StudyClassifierConfig.from_dict(self.classifier))
        if isinstance(self.frame, dict):
            object.__setattr__(self, "frame", FrameConfig.from_dict(self.frame))
        if not isinstance(self.frame, FrameConfig) or not isinstance(self.classifier,
                                                                     StudyClassifierConfig):
            raise ConfigError("frame and classifier must be a FrameConfig and a StudyClassifierConfig")
        checks = [(self.balance in BALANCES, f"balance must be one of {', '.join(BALANCES)}"),
                  (self.gan_preset in ("auto", *GAN_PRESETS, *PRESET_ALIASES),
                   f"gan_preset must be auto or one of {', '.join(GAN_PRESETS)}"),
                  (self.gan_filter in FILTERS, f"gan_filter must be one of {', '.join(FILTERS)}"),
                  (self.full_generator in ("pretrained", "train"),
                   "full_generator must be 'pretrained' or 'train'"),
                  (self.cutpaste in CUTPASTE_STYLES,
                   f"cutpaste must be one of {', '.join(CUTPASTE_STYLES)}")]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def settings(self) -> dict:
        """Everything but the cell axes: what every cell of one study folder shares."""
        return {k: v for k, v in self.to_dict().items() if k not in CELL_AXES}

    @classmethod
    def from_dict(cls, d: dict) -> "StudyConfig":
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if isinstance(d.get("classifier"), dict):
            d["classifier"] = StudyClassifierConfig.from_dict(d["classifier"])
        if isinstance(d.get("frame"), dict):
            d["frame"] = FrameConfig.from_dict(d["frame"])
        return super().from_dict(d)
