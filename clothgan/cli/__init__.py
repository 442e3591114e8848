"""The `clothgan` command line: one module per sub-command (configure_parser, run)."""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
