"""Writing a labelled synthetic dataset from a trained run (the folder of clothgan.labelled),
all-or-nothing (built in a hidden folder, renamed into place when complete).
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..config import check_bool, check_int, check_seed, check_truncation
from ..core.cache import cache_root
from ..core.files import check_out_dir, output_lock, staged_dir
from ..core.pixels import to_uint8
from ..labelled import (MANIFEST_FILE, image_file, is_labelled_dataset, manifest_row,
                        write_labelled_files)
from ..runs import training_pid
from .sampler import Sampler


def is_generated_dataset(folder: Path) -> bool:
    """Whether `folder` holds a dataset written by `generate` (what --overwrite may replace)."""
    return is_labelled_dataset(folder, "gan")


@dataclass(frozen=True)
class GenerationResult:
    """What `generate` wrote."""

    out_dir: Path
    counts: dict[str, int]
    seed: int
    checkpoint_sha256: str
    precision: str
    seconds: float
    truncation: float = 1.0
    manifest: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifest", self.out_dir / MANIFEST_FILE)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def images_per_second(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else float("inf")


def _encode_png(pixels: np.ndarray) -> bytes:
    import cv2

    if pixels.shape[-1] == 3:
        pixels = pixels[..., ::-1]          # OpenCV writes BGR
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(pixels.squeeze(-1) if pixels.shape[-1] == 1
                                                        else pixels))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def _write_pngs(paths: list[Path], pixels: np.ndarray) -> None:
    """Encode and write PNGs; files are opened relative to their folder's descriptor where the
    OS allows it, which skips resolving the full path for every small file."""
    dir_fds: dict[Path, int] = {}
    try:
        for path, img in zip(paths, pixels):
            data = _encode_png(img)
            if os.open in os.supports_dir_fd:
                if path.parent not in dir_fds:
                    dir_fds[path.parent] = os.open(path.parent, os.O_RDONLY)
                fd = os.open(path.name, _WRITE_FLAGS, 0o644, dir_fd=dir_fds[path.parent])
            else:
                fd = os.open(path, _WRITE_FLAGS, 0o644)
            try:
                view = memoryview(data)
                while view:   # a nearly full disk can take part of a write without an error
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
    finally:
        for fd in dir_fds.values():
            os.close(fd)


def noise_batches(labels: list[int], per_class: int, latent_dim: int, seed: int,
          batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(noise, labels, indices) batches over all classes; each class's noise drawn as one stream."""
    zs, ys, idx, filled = [], [], [], 0
    for label in labels:
        rng = np.random.default_rng([seed, label])
        done = 0
        while done < per_class:
            n = min(per_class - done, batch_size - filled)
            zs.append(rng.standard_normal((n, latent_dim), dtype=np.float32))
            ys.append(np.full(n, label, np.int32))
            idx.append(np.arange(done, done + n))
            done, filled = done + n, filled + n
            if filled == batch_size:
                yield np.concatenate(zs), np.concatenate(ys), np.concatenate(idx)
                zs, ys, idx, filled = [], [], [], 0
    if filled:
        yield np.concatenate(zs), np.concatenate(ys), np.concatenate(idx)


def generate(run_dir: str | os.PathLike, per_class: int, out_dir: str | os.PathLike, seed: int = 0,
             classes: Sequence[str] | None = None, overwrite: bool = False, batch_size: int = 1024,
             workers: int = 2, precision: str = "auto", progress: bool = True,
             sampler: Sampler | None = None, which: str = "best",
             truncation: float | None = None, card_numbers: dict | None = None) -> GenerationResult:
    """Write `per_class` generated images of each class as DIR/<class>/<name>.png + manifest.csv.

    Deterministic for a seed (and precision): sample i of class c always gets the same noise.
    Atomic: images go to a hidden temporary folder beside DIR that is renamed to DIR only when
    complete, so an interrupted or failed run leaves no partial dataset. `workers` threads encode
    and write PNGs while the next batch is generated (0: in the calling thread). `sampler` reuses
    an already loaded generator. which: "best" uses the run's kept best generator when it has
    one (RUN_DIR/best/), "last" the last epoch's. truncation: the noise scale (see
    Sampler.load); None keeps the run's own, or the given sampler's. Beside the images go
    metadata.jsonl and a dataset card (README.md; `card_numbers` adds measured results to it).
    """
    per_class, seed = check_int("per_class", per_class, 1), check_seed("seed", seed)
    batch_size, workers = check_int("batch_size", batch_size, 1), check_int("workers", workers, 0)
    overwrite, progress = check_bool("overwrite", overwrite), check_bool("progress", progress)
    if truncation is not None:
        truncation = check_truncation(truncation)
    given = (run_dir, sampler.run_dir if sampler else None, cache_root())
    out_dir = check_out_dir(out_dir, overwrite, inputs=given, is_output=is_generated_dataset)
    with output_lock(out_dir):   # a second writer of the same folder is refused now, not at the end
        return _generate(run_dir, per_class, out_dir, seed, classes, overwrite, batch_size, workers,
                         precision, progress, sampler, which, truncation, card_numbers)


