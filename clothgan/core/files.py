"""Files and folders that appear only when complete.

A file is written to a temporary name and renamed over its target (`atomic_write`); an output
folder is built under a hidden name beside its target and renamed into place when finished
(`staged_dir`), so an interrupted or failed run never leaves a partial result that looks done.
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import stat
import sys
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import ClothganError

_PARTIAL = ".partial-"   # .<name>.partial-<pid>-<hex>: a folder being built
_OLD = ".old-"           # .<name>.old-<pid>-<hex>: a replaced folder being removed
_MARKER = ".clothgan-staging"   # inside both: {"pid", "out"} of the process that made them


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
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            exc.filename = str(path)   # e.g. a full disk: the user needs to know which file
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


def _ours(folder: Path, out_name: str) -> bool:
    """Whether `folder` is a staging folder this project made for the output `out_name` and whose
    process has gone: its exact name, a real folder (not a link), and the marker inside naming
    a dead pid."""
    for kind in (_PARTIAL, _OLD):
        head = f".{out_name}{kind}"
        if folder.name.startswith(head):
            pid, _, tail = folder.name[len(head):].partition("-")
            if pid.isdigit() and len(tail) == 8 and all(c in "0123456789abcdef" for c in tail):
                break
    else:
        return False
    try:
        if not stat.S_ISDIR(folder.lstat().st_mode):
            return False
        marker = folder / _MARKER
        if not stat.S_ISREG(marker.lstat().st_mode):
            return False
        owner = json.loads(marker.read_text(encoding="utf-8"))
        return (owner.get("pid") == int(pid) and owner.get("out") == out_name
                and not process_alive(int(pid)))
    except (OSError, ValueError, AttributeError):
        return False


def sweep_stale(out: Path) -> list[Path]:
    """Remove the staging and replaced folders of killed runs writing `out` (only folders this
    project provably made: see `_ours`); returns what was removed."""
    out = Path(out)
    removed = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        if _ours(p, out.name):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _mark(folder: Path, out: Path) -> Path:
    """A new hidden folder that `sweep_stale` may later remove: created with its owner marker."""
    folder.mkdir()
    try:
        (folder / _MARKER).write_text(json.dumps({"pid": os.getpid(), "out": out.name}))
    except BaseException:   # e.g. a full disk: an unmarked folder would never be swept
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


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

    A symbolic link stands for the folder it points to (returned): that folder is written or
    replaced and the link keeps working. Refused: a link that leads nowhere; a file; a place that cannot be written; a non-empty folder without `overwrite`; a
    folder that is, contains or lies inside one of `inputs` (checked whatever `overwrite` says,
    since replacing it would delete an input), except an earlier output of the same command
    inside one (`is_output` recognises it: a notebook run again over its output in the cache);
    with `overwrite`, a non-empty folder that `is_output` does not recognise as an output of
    the same command.
    """
    out = through_link(Path(out_dir).expanduser().absolute())
    real = Path(os.path.realpath(out))
    for given in inputs:
        if given is None:
            continue
        inp = Path(os.path.realpath(Path(given).expanduser()))
        how = _related(real, inp)
        again = how == "lies inside" and is_output is not None and out.is_dir() and is_output(out)
        if how and (how != "lies inside" or out.exists()) and not again:
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


def through_link(out: Path) -> Path:
    """`out`, or the folder it links to when it is a symbolic link (one ClothganError when the
    link leads nowhere)."""
    if not out.is_symlink():
        return out
    try:
        os.stat(out)
    except OSError as exc:
        raise ClothganError(f"{out}: a symbolic link to {os.readlink(out)} that cannot be followed "
                            f"({exc.strerror}); create that folder, fix the link, or choose "
                            "another --out") from None
    return Path(os.path.realpath(out))


@contextmanager
def staged_dir(out_dir: str | os.PathLike, overwrite: bool = False,
               is_output: Callable[[Path], bool] | None = None,
               wait: bool = False) -> Iterator[Path]:
    """A new empty hidden folder beside out_dir, renamed to out_dir when the block succeeds
    and deleted when it fails; holds `output_lock(out_dir, wait)` throughout.

    Check the target first with `check_out_dir`; at the swap it is checked again with the same
    `overwrite` and `is_output`, so files that appeared there meanwhile are never replaced: the
    finished folder is then kept as a visible sibling (`DIR.new`) and a ClothganError names it.
    Stale staging folders of killed runs of the same output are swept on the way in.
    """
    out = through_link(Path(out_dir).expanduser().absolute())
    with output_lock(out, wait=wait):
        writable_parent(out)
        sweep_stale(out)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        shell = _mark(out.with_name(f".{out.name}{_PARTIAL}{tag}"), out)
        tmp = shell / out.name
        try:
            tmp.mkdir()
            yield tmp
            _swap(tmp, out, overwrite, is_output, tag)
        except OSError as exc:
            if exc.filename is None:
                exc.filename = str(out)   # e.g. a full disk while writing the output
            raise
        finally:
            shutil.rmtree(shell, ignore_errors=True)


