"""The config keys the oldest Keras clothgan allows reads for each class in the shipped
generators, as recorded by that Keras itself: the keys it writes back after loading them, and
the named parameters of each class's constructor (what `from_config` passes the config to).
tests/pretrained/test_portable.py checks the archives against the record.

    python tests/pretrained/oldest_keras.py > tests/pretrained/oldest_keras_config_keys.json   (under that Keras)
    python tests/pretrained/oldest_keras.py --lower-bound                          (which Keras that is)

`.ci/check-colab` records it under the lower bound in pyproject.toml and fails when the
committed record differs.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

RECORD = Path(__file__).with_name("oldest_keras_config_keys.json")
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def lower_bound() -> str:
    """The oldest Keras pyproject.toml allows, as three numbers ("3.10" -> "3.10.0")."""
    found = re.search(r'"keras>=([0-9.]+)', PYPROJECT.read_text())
    parts = found.group(1).split(".")
    return ".".join((parts + ["0", "0"])[:3])


def config_keys(node, found: dict | None = None) -> dict[str, set]:
    """{"module:class_name": the config keys seen} over every serialized object in a config tree
    (objects without a module, such as the `__keras_tensor__` links between layers, are Keras's
    own bookkeeping and left out)."""
    found = {} if found is None else found
    if isinstance(node, dict):
        if node.get("module") and "class_name" in node and isinstance(node.get("config"), dict):
            found.setdefault(f"{node['module']}:{node['class_name']}", set()).update(node["config"])
        for value in node.values():
            config_keys(value, found)
    elif isinstance(node, list):
        for value in node:
            config_keys(value, found)
    return found


def archive_keys(path) -> dict[str, set]:
    with zipfile.ZipFile(path) as zf:
        return config_keys(json.loads(zf.read("config.json")))


def constructor_keys(name: str) -> set:
    """The named parameters a "module:class_name"'s constructor takes, its own and those of the
    base classes it passes **kwargs on to."""
    import importlib
    import inspect

    module, _, cls = name.partition(":")
    keys: set = set()
    for klass in getattr(importlib.import_module(module), cls).__mro__[:-1]:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        keys |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return keys - {"self"}


def record() -> dict:
    """Load every shipped generator with the running Keras and note the keys each class reads."""
    import keras

    from clothgan.pretrained.portable import shipped_archives

    found: dict[str, set] = {}
    for path in shipped_archives():
        model = keras.saving.load_model(path, compile=False)
        config_keys(keras.saving.serialize_keras_object(model), found)
    found = {name: keys | constructor_keys(name) for name, keys in found.items()}
    return {"keras": keras.__version__, "classes": {k: sorted(v) for k, v in sorted(found.items())}}


if __name__ == "__main__":
    import sys

    print(lower_bound() if sys.argv[1:] == ["--lower-bound"] else json.dumps(record(), indent=1))
