"""What the machine can do, and the numeric precision to compute in.

One vocabulary for every command: `auto` (16-bit where the hardware is built for it), `mixed`
(16-bit compute, float32 weights: float16 on GPUs, bfloat16 on TPUs and on CPUs with native
bfloat16) and `float32`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..config import PRECISIONS
from ..errors import ConfigError
#: Spellings of earlier versions, still accepted (with a note).
_OLD_SPELLINGS = {"mixed_bfloat16": "mixed", "mixed_float16": "mixed", "bfloat16": "mixed"}


def cpu_has_bf16() -> bool:
    """True when the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux MemAvailable), None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_precision(name: str) -> str:
    """`name` in today's vocabulary (PRECISIONS); old spellings map to theirs with a note."""
    if name in PRECISIONS:
        return name
    if name in _OLD_SPELLINGS:
        new = _OLD_SPELLINGS[name]
        print(f"clothgan: precision {name!r} is now spelled {new!r}", file=sys.stderr)
        return new
    raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")


def resolve_precision(name: str = "auto", strategy=None, quiet: bool = False) -> str:
    """The Keras dtype policy for a precision name: "float32", "mixed_float16" (GPU) or
    "mixed_bfloat16" (TPU strategy, or a CPU with native bf16)."""
    name = check_precision(name)
    if name == "float32":
        return "float32"
    import tensorflow as tf

    if strategy is not None and isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    if cpu_has_bf16():
        return "mixed_bfloat16"
    if name == "mixed" and not quiet:
        print("clothgan: this CPU has no native bfloat16; mixed precision would be slower, "
              "computing in float32", file=sys.stderr)
    return "float32"
