"""Exceptions whose messages are shown to users as they are: they name the file and the fix."""
from __future__ import annotations

import errno
import os


class ClothganError(Exception):
    """Base class for user-facing errors: the command line prints the message, exit code 2."""


class DataError(ClothganError):
    """Unusable data source or input file."""


class ConfigError(ClothganError, ValueError):
    """An invalid setting (also a ValueError, for callers that catch those)."""


_FIXES = {
    errno.ENOSPC: "the disk is full: free some space, or write to another disk",
    errno.EDQUOT: "the disk quota is used up: free some space, or write to another disk",
    errno.EFBIG: "a file grew past the size limit (ulimit -f): raise it, or write elsewhere",
    errno.EACCES: "no permission: change the folder's permissions, or choose another place",
    errno.EPERM: "not permitted: change the folder's permissions, or choose another place",
    errno.EROFS: "a read-only disk: choose a place on a writable disk",
    errno.ELOOP: "a symbolic link loop: fix or remove the link",
    errno.ENAMETOOLONG: "a name too long for the file system: choose a shorter path",
    errno.ENOENT: "it does not exist (or was removed meanwhile): check the path",
    errno.ENOTDIR: "a file stands where a folder is expected: check the path",
    errno.EISDIR: "a folder stands where a file is expected: check the path",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) or use fewer --workers",
    errno.EIO: "the disk reported an input/output error: check it, or use another disk",
}


def os_error_line(exc: OSError, where: str | os.PathLike | None = None) -> str:
    """One line for an OSError a command hit: the path (the error's own, else `where`), what
    happened and the fix."""
    path = exc.filename if exc.filename is not None else where
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    what = exc.strerror or str(exc) or type(exc).__name__
    fix = _FIXES.get(exc.errno, "check the path, the disk and its permissions")
    return f"{path if path is not None else 'a file'}: {what}; {fix}"
