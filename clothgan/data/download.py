"""Download, safe extraction and verification of a registry dataset into the cache.

Nothing half-done is ever taken for done: the archive is written to `<name>.part` and renamed
only when its size matches Content-Length (and its SHA-256 where known); extraction goes to a
temporary folder that is renamed to the target only after verification, and the target's
`.complete` marker is written last. An interrupted download resumes with an HTTP Range request.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import posixpath
import re
import shutil
import socket
import stat
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path, PurePosixPath

from ..config import ENV_DATA_DIR
from ..core.files import atomic_write, sha256_file
from ..errors import DataError
from .images import IMAGE_SUFFIXES
from .registry import COMPLETE_MARKER, DatasetSource, has_layout

CHUNK = 1 << 20


class UnsafeArchiveError(DataError):
    """An archive member would land outside the extraction folder (zip-slip) or is a bad link."""


class CorruptArchiveError(DataError):
    """The downloaded file is not a readable zip or tar archive (truncated or damaged)."""


def offline_message(source: DatasetSource, reason: str) -> str:
    """The one error a user sees when the dataset cannot be fetched: what failed and every fix."""
    return (f"cannot download dataset {source.name!r} from {source.url} ({reason}). Fix: connect "
            f"to the internet and run again; or, on a machine that has it, download and unpack "
            f"that archive, copy the folder here and set {ENV_DATA_DIR}=/path/to/that/folder "
            f"(for clothing-full the folder holding images/ and images.csv); or pass your own "
            f"folder or CSV as the dataset (--dataset PATH / DataConfig(dataset=PATH))")


def _progress(total: int | None, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True,
                unit_divisor=1024, disable=not enabled, leave=False)


def download(url: str, dest: Path, *, sha256: str | None = None, progress: bool = True,
             timeout: float = 60.0, source: DatasetSource | None = None) -> Path:
    """Fetch `url` into `dest` through `dest.part`, resuming a previous partial download.

    Raises DataError when offline, on an HTTP error, on a truncated transfer (the partial file is
    kept so the next call resumes) or on a SHA-256 mismatch (the file is deleted).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    meta_path = dest.with_name(dest.name + ".part.json")
    offset, headers = 0, {"User-Agent": "clothgan (dataset download)", "Accept-Encoding": "identity"}
    meta = _read_json(meta_path)
    if part.is_file() and meta.get("url") == url and meta.get("validator"):
        # Resume only when the server can promise the same bytes (If-Range with its validator);
        # otherwise it answers 200 with the whole file and we start again.
        offset = part.stat().st_size
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = meta["validator"]
    name = source.name if source else dest.name
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:       # the partial file is stale or already whole: restart
            _remove(part, meta_path)
            return download(url, dest, sha256=sha256, progress=progress, timeout=timeout,
                            source=source)
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}; check the address, or set "
                        f"{ENV_DATA_DIR} to an existing copy of the dataset") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        msg = offline_message(source, str(reason)) if source else f"cannot download {url} ({reason})"
        raise DataError(msg) from exc
    with resp:
        if resp.status == 206 and _range_start(resp.headers.get("Content-Range")) != offset:
            resp.close()        # a range we did not ask for: start again without one
            _remove(part, meta_path)
            return download(url, dest, sha256=sha256, progress=progress, timeout=timeout,
                            source=source)
        if resp.status == 206:
            mode = "ab"
        else:
            offset, mode = 0, "wb"
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        etag = resp.headers.get("ETag") or ""
        validator = etag if etag and not etag.startswith("W/") else resp.headers.get("Last-Modified")
        _write_json(meta_path, {"url": url, "validator": validator, "total": total})
        got = offset
        try:
            with open(part, mode) as f, _progress(total, offset, f"download {name}", progress) as bar:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
        except (OSError, http.client.HTTPException, socket.timeout) as exc:
            raise DataError(f"download of {url} broke off after {got:,} bytes ({exc}); run again "
                            f"to resume from {part}") from exc
    # http.client returns a short body silently when the connection closes early: check the size.
    if total is not None and got != total:
        raise DataError(f"download of {url} is truncated: got {got:,} of {total:,} bytes; run "
                        f"again to resume from {part}")
    if sha256 and (digest := sha256_file(part)) != sha256.lower():
        _remove(part, meta_path)
        raise DataError(f"{url}: SHA-256 {digest} does not match the expected {sha256}; the "
                        f"download was deleted. Run again, or check the registry entry")
    os.replace(part, dest)
    _remove(meta_path)
    return dest


