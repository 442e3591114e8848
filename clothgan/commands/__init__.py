"""CLI sub-commands: each module has configure_parser(parser) and run(args) -> int."""


def comma_list(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated option value ("a, b," -> ["a", "b"])."""
    return [item.strip() for item in text.split(",") if item.strip()]
