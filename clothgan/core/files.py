"""Files and folders that appear only when complete.

A file is written to a temporary name and renamed over its target (`atomic_write`); an output
folder is built under a hidden name beside its target and renamed into place when finished
(`staged_dir`), so an interrupted or failed run never leaves a partial result that looks done.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import ClothganError

_PARTIAL = ".partial-"   # .<name>.partial-<pid>-<hex>: a folder being built
_OLD = ".old-"           # .<name>.old-<pid>-<hex>: a replaced folder being removed


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call write(tmp_path), fsync it, then rename it over `path` (the temporary name keeps the
    suffix, for writers that pick the format by it, and carries the pid, for concurrent writers)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj, indent: int | None = None) -> Path:
    """JSON text of `obj` (compact unless `indent`), written atomically."""
    text = json.dumps(obj, indent=indent, separators=(",", ":") if indent is None else None)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def read_json(path: str | os.PathLike, what: str = "file", fix: str = "") -> dict:
    """A JSON object from `path`; a missing, unreadable or broken file is one ClothganError
    naming it (and `fix`, when given)."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClothganError(f"{path}: {what} missing" + (f"; {fix}" if fix else "")) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClothganError(f"{path}: broken {what} ({exc})" + (f"; {fix}" if fix else "")) from None
    if not isinstance(value, dict):
        raise ClothganError(f"{path}: broken {what} (not a JSON object)" + (f"; {fix}" if fix else ""))
    return value


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(name: str, marker: str) -> bool:
    """Whether the process whose pid is in a staging folder's name still runs (legacy names
    without a pid count as stale)."""
    try:
        pid = int(name.split(marker, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    return pid > 0 and process_alive(pid)


def sweep_stale(parent: Path) -> list[Path]:
    """Remove the hidden staging and replaced folders in `parent` whose process has gone
    (killed runs of any output there); returns what was removed."""
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for p in entries:
        for marker in (_PARTIAL, _OLD):
            if p.name.startswith(".") and marker in p.name and p.is_dir():
                if not _owner_alive(p.name, marker):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
    return removed


def _related(a: Path, b: Path) -> str | None:
    """How folder a relates to path b: "is", "contains" or "lies inside" (None: unrelated)."""
    if a == b:
        return "is"
    if a in b.parents:
        return "contains"
    if b in a.parents:
        return "lies inside"
    return None


def check_out_dir(out_dir: str | os.PathLike, overwrite: bool = False,
                  inputs: Iterable[str | os.PathLike | None] = (),
                  is_output: Callable[[Path], bool] | None = None) -> Path:
    """The absolute output folder, after refusing what would lose data.

    Refused: a file; a place that cannot be written; a non-empty folder without `overwrite`; a
    folder that is, contains or lies inside one of `inputs` (checked whatever `overwrite` says,
    since replacing it would delete an input); with `overwrite`, a non-empty folder that
    `is_output` does not recognise as an output of the same command.
    """
    out = Path(out_dir).expanduser().absolute()
    real = Path(os.path.realpath(out))
    for given in inputs:
        if given is None:
            continue
        inp = Path(os.path.realpath(Path(given).expanduser()))
        how = _related(real, inp)
        if how and (how != "lies inside" or out.exists()):
            raise ClothganError(f"{out}: the output folder {how} the input {inp}; writing there "
                                "would delete or mix into what this command reads. Choose "
                                "another --out folder")
    if out.exists() and not out.is_dir():
        raise ClothganError(f"{out}: exists and is a file; choose another --out folder")
    writable_parent(out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ClothganError(f"{out}: exists and is not empty; pass --overwrite (or "
                                "overwrite=True) to replace it, or choose another --out folder")
        if is_output is not None and not is_output(out):
            raise ClothganError(f"{out}: exists and was not written by this command (no "
                                "dataset.json of its kind); --overwrite replaces only such "
                                "folders: empty or remove it yourself, or choose another --out")
    return out


def writable_parent(path: Path, what: str = "--out") -> None:
    """Create path's parent folder and try a file in it, or one ClothganError saying why it
    cannot be written."""
    parent = Path(path).parent
    probe = parent / f".{Path(path).name}.probe-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ClothganError(f"{path}: cannot write there ({exc.strerror or exc}); choose another "
                            f"{what} on a writable disk") from None


def writable_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """The folder `path`, created, after checking a file can be written in it; one
    ClothganError naming it and the reason otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ClothganError(f"{path}: exists and is a file; choose another {what} folder")
    writable_parent(path / "probe", what)
    return path


@contextmanager
def staged_dir(out_dir: str | os.PathLike) -> Iterator[Path]:
    """A new empty hidden folder beside out_dir, renamed to out_dir when the block succeeds
    (an existing out_dir is moved aside first, then removed) and deleted when it fails.

    Check the target first with `check_out_dir`. Stale staging folders of killed runs in the
    same parent are swept on the way in.
    """
    out = Path(out_dir)
    writable_parent(out)
    sweep_stale(out.parent)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = out.with_name(f".{out.name}{_PARTIAL}{tag}")
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}{_OLD}{tag}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
