"""CLI sub-commands: each module has configure_parser(parser) and run(args) -> int."""