def _generate(run_dir, per_class, out_dir, seed, classes, overwrite, batch_size, workers,
              precision, progress, sampler, which, truncation, card_numbers) -> GenerationResult:
    """`generate` once the output folder is checked and locked."""
    sampler, still_training = _load_sampler(run_dir, sampler, precision, which, truncation,
                                            progress)
    labels = sampler.labels_of(classes)
    names = sampler.class_names
    t0 = time.perf_counter()
    with staged_dir(out_dir, overwrite, is_generated_dataset) as tmp:
        rows = write_images(tmp, sampler, labels, per_class, seed, batch_size, workers,
                            f"generate {out_dir.name}", progress)
        _write_dataset_files(tmp, out_dir.name, sampler, rows, labels, per_class, seed,
                             bool(still_training), card_numbers)
    return GenerationResult(out_dir, {names[lab]: per_class for lab in labels}, seed,
                            sampler.checkpoint_sha256, sampler.precision, time.perf_counter() - t0,
                            sampler.truncation)


def _load_sampler(run_dir, sampler: Sampler | None, precision: str, which: str,
                  truncation: float | None, progress: bool) -> tuple[Sampler, int | None]:
    """The sampler to write from (at the noise scale asked for), and the pid still training
    into the run, if any (said on stderr)."""
    sampler = sampler or Sampler.load(run_dir, precision, which)
    still_training = training_pid(run_dir) if run_dir is not None else None
    if still_training and progress:
        print(f"clothgan generate: {run_dir} is still training (process {still_training}); "
              f"writing from its generator of epoch {sampler.info.epochs_done}", file=sys.stderr)
    if truncation is not None:
        sampler = sampler.with_truncation(truncation)
    return sampler, still_training


def write_images(tmp: Path, sampler: Sampler, labels: list[int], per_class: int, seed: int,
                 batch_size: int, workers: int, desc: str, progress: bool) -> list[dict]:
    """Every image into tmp/<class>/, and its manifest row. `workers` threads encode and write
    PNGs while the next batch is generated (0: in the calling thread)."""
    from tqdm.auto import tqdm

    names = sampler.class_names
    for label in labels:
        (tmp / names[label]).mkdir()
    rows: list[dict] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
            tqdm(total=per_class * len(labels), desc=desc, unit="img", disable=not progress) as bar:
        pending = []
        for z, y, idx in noise_batches(labels, per_class, sampler.latent_dim, seed, batch_size):
            pixels = to_uint8(sampler.sample(z, y))
            rel = [image_file("gan", names[lab], seed, i) for lab, i in zip(y, idx)]
            rows.extend(manifest_row(r, names[lab], lab, "gan", seed, i,
                                     checkpoint_sha256=sampler.checkpoint_sha256)
                        for r, lab, i in zip(rel, y, idx))
            if workers == 0:
                _write_pngs([tmp / r for r in rel], pixels)
                bar.update(len(rel))
                continue
            # Encoding and writing overlap the next batch's inference (TF releases the GIL).
            step = -(-len(rel) // max(1, workers))
            for s in range(0, len(rel), step):
                pending.append((pool.submit(_write_pngs, [tmp / r for r in rel[s:s + step]],
                                            pixels[s:s + step]), len(rel[s:s + step])))
            while len(pending) > 2 * max(1, workers):
                fut, n = pending.pop(0)
                fut.result()
                bar.update(n)
        for fut, n in pending:
            fut.result()
            bar.update(n)
    return rows


def _write_dataset_files(tmp: Path, name: str, sampler: Sampler, rows: list[dict],
                         labels: list[int], per_class: int, seed: int, still_training: bool,
                         card_numbers: dict | None) -> None:
    """manifest.csv, metadata.jsonl, the card and dataset.json (clothgan.labelled)."""
    info, names = sampler.info, sampler.class_names
    write_labelled_files(
        tmp, name, "gan", rows, title="clothing images from a conditional GAN",
        made_by="Written by `clothgan generate` from a generator trained by `clothgan train`.",
        provenance={"run": sampler.run_dir, "generator SHA-256": sampler.checkpoint_sha256,
                    "epochs trained": info.epochs_done, "preset": info.preset, "seed": seed,
                    "noise scale": sampler.truncation, "precision": sampler.precision,
                    "trained on": (info.config.get("data") or {}).get("dataset")},
        image_size=info.image_size, channels=info.channels, numbers=card_numbers, meta={
            "run": str(sampler.run_dir.absolute()) if sampler.run_dir else None,
            "checkpoint_sha256": sampler.checkpoint_sha256,
            "seed": seed, "per_class": per_class, "classes": [names[lab] for lab in labels],
            "image_size": info.image_size, "channels": info.channels,
            "precision": sampler.precision, "truncation": sampler.truncation,
            "epochs_done": info.epochs_done, "training_in_progress": still_training,
            "run_config": info.config})
