"""One worker pool for every stage: forked processes where fork is safe, threads otherwise.

Fork is the fastest start and needs no importable `__main__` (notebooks, scripts without a
main guard), but a forked child of a process that already runs TensorFlow's, PyTorch's, JAX's
or OpenCV's threads can deadlock; those libraries release the GIL in their heavy calls, so
threads serve well there.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

BACKENDS = ("auto", "process", "thread", "serial")
_THREADED_LIBRARIES = ("tensorflow", "torch", "jax", "cv2")


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def fork_is_safe() -> bool:
    """Linux, and no library with threads of its own imported yet."""
    return sys.platform.startswith("linux") and not any(m in sys.modules
                                                        for m in _THREADED_LIBRARIES)


def pool_kind(backend: str, workers: int) -> str:
    """What `backend` becomes here: "process", "thread" or "serial"."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "serial" or workers <= 1:
        return "serial"
    if backend in ("auto", "process") and fork_is_safe():
        return "process"
    return "thread"


def parallel_map(fn: Callable, items: Sequence, workers: int | None = None, desc: str = "",
                 progress: bool = True, backend: str = "auto",
                 initializer: Callable | None = None, initargs: tuple = (),
                 unit: str = "it", weight: Callable | None = None) -> list:
    """[fn(x) for x in items], in order, over `workers` (default: every core) with a progress bar.

    initializer(*initargs) runs once in each worker process (once here for threads and serial
    runs). weight(result) is how far one result moves the bar (default 1).
    """
    from tqdm.auto import tqdm

    workers = default_workers() if workers is None else max(1, int(workers))
    kind = pool_kind(backend, min(workers, len(items)))
    total = None if weight is not None else len(items)
    pool = None
    if kind == "process":
        import multiprocessing as mp
        # Created before the progress bar starts its monitor thread: the fork sees one thread.
        pool = mp.get_context("fork").Pool(workers, initializer=initializer, initargs=initargs)
    elif initializer is not None:
        initializer(*initargs)
    bar = tqdm(total=total, desc=desc, disable=not progress, unit=unit, leave=False)
    out = []
    try:
        if kind == "process":
            results = pool.imap(fn, items, chunksize=max(1, min(32, len(items) // (workers * 8))))
        elif kind == "thread":
            from concurrent.futures import ThreadPoolExecutor

            executor = ThreadPoolExecutor(workers)
            results = executor.map(fn, items)
        else:
            results = map(fn, items)
        for y in results:
            out.append(y)
            bar.update(weight(y) if weight is not None else 1)
        return out
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
        if kind == "thread":
            executor.shutdown(wait=True, cancel_futures=True)
