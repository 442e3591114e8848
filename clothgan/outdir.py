"""Output folders that appear only when complete: built under a hidden name beside the target,
then renamed into place, so an interrupted or failed run never leaves a partial dataset."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from .errors import ClothganError


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace a file, or a non-empty folder unless overwrite is set."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ClothganError(f"{out_dir}: exists and is a file; choose another --out folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ClothganError(f"{out_dir}: exists and is not empty; pass --overwrite (or "
                            "overwrite=True) to replace it, or choose another --out folder")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def staging_dir(out_dir: Path) -> Path:
    """A new, empty hidden folder beside out_dir; first drops those of killed runs (SIGKILL)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for p in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        try:
            pid = int(p.name.rsplit("-", 2)[-2])
        except (ValueError, IndexError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
    tmp = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    return tmp


def commit_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished folder into place; an old one is moved aside first, then removed."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
