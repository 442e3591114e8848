"""Argument types shared by the sub-commands: each bad value is one argparse error line, checked
by the same validators as the config objects (clothgan.config.check_*)."""
from __future__ import annotations

import argparse

from ..config import check_float, check_int, check_names, check_seed, check_truncation
from ..errors import ConfigError


def comma_list(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated option value ("a, b," -> ["a", "b"])."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _checked(parse, text: str, check):
    """parse(text), then check(value); any failure is argparse's one-line error."""
    try:
        return check(parse(text))
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise argparse.ArgumentTypeError(str(exc)) from None
        kind = "a whole number" if parse is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _checked(int, text, lambda v: check_int("", v, 1))


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _checked(int, text, lambda v: check_int("", v, 0))


def seed(text: str) -> int:
    """A random seed (clothgan.config.check_seed)."""
    return _checked(int, text, lambda v: check_seed("", v))


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _checked(float, text, lambda v: check_float("", v, 0, low_open=True))


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    return _checked(float, text, lambda v: check_float("", v, 0, 1, low_open=True))


def truncation(text: str) -> float:
    """A noise scale (clothgan.config.check_truncation)."""
    return _checked(float, text, lambda v: check_truncation(v, ""))


def names(text: str) -> list[str]:
    """Comma-separated distinct names, at least one ("hat,hat" is refused)."""
    try:
        return list(check_names("", comma_list(text)))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def precision(text: str) -> str:
    """A precision name (auto, mixed, float32; old spellings accepted with a note)."""
    from ..core.hardware import check_precision
    from ..errors import ClothganError

    try:
        return check_precision(text)
    except ClothganError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_precision(parser: argparse.ArgumentParser, default: str | None, help_text: str) -> None:
    """The --precision option, one vocabulary for every command."""
    from ..config import PRECISIONS

    parser.add_argument("--precision", type=precision, default=default, metavar="|".join(PRECISIONS),
                        help=help_text)
