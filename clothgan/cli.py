"""The `clothgan` command line: one sub-command per module, each imported only when used."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import ClothganError

# sub-command -> module that defines `configure_parser(parser)` and `run(args) -> int`.
COMMANDS = {
    "prepare": ("clothgan.commands.prepare", "prepare (or reuse) the preprocessed dataset cache"),
    "train": ("clothgan.commands.train", "train a conditional GAN into a run directory"),
    "generate": ("clothgan.commands.generate", "write a labelled synthetic image-folder dataset"),
    "evaluate": ("clothgan.commands.evaluate", "score synthetic images against real held-out images"),
    "compose": ("clothgan.commands.compose", "cut-and-paste synthetic scenes or garments"),
}


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clothgan", description=__doc__)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).configure_parser(p)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            p.set_defaults(_missing=True)
    return parser


def _version() -> str:
    from . import __version__
    return f"clothgan {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 1
    if getattr(args, "_missing", False):
        print(f"clothgan {args.command}: not available in this version", file=sys.stderr)
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (CommandError, ClothganError) as exc:
        print(f"clothgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clothgan {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