def _range_start(content_range: str | None) -> int | None:
    m = re.match(r"bytes (\d+)-", content_range or "")
    return int(m.group(1)) if m else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=1, sort_keys=True)))


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


# ----------------------------------------------------------------------------- safe extraction

def safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path an archive member may be written to; None for the archive root entry.

    Raises UnsafeArchiveError for absolute paths, drive letters, `..` components and NUL bytes.
    """
    n = name.replace("\\", "/")
    if "\x00" in n:
        raise UnsafeArchiveError(f"member {name!r} has a NUL byte in its name")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        raise UnsafeArchiveError(f"member {name!r} has an absolute path")
    parts = [p for p in n.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"member {name!r} climbs out of the target with '..'")
    return PurePosixPath(*parts) if parts else None


def _link_escapes(member: PurePosixPath, link: str, hard: bool) -> bool:
    """Whether a link member's target lies outside the extraction folder.

    Symlink targets are relative to the link's folder, hard-link targets to the archive root.
    """
    link = link.replace("\\", "/")
    if link.startswith("/") or re.match(r"^[A-Za-z]:", link):
        return True
    base = "" if hard else str(member.parent)
    resolved = posixpath.normpath(posixpath.join(base, link))
    return resolved == ".." or resolved.startswith("../") or resolved.startswith("/")


def _zip_members(zf: zipfile.ZipFile):
    """(info, kind, link target) for each zip member; kind is 'dir', 'file' or 'symlink'."""
    for info in zf.infolist():
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_ISLNK(mode):
            yield info, "symlink", zf.read(info).decode("utf-8", "replace")
        elif info.is_dir():
            yield info, "dir", None
        else:
            yield info, "file", None


def extract_archive(archive: Path, dest: Path) -> dict:
    """Extract a zip or tar archive into the empty folder `dest`, refusing anything unsafe.

    Refused (UnsafeArchiveError, nothing kept): absolute paths, `..`, links pointing outside
    `dest`. Links that stay inside and special files are skipped, never created, so no later
    member can be written through a link. Returns counts of files written and members skipped.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    counts = {"files": 0, "skipped_links": 0, "skipped_special": 0}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            members = list(_zip_members(zf))
            for info, kind, link in members:           # check everything before writing anything
                rel = safe_member_path(info.filename)
                if kind == "symlink" and rel is not None and _link_escapes(rel, link, hard=False):
                    raise UnsafeArchiveError(f"member {info.filename!r} is a link to {link!r}, "
                                             "outside the target")
            for info, kind, link in members:
                rel = safe_member_path(info.filename)
                if rel is None:
                    continue
                out = dest / rel
                if kind == "dir":
                    out.mkdir(parents=True, exist_ok=True)
                elif kind == "symlink":
                    counts["skipped_links"] += 1
                else:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)   # zipfile checks each CRC here
                    counts["files"] += 1
        return counts
    if not tarfile.is_tarfile(archive):
        raise CorruptArchiveError("not a readable zip or tar archive")
    with tarfile.open(archive, "r:*") as tf:
        members = tf.getmembers()
        for m in members:
            rel = safe_member_path(m.name)
            if (m.issym() or m.islnk()) and rel is not None and _link_escapes(rel, m.linkname,
                                                                               hard=m.islnk()):
                raise UnsafeArchiveError(f"member {m.name!r} is a link to {m.linkname!r}, "
                                         "outside the target")
        for m in members:
            rel = safe_member_path(m.name)
            if rel is None:
                continue
            out = dest / rel
            if m.isdir():
                out.mkdir(parents=True, exist_ok=True)
            elif m.issym() or m.islnk():
                counts["skipped_links"] += 1
            elif m.isfile():
                out.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(m)
                with src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
                counts["files"] += 1
            else:
                counts["skipped_special"] += 1
    return counts


# ----------------------------------------------------------------------------- verification

def _count_images(folder: Path, recursive: bool = False) -> int:
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sum(1 for p in it if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
               and not p.name.startswith("."))


