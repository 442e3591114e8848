"""Process pools with a progress bar, safe under Jupyter and with TensorFlow already loaded."""
from __future__ import annotations

import multiprocessing as mp
import os
from typing import Callable, Sequence


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _context():
    # forkserver/spawn, never fork: forking a process that runs TensorFlow's or OpenCV's
    # threads can deadlock the child.
    methods = mp.get_all_start_methods()
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def parallel_map(fn: Callable, items: Sequence, workers: int | None = None, desc: str = "",
                 progress: bool = True, initializer: Callable | None = None,
                 initargs: tuple = (), chunksize: int | None = None) -> list:
    """[fn(x) for x in items] over worker processes (in order), with a tqdm progress bar.

    workers=1 runs in this process (after calling initializer here), which is also what a
    single item does; fn and initializer must be importable module-level functions.
    """
    from tqdm.auto import tqdm

    workers = default_workers() if workers is None else max(1, int(workers))
    bar = tqdm(total=len(items), desc=desc, disable=not progress, unit="it", smoothing=0.1)
    try:
        if workers == 1 or len(items) <= 1:
            if initializer is not None:
                initializer(*initargs)
            out = []
            for x in items:
                out.append(fn(x))
                bar.update()
            return out
        chunksize = chunksize or max(1, min(32, len(items) // (workers * 8)))
        with _context().Pool(workers, initializer=initializer, initargs=initargs) as pool:
            out = []
            for y in pool.imap(fn, items, chunksize=chunksize):
                out.append(y)
                bar.update()
            return out
    finally:
        bar.close()

