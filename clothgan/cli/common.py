"""Argument types shared by the sub-commands: each bad value is one argparse error line."""
from __future__ import annotations

import argparse


def comma_list(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated option value ("a, b," -> ["a", "b"])."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


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
