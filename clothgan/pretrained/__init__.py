"""Generators trained by this project's own `clothgan train` and shipped inside the package.

Each one is a run directory (run.json + generator.keras, see clothgan.runs) plus
`provenance.json`: the exact command, data, commit, CPU time and `clothgan evaluate` metrics.
`clothgan generate --pretrained NAME` and notebook 07 use them, so results can be seen without
training first.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import ClothganError
from ..runs import GENERATOR_FILE, RUN_FILE

PROVENANCE_FILE = "provenance.json"

#: Shipped generators: name -> what it is.
PRETRAINED: dict[str, str] = {
    "reference": "reference preset (the reference design), 28x28 grayscale, all ten classes",
    "quality": "quality preset (the reference design's networks, EMA sampling), 28x28 grayscale, all ten classes",
    "quality-rgb64": "quality preset, 64x64 RGB (generator width 64), all ten classes",
}


#: Earlier names of shipped generators still accepted: name -> current name.
PRETRAINED_ALIASES = {"seed": "reference"}


def pretrained_dir(name: str) -> Path:
    """The run directory of a shipped generator (PRETRAINED or PRETRAINED_ALIASES)."""
    name = PRETRAINED_ALIASES.get(name, name)
    if name not in PRETRAINED:
        raise ClothganError(f"no pretrained generator {name!r}; choose one of "
                            f"{', '.join(PRETRAINED)}")
    path = Path(__file__).parent / name
    missing = [f for f in (RUN_FILE, GENERATOR_FILE) if not (path / f).is_file()]
    if missing:
        raise ClothganError(f"{path}: pretrained generator {name!r} is not in this installation "
                            f"(missing {', '.join(missing)}); reinstall clothgan, or train your "
                            f"own with `clothgan train --out DIR` and pass --run DIR")
    return path


def available() -> list[str]:
    """Names of the shipped generators present in this installation."""
    here = Path(__file__).parent
    return [n for n in PRETRAINED if (here / n / GENERATOR_FILE).is_file()]


def provenance(name: str) -> dict:
    """How a shipped generator was made: command, data, commit, CPU time, metrics."""
    path = pretrained_dir(name) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def describe(run_dir) -> str | None:
    """One line on a shipped generator's origin and measured quality; None for a user's own run."""
    path = Path(run_dir) / PROVENANCE_FILE
    if not path.is_file():
        return None
    p = json.loads(path.read_text())
    m, t = p.get("metrics") or {}, p.get("training") or {}
    line = (f"shipped generator {p.get('name')!r}: `{p.get('command')}` at commit "
            f"{str(p.get('commit'))[:10]}, {t.get('epochs_done')} epochs")
    if t.get("cpu_seconds"):
        line += f" in {t['cpu_seconds'] / 60:.0f} CPU-minutes"
    if m:
        line += (f"; FID {m['fid']:.1f} (real {m['fid_reference']:.2f}), class consistency "
                 f"{m['class_consistency']:.2f} (judge on real {m['real_accuracy']:.2f}), "
                 f"train-on-synthetic {m['cas_accuracy']:.2f} (on real "
                 f"{m['real_trained_accuracy']:.2f})")
        if m.get("class_mix") == "real":
            line += ", scored at the real class mix"
    if p.get("truncation", 1.0) != 1.0:
        line += f"; samples with noise scale {p['truncation']:g} (chosen on the validation split)"
    return line
