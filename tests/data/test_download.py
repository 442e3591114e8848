"""Dataset download against a real HTTP server on 127.0.0.1 serving archives built here."""
from __future__ import annotations

import hashlib
import io
import socket
import stat
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothgan.core.cache import cache_dir
from clothgan.data import registry as datasets
from clothgan.config import DataConfig
from clothgan.data import scan
from clothgan.data.registry import COMPLETE_MARKER, DatasetSource
from clothgan.data.source import resolve_dataset
from clothgan.data.download import extract_archive, fetch_dataset, UnsafeArchiveError
from clothgan.errors import DataError

LABELS = ("dress", "hat", "t-shirt")


def _jpeg(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (12, 10, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")
    return buf.getvalue()


def full_layout_files(n: int = 12, root: str = "clothing-dataset-master") -> dict[str, bytes]:
    """images/<id>.jpg + images.csv, as the clothing-full archive lays them out."""
    files, rows = {}, ["image,sender_id,label,kids"]
    for i in range(n):
        files[f"{root}/images/id{i:03d}.jpg"] = _jpeg(i)
        rows.append(f"id{i:03d},1,{['Dress', 'Hat', 'T-Shirt', 'Not sure'][i % 4]},False")
    files[f"{root}/images.csv"] = ("\n".join(rows) + "\n").encode()
    return files


def small_layout_files(root: str = "clothing-dataset-small-master") -> dict[str, bytes]:
    """<split>/<label>/<id>.jpg, as the clothing-small archive lays them out."""
    files, i = {}, 0
    for split in ("train", "validation", "test"):
        for label in LABELS:
            for _ in range(2):
                files[f"{root}/{split}/{label}/img{i:03d}.jpg"] = _jpeg(100 + i)
                i += 1
    return files


def make_zip(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def make_tar(files: dict[str, bytes], links: list[tuple[str, str, bytes]] = ()) -> bytes:
    """A .tar.gz; links are (name, target, tarfile.SYMTYPE or LNKTYPE)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
    return buf.getvalue()


class ArchiveServer:
    """A loopback HTTP server: path -> bytes; `mode` decides how the body is sent.

    full: Content-Length and the whole body (Range and ETag honoured); truncate: Content-Length
    of the whole body but only half of it sent; unsized: no Content-Length, half the body, close.
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.mode = "full"
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, **dict(self.headers)})
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                start = 0
                rng = self.headers.get("Range")
                if rng and server.mode == "wrongrange":      # a broken server's 206
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
                elif rng and server.mode == "full" and self.headers.get("If-Range") == etag:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("ETag", etag)
                if server.mode != "unsized":
                    self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                data = body[start:] if server.mode in ("full", "wrongrange") else body[: len(body) // 2]
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ArchiveServer()
    yield s
    s.close()


def source_for(url: str, layout: str = "csv", **kw) -> DatasetSource:
    if layout == "csv":
        kw = {"archive_root": "clothing-dataset-master", "csv_name": "images.csv",
              "csv_columns": ("image", "sender_id", "label", "kids"), "min_images": 12, **kw}
    else:
        kw = {"archive_root": "clothing-dataset-small-master",
              "splits": ("train", "validation", "test"), "min_images": 18, **kw}
    return DatasetSource(**{"name": "test-set", "url": url, "layout": layout, **kw})


def leftovers(parent: Path) -> list[str]:
    """Anything a failed fetch left beside the target, except the download folder and lock."""
    return sorted(p.name for p in parent.iterdir() if p.name not in (".downloads", ".ds.lock"))


def test_good_zip_is_downloaded_extracted_verified_and_marked(server, tmp_path):
    server.files["/full.zip"] = make_zip(full_layout_files())
    target = tmp_path / "ds"
    out = fetch_dataset(source_for(server.url("/full.zip")), target, progress=False)
    assert out == target
    assert sorted(p.name for p in (target / "images").iterdir())[0] == "id000.jpg"
    assert len(list((target / "images").iterdir())) == 12
    marker = (target / COMPLETE_MARKER).read_text()
    assert hashlib.sha256(server.files["/full.zip"]).hexdigest() in marker
    assert not list((tmp_path / ".downloads").iterdir())  # archive removed once complete
    assert leftovers(tmp_path) == ["ds"]
    # Complete: a second call does not touch the network.
    n = len(server.requests)
    fetch_dataset(source_for(server.url("/full.zip")), target, progress=False)
    assert len(server.requests) == n


def test_registry_name_downloads_once_then_uses_the_cache(server, monkeypatch):
    server.files["/full.zip"] = make_zip(full_layout_files())
    monkeypatch.delenv("CLOTHGAN_DATA_DIR", raising=False)
    monkeypatch.setitem(datasets.REGISTRY, "clothing-full",
                        source_for(server.url("/full.zip"), name="clothing-full"))
    inv = scan(DataConfig(dataset="clothing-full", classes=LABELS))
    assert inv.counts() == {"dress": 3, "hat": 3, "t-shirt": 3}
    assert inv.excluded_labels == {"Not sure": 3}
    scan(DataConfig(dataset="clothing-full", classes=LABELS))
    assert len(server.requests) == 1


def test_small_layout_tar_keeps_its_own_split(server, tmp_path):
    server.files["/small.tar.gz"] = make_tar(small_layout_files())
    target = fetch_dataset(source_for(server.url("/small.tar.gz"), "folders"), tmp_path / "small",
                           progress=False)
    inv = scan(DataConfig(dataset=str(target), classes=LABELS))
    assert inv.own_split
    assert {s: sum(c.values()) for s, c in inv.split_counts().items()} == \
        {"train": 6, "val": 6, "test": 6}
    assert all(f"/{'validation' if r.split == 'val' else r.split}/{r.label}/" in r.path
               for r in inv.records)


def test_sha256_is_checked(server, tmp_path):
    data = make_zip(full_layout_files())
    server.files["/full.zip"] = data
    with pytest.raises(DataError, match="SHA-256"):
        fetch_dataset(source_for(server.url("/full.zip"), sha256="0" * 64), tmp_path / "ds",
                      progress=False)
    assert not (tmp_path / "ds").exists()
    assert not list((tmp_path / ".downloads").iterdir())
    fetch_dataset(source_for(server.url("/full.zip"), sha256=hashlib.sha256(data).hexdigest()),
                  tmp_path / "ds", progress=False)
    assert (tmp_path / "ds" / COMPLETE_MARKER).is_file()


def _truncated_first_attempt(server, tmp_path):
    """Serve half of a good archive once: the fetch must fail as truncated. (archive, source)."""
    data = make_zip(full_layout_files())
    server.files["/full.zip"] = data
    server.mode = "truncate"
    src = source_for(server.url("/full.zip"))
    with pytest.raises(DataError, match="truncated"):
        fetch_dataset(src, tmp_path / "ds", progress=False)
    return data, src


def test_truncated_transfer_is_never_taken_for_complete_and_resumes(server, tmp_path):
    data, src = _truncated_first_attempt(server, tmp_path)
    [part] = (tmp_path / ".downloads").glob("*.part")
    assert part.stat().st_size == len(data) // 2
    assert not list((tmp_path / ".downloads").glob("*.archive"))
    assert not (tmp_path / "ds").exists()
    server.mode = "full"
    fetch_dataset(src, tmp_path / "ds", progress=False)
    assert server.requests[-1]["Range"] == f"bytes={len(data) // 2}-"   # resumed, not restarted
    assert len(list((tmp_path / "ds" / "images").iterdir())) == 12
    assert not list((tmp_path / ".downloads").iterdir())


def test_a_range_the_client_did_not_ask_for_restarts_the_download(server, tmp_path):
    _, src = _truncated_first_attempt(server, tmp_path)
    server.mode = "wrongrange"
    fetch_dataset(src, tmp_path / "ds", progress=False)
    assert "Range" in server.requests[-2] and "Range" not in server.requests[-1]
    assert len(list((tmp_path / "ds" / "images").iterdir())) == 12


def test_truncated_transfer_without_length_is_caught_by_the_archive_check(server, tmp_path):
    server.files["/full.zip"] = make_zip(full_layout_files())
    server.mode = "unsized"
    src = source_for(server.url("/full.zip"))
    with pytest.raises(DataError, match="corrupt or truncated"):
        fetch_dataset(src, tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()
    assert not list((tmp_path / ".downloads").iterdir())   # deleted, not reused
    assert leftovers(tmp_path) == []
    server.mode = "full"
    fetch_dataset(src, tmp_path / "ds", progress=False)
    assert (tmp_path / "ds" / COMPLETE_MARKER).is_file()


MALICIOUS = {
    "zip-slip": lambda: make_zip({**full_layout_files(), "../evil.txt": b"pwned"}),
    "zip-nested-slip": lambda: make_zip({**full_layout_files(),
                                         "clothing-dataset-master/images/../../../evil.txt": b"x"}),
    "zip-absolute": lambda: make_zip({**full_layout_files(), "/tmp/clothgan-evil.txt": b"x"}),
    "zip-symlink": lambda: make_zip(full_layout_files(),
                                    symlinks={"clothing-dataset-master/up": "../../.."}),
    "tar-slip": lambda: make_tar({**full_layout_files(), "../evil.txt": b"x"}),
    "tar-absolute-symlink": lambda: make_tar(full_layout_files(), [
        ("clothing-dataset-master/images/etc", "/etc", tarfile.SYMTYPE)]),
    "tar-escaping-symlink": lambda: make_tar(full_layout_files(), [
        ("clothing-dataset-master/out", "../..", tarfile.SYMTYPE)]),
    "tar-escaping-hardlink": lambda: make_tar(full_layout_files(), [
        ("clothing-dataset-master/passwd", "../../etc/passwd", tarfile.LNKTYPE)]),
}


@pytest.mark.parametrize("kind", sorted(MALICIOUS))
def test_malicious_archive_is_refused_and_nothing_is_written(server, tmp_path, kind):
    server.files["/bad"] = MALICIOUS[kind]()
    parent = tmp_path / "cache"
    with pytest.raises(UnsafeArchiveError, match="unsafe archive"):
        fetch_dataset(source_for(server.url("/bad")), parent / "ds", progress=False)
    assert not (parent / "ds").exists()
    assert leftovers(parent) == []                       # the extraction folder is gone too
    assert not (tmp_path / "evil.txt").exists() and not (parent / "evil.txt").exists()
    assert not Path("/tmp/clothgan-evil.txt").exists()
    assert not list((parent / ".downloads").iterdir())


def test_links_inside_the_archive_are_skipped_not_created(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(make_tar({"root/a.txt": b"a"}, [("root/b.txt", "a.txt", tarfile.SYMTYPE)]))
    counts = extract_archive(archive, tmp_path / "out")
    assert counts["files"] == 1 and counts["skipped_links"] == 1
    assert (tmp_path / "out/root/a.txt").read_bytes() == b"a"
    assert not (tmp_path / "out/root/b.txt").exists() and not (tmp_path / "out/root/b.txt").is_symlink()


def test_wrong_layout_or_too_few_images_fails_verification(server, tmp_path):
    server.files["/small.zip"] = make_zip(small_layout_files())
    with pytest.raises(DataError, match="images.csv and images/"):
        fetch_dataset(source_for(server.url("/small.zip")), tmp_path / "a", progress=False)
    server.files["/few.zip"] = make_zip(full_layout_files(n=4))
    with pytest.raises(DataError, match="only 4 images"):
        fetch_dataset(source_for(server.url("/few.zip")), tmp_path / "b", progress=False)
    bad_csv = full_layout_files()
    bad_csv["clothing-dataset-master/images.csv"] = b"image,label\nid000,Dress\n"
    server.files["/cols.zip"] = make_zip(bad_csv)
    with pytest.raises(DataError, match="missing column"):
        fetch_dataset(source_for(server.url("/cols.zip")), tmp_path / "c", progress=False)
    assert not any((tmp_path / d).exists() for d in "abc")


def test_half_made_target_from_an_interrupted_run_is_replaced(server, tmp_path):
    server.files["/full.zip"] = make_zip(full_layout_files())
    stale = tmp_path / "ds"
    (stale / "images").mkdir(parents=True)
    (stale / "images" / "partial.jpg").write_bytes(b"\xff\xd8")
    fetch_dataset(source_for(server.url("/full.zip")), stale, progress=False)
    assert not (stale / "images" / "partial.jpg").exists()
    assert (stale / COMPLETE_MARKER).is_file()


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(DataError, match="HTTP 404"):
        fetch_dataset(source_for(server.url("/nothing.zip")), tmp_path / "ds", progress=False)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/clothing.zip"


def test_offline_without_a_copy_is_one_clear_error(monkeypatch):
    url = _closed_port_url()
    monkeypatch.delenv("CLOTHGAN_DATA_DIR", raising=False)
    monkeypatch.setitem(datasets.REGISTRY, "clothing-full",
                        source_for(url, name="clothing-full"))
    with pytest.raises(DataError) as err:
        resolve_dataset("clothing-full")
    msg = str(err.value)
    assert "\n" not in msg
    assert url in msg and "cannot download dataset 'clothing-full'" in msg
    assert "CLOTHGAN_DATA_DIR=" in msg and "--dataset PATH" in msg
    assert not (cache_dir("datasets") / "clothing-full").exists()


def test_data_dir_override_is_used_without_network(monkeypatch, tmp_path):
    copy = tmp_path / "copy"
    for name, data in full_layout_files(root="x").items():
        (copy / name[2:]).parent.mkdir(parents=True, exist_ok=True)
        (copy / name[2:]).write_bytes(data)
    monkeypatch.setitem(datasets.REGISTRY, "clothing-full",
                        source_for(_closed_port_url(), name="clothing-full"))
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(copy))
    assert resolve_dataset("clothing-full") == copy
    # The override holds the full dataset's layout, not the small one's: say so when offline.
    monkeypatch.setitem(datasets.REGISTRY, "clothing-small",
                        source_for(_closed_port_url(), "folders", name="clothing-small"))
    with pytest.raises(DataError, match="holds a copy of clothing-full.*not clothing-small"):
        resolve_dataset("clothing-small")
    monkeypatch.setenv("CLOTHGAN_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="folder does not exist"):
        resolve_dataset("clothing-full")
