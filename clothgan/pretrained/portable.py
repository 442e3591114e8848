"""Maintainers: make shipped generators loadable by every Keras that clothgan's requirements allow.

    python -m clothgan.pretrained.portable [ARCHIVE.keras ...]   (default: every shipped one)

Newer Keras versions write config keys that older ones refuse with a TypeError: 3.15 writes
the initializers' `input_axes` and `output_axes`, which 3.14 and earlier refuse, and 3.13 the
layers' `quantization_config`, which 3.12 and earlier refuse. This rewrites an
archive's config.json without those keys where they hold the value that means "as before"
(None), and copies the weights and metadata.json byte for byte, so the generator draws exactly
the same images. Running it again changes nothing. `package` runs it on every generator it
ships; tests/pretrained/test_portable.py checks the shipped archives against the oldest supported Keras.
"""
from __future__ import annotations

import argparse
import json
import os
import zipfile
from pathlib import Path

from ..errors import ClothganError
from ..runs import GENERATOR_FILE

CONFIG_ENTRY = "config.json"
#: Config keys newer Keras writes -> the value that means the same as leaving the key out.
NEWER_KEYS = {"input_axes": None, "output_axes": None, "quantization_config": None}


def strip_newer_keys(node, where: str = "config") -> int:
    """Remove NEWER_KEYS holding their neutral value from a Keras config tree, in place;
    returns how many went. A newer key set to anything else cannot be saved portably."""
    dropped = 0
    if isinstance(node, dict):
        config = node.get("config") if "class_name" in node else None
        if isinstance(config, dict):
            where = f"{where}/{config.get('name') or node['class_name']}"
            for key, neutral in NEWER_KEYS.items():
                if key in config:
                    if config[key] != neutral:
                        raise ClothganError(f"{where}: {key}={config[key]!r} needs a newer Keras; "
                                            "this generator cannot be saved for older ones")
                    del config[key]
                    dropped += 1
        for value in node.values():
            dropped += strip_newer_keys(value, where)
    elif isinstance(node, list):
        for value in node:
            dropped += strip_newer_keys(value, where)
    return dropped


def make_portable(archive: str | os.PathLike) -> int:
    """Rewrite a .keras archive's config.json without NEWER_KEYS; returns the keys removed
    (0: the file is left untouched). The other entries are copied as they are."""
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            entries = [(info, zf.read(info.filename)) for info in zf.infolist()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise ClothganError(f"{archive}: not a readable .keras archive ({exc})") from None
    config = next((data for info, data in entries if info.filename == CONFIG_ENTRY), None)
    if config is None:
        raise ClothganError(f"{archive}: no {CONFIG_ENTRY} inside; not a .keras archive")
    tree = json.loads(config)
    dropped = strip_newer_keys(tree, str(archive))
    if not dropped:
        return 0
    tmp = archive.with_name(archive.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for info, data in entries:
            zf.writestr(info, json.dumps(tree).encode() if info.filename == CONFIG_ENTRY else data)
    os.replace(tmp, archive)
    return dropped


def shipped_archives() -> list[Path]:
    """Every generator archive inside this package's pretrained folder."""
    return sorted(Path(__file__).parent.glob(f"*/{GENERATOR_FILE}"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archives", nargs="*", help="default: every shipped generator")
    args = ap.parse_args(argv)
    for path in args.archives or shipped_archives():
        print(f"{path}: removed {make_portable(path)} config keys older Keras versions refuse")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
