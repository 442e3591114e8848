"""The one place where downloaded and cached files live (CLOTHGAN_HOME)."""
from __future__ import annotations

import os
from pathlib import Path

from ..config import ENV_HOME
from ..errors import ClothganError


def cache_root() -> Path:
    """`CLOTHGAN_HOME`; else /content/clothgan on Colab (lasts as long as the runtime); else
    `$XDG_CACHE_HOME/clothgan` or ~/.cache/clothgan."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    if Path("/content").is_dir() and "COLAB_RELEASE_TAG" in os.environ:
        return Path("/content/clothgan")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "clothgan"


def cache_dir(*parts: str) -> Path:
    """The cache root, or a sub-folder of it, created; one ClothganError when it cannot be."""
    root = cache_root()
    path = root.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise PermissionError(13, "not writable")
    except OSError as exc:
        raise ClothganError(f"{path}: the clothgan cache cannot be written there "
                            f"({exc.strerror or exc}); set {ENV_HOME} to a writable folder") from None
    return path