def verify_dataset(root: Path, source: DatasetSource) -> int:
    """Check `root` has the source's layout, CSV columns and at least min_images images.

    Returns the number of images; raises DataError naming what is wrong.
    """
    import csv

    if source.layout == "csv":
        csv_path = root / (source.csv_name or "images.csv")
        images = root / "images"
        if not csv_path.is_file() or not images.is_dir():
            raise DataError(f"{root}: expected {csv_path.name} and images/ (the {source.name} "
                            "layout) but they are not there")
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
        missing = [c for c in source.csv_columns if c not in header]
        if missing:
            raise DataError(f"{csv_path}: missing column(s) {', '.join(missing)}; found "
                            f"{', '.join(header) or 'no header'}")
        n = _count_images(images)
    else:
        absent = [s for s in source.splits if not (root / s).is_dir()]
        if absent:
            raise DataError(f"{root}: expected split folders {', '.join(source.splits)} (the "
                            f"{source.name} layout); missing {', '.join(absent)}")
        n = _count_images(root, recursive=True)
    if n < source.min_images:
        raise DataError(f"{root}: only {n} images, expected at least {source.min_images} for "
                        f"{source.name}; the archive is incomplete or not this dataset")
    return n


def _dataset_root(extracted: Path, source: DatasetSource) -> Path:
    """The folder inside the extraction that holds the dataset (archives wrap it in a top folder)."""
    named = extracted / source.archive_root
    if named.is_dir():
        return named
    if has_layout(extracted, source):
        return extracted
    tops = [p for p in extracted.iterdir() if not p.name.startswith(".")]
    if len(tops) == 1 and tops[0].is_dir():
        return tops[0]
    return extracted


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock between processes fetching the same dataset (no-op where unsupported)."""
    try:
        import fcntl
    except ImportError:      # Windows: no cross-process lock, the atomic renames still hold
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def fetch_dataset(source: DatasetSource, target: Path, *, progress: bool = True,
                  timeout: float = 60.0, keep_archive: bool = False) -> Path:
    """Download, extract safely and verify `source` into the folder `target`; returns `target`.

    A `target` that already has its `.complete` marker is returned untouched. The archive is kept
    under `<target's parent>/.downloads` until the dataset is complete (so an interrupted
    extraction does not download again), then deleted unless `keep_archive`; an archive that is
    corrupt, unsafe or not the expected dataset is deleted at once.
    """
    target = Path(target)
    marker = target / COMPLETE_MARKER
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.parent / f".{target.name}.lock"):
        if marker.is_file():
            return target
        downloads = target.parent / ".downloads"
        # Named by the URL too, so a changed registry entry never reuses an old archive.
        url_tag = hashlib.sha256(source.url.encode()).hexdigest()[:12]
        archive = downloads / f"{source.name}-{url_tag}.archive"
        t0 = time.time()
        if not archive.is_file():
            download(source.url, archive, sha256=source.sha256, progress=progress,
                     timeout=timeout, source=source)
        elif source.sha256 and sha256_file(archive) != source.sha256.lower():
            archive.unlink()
            download(source.url, archive, sha256=source.sha256, progress=progress,
                     timeout=timeout, source=source)
        digest = sha256_file(archive)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-", dir=target.parent))
        try:
            try:
                counts = extract_archive(archive, work)
            except UnsafeArchiveError as exc:
                archive.unlink()
                raise UnsafeArchiveError(f"{source.url}: unsafe archive, nothing extracted: {exc}. "
                                         "This is not the expected dataset; check the URL") from exc
            except (CorruptArchiveError, zipfile.BadZipFile, tarfile.TarError, EOFError, OSError,
                    ValueError) as exc:
                archive.unlink()    # corrupt or truncated: the next run downloads it again
                raise DataError(f"{source.url}: the archive is corrupt or truncated ({exc}); it "
                                "was deleted, run again to download it afresh") from exc
            root = _dataset_root(work, source)
            try:
                n_images = verify_dataset(root, source)
            except DataError:
                archive.unlink()    # not the expected dataset: never reuse it
                raise
            info = {"name": source.name, "url": source.url, "archive_sha256": digest,
                    "images": n_images, "files": counts["files"],
                    "skipped_links": counts["skipped_links"],
                    "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "seconds": round(time.time() - t0, 1)}
            _write_json(root / COMPLETE_MARKER, info)
            if target.exists():          # a half-made folder from an older, interrupted run
                shutil.rmtree(target)
            os.replace(root, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if counts["skipped_links"]:
            warnings.warn(f"{source.name}: {counts['skipped_links']} link(s) in the archive were "
                          "not extracted", stacklevel=2)
        if not keep_archive:
            _remove(archive)
    return target
