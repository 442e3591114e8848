"""Exceptions whose messages are shown to users as they are: they name the file and the fix."""


class ClothganError(Exception):
    """Base class for user-facing errors."""


class DataError(ClothganError):
    """Unusable data source or input file."""