def _in_the_way(out: Path, overwrite: bool, is_output: Callable[[Path], bool] | None) -> str | None:
    """Why the finished folder must not replace what is at `out` now (None: it may)."""
    if out.is_symlink():
        return "a symbolic link appeared there"
    if not out.exists():
        return None
    if not out.is_dir():
        return "a file appeared there"
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return None
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    if not overwrite:
        return f"files appeared there ({shown})"
    if is_output is not None and not is_output(out):
        return f"files this command did not write appeared there ({shown})"
    return None


def _swap(tmp: Path, out: Path, overwrite: bool, is_output, tag: str) -> None:
    """Rename the finished `tmp` to `out`, moving a replaceable `out` aside first."""
    problem = _in_the_way(out, overwrite, is_output)
    if problem:
        kept = next(c for c in (out.with_name(f"{out.name}.new" + (f"-{i}" if i > 1 else ""))
                                for i in range(1, 10_000)) if not os.path.lexists(c))
        os.rename(tmp, kept)
        raise ClothganError(f"{out}: {problem} while this command ran, so it was left as it is; "
                            f"the finished output is in {kept}: move it where you want it")
    if not os.path.lexists(out):
        os.rename(tmp, out)
        return
    old_shell = _mark(out.with_name(f".{out.name}{_OLD}{tag}"), out)
    old = old_shell / out.name
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old_shell, ignore_errors=True)


# -- one writer per output ---------------------------------------------------------------------

_LOCK = ".clothgan-lock"          # .<name>.clothgan-lock beside an output: its writer's flock
_held: dict[str, list] = {}      # lock file -> [descriptor, depth]: this process's locks
_held_guard = threading.Lock()
_command: str | None = None


def set_command_line(words: list[str]) -> None:
    """How this process is named to a second writer of the same output (the CLI sets it)."""
    global _command
    _command = shlex.join(words)


def lock_file(out: str | os.PathLike) -> Path:
    """The lock file of an output: beside the real folder (links resolved), hidden."""
    real = Path(os.path.realpath(Path(out).expanduser().absolute()))
    return real.with_name(f".{real.name}{_LOCK}")


@contextmanager
def output_lock(out: str | os.PathLike, wait: bool = False) -> Iterator[Path]:
    """Hold the one-writer lock of the output `out` (an OS file lock, released when the process
    ends however it ends). Taken again by the same process it nests. Held by another process:
    one ClothganError naming it, or with `wait`, block until it is free (shared caches)."""
    path = lock_file(out)
    key = str(path)
    with _held_guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        fd = _acquire(path, Path(out), wait)
        with _held_guard:
            entry = _held[key] = [fd, 1]
    try:
        yield path
    finally:
        with _held_guard:
            entry[1] -= 1
            last = entry[1] == 0
            if last:
                del _held[key]
        if last and entry[0] is not None:
            try:
                if os.path.samestat(os.fstat(entry[0]), os.stat(path)):
                    path.unlink()
            except OSError:
                pass
            os.close(entry[0])


def _acquire(path: Path, out: Path, wait: bool) -> int | None:
    try:
        import fcntl
    except ImportError:   # Windows: no flock; the re-check at the swap still protects files
        return None
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise ClothganError(f"{out}: cannot write there ({exc.strerror or exc}); choose "
                                "another --out on a writable disk") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            try:
                holder = json.loads(os.pread(fd, 65536, 0))
                who = f"process {int(holder['pid'])}: {holder['command']}"
            except (OSError, ValueError, KeyError, TypeError):
                who = "another process"
            os.close(fd)
            raise ClothganError(f"{out}: another clothgan run is writing there ({who}); wait "
                                "until it ends, or choose another --out") from None
        except OSError:   # a file system without locks: go on unlocked, as before
            os.close(fd)
            return None
        try:   # the previous holder may have removed the file between our open and lock
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    me = {"pid": os.getpid(),
          "command": _command or shlex.join([Path(sys.executable).name, *sys.argv])}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode(), 0)
    return fd
