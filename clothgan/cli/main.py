"""The `clothgan` command line: one sub-command per module, each with configure_parser(parser)
and run(args) -> exit code. The modules import their heavy dependencies inside run()."""
from __future__ import annotations

import argparse
import sys
import warnings

from ..config import VERSION
from ..core.quiet_tf import import_tensorflow
from ..core.files import set_command_line
from ..errors import ClothganError, os_error_line
from . import compose, evaluate, fit, generate, prepare, study, train

COMMANDS = {
    "prepare": (prepare, "prepare (or reuse) the preprocessed dataset cache"),
    "train": (train, "train a conditional GAN into a run directory"),
    "generate": (generate, "write a labelled synthetic image-folder dataset"),
    "evaluate": (evaluate, "score synthetic images against real held-out images"),
    "compose": (compose, "cut-and-paste synthetic scenes or garments"),
    "study": (study, "measure what synthetic images do to a classifier trained on few photos"),
    "fit": (fit, "train a classifier on the photos plus synthetic images by a measured recipe"),
}


class UsageError(ClothganError):
    """A bad option or value: one line, exit code 2 (argparse would print the usage too)."""

    def __init__(self, prog: str, message: str):
        super().__init__(f"{message} (see {prog} --help)")
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="clothgan", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"clothgan {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_run=module.run, _quiet_tf=getattr(module, "NEEDS_TENSORFLOW", False))
        module.configure_parser(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help()
        return 1
    set_command_line(["clothgan", *(sys.argv[1:] if argv is None else argv)])   # for lock holders
    def one_line(message, category, filename, lineno, file=None, line=None):
        print(f"clothgan {args.command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = one_line   # not Python's two lines with a source excerpt
        try:
            if args._quiet_tf:
                import_tensorflow()
            return int(args._run(args) or 0)
        except ClothganError as exc:
            print(f"clothgan {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:   # disk full, permissions, links, names: where and what to do
            print(f"clothgan {args.command}: error: {os_error_line(exc, getattr(args, 'out', None))}",
                  file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"clothgan {args.command}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
