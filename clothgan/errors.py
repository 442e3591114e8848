"""Exceptions whose messages are shown to users as they are: they name the file and the fix."""


class ClothganError(Exception):
    """Base class for user-facing errors: the command line prints the message, exit code 2."""


class DataError(ClothganError):
    """Unusable data source or input file."""


class ConfigError(ClothganError, ValueError):
    """An invalid setting (also a ValueError, for callers that catch those)."""
