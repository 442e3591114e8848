"""Sampling a trained generator: labelled image-folder datasets on disk, and arrays for notebooks.

Noise is derived per class and per sample index from the seed, so sample `i` of class `c` is the
same image whatever the batch size, the number of images asked for, or the other classes chosen.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .config import DEFAULT_PRESET
from .errors import ClothganError
from .outdir import check_out_dir, commit_dir, staging_dir
from .runs import GENERATOR_FILE, RunInfo, generator_dir, load_generator

MANIFEST_FILE = "manifest.csv"
DATASET_FILE = "dataset.json"
MANIFEST_COLUMNS = ("file", "class", "label", "seed", "index", "checkpoint_sha256")
ENV_RUN = "CLOTHGAN_RUN"   # a run directory for notebook 07 to use instead of notebook 06's


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (the checkpoint digest recorded in every manifest row)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def class_noise(seed: int, label: int, n: int, latent_dim: int, start: int = 0) -> np.ndarray:
    """Noise rows start..start+n-1 of class `label`'s stream for `seed` (float32, N(0, 1))."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    rng = np.random.default_rng([seed, label])
    if start:
        rng.standard_normal((start, latent_dim), dtype=np.float32)   # advance the stream
    return rng.standard_normal((n, latent_dim), dtype=np.float32)


def check_truncation(value) -> float:
    """A valid noise scale as a float: > 0 and finite (1 = the noise the generator trained on)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ClothganError(f"truncation must be a number, got {value!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ClothganError(f"truncation must be > 0 (1 = unscaled noise, 0.5-0.8 = more typical "
                            f"images), got {value}")
    return value


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] floats -> uint8 pixels, the inverse of the preprocessing's x / 127.5 - 1."""
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _with_precision(model, policy: str):
    """A copy of a functional/sequential Keras model whose layers use dtype `policy`."""
    import keras

    config = model.get_config()
    serialized = keras.dtype_policies.serialize(keras.dtype_policies.get(policy))
    for layer in config.get("layers", []):
        if layer.get("class_name") != "InputLayer" and "dtype" in layer.get("config", {}):
            layer["config"]["dtype"] = serialized
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def model_precision(model) -> str:
    """The dtype policy a model's layers compute in: "float32", or the first mixed one found."""
    names = [layer.dtype_policy.name for layer in model.layers if hasattr(layer, "dtype_policy")]
    return next((n for n in names if n != "float32"), "float32")


class Sampler:
    """A loaded generator ready to sample: batched, compiled, and bf16 on CPUs built for it.

    precision: "float32", "mixed_bfloat16", or "auto" (bf16 on a CPU with native bf16 units and no
    GPU, kept only if a probe batch matches float32 within half a grey level on average and
    8 grey levels at most). A trained seed generator measured 0.17 levels on average, 2 at the
    99.9th percentile; the precision used is recorded with each dataset.
    """

    GREY = 2.0 / 255.0             # one 8-bit grey level in [-1, 1] units
    BF16_MEAN_TOLERANCE = 0.5 * GREY
    BF16_MAX_TOLERANCE = 8 * GREY

    def __init__(self, model, info: RunInfo, checkpoint_sha256: str = "", precision: str = "auto",
                 run_dir: str | os.PathLike | None = None, truncation: float | None = None):
        self.model = model
        self.info = info
        self.checkpoint_sha256 = checkpoint_sha256
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.truncation = check_truncation(info.truncation if truncation is None else truncation)
        self.precision, self._fn = self._compile(precision)

    @classmethod
    def load(cls, run_dir: str | os.PathLike, precision: str = "auto",
             which: str = "best", truncation: float | None = None) -> "Sampler":
        """The generator of a run directory (see clothgan.runs): its kept best one if it has
        one and `which` is "best", else the last epoch's. truncation: the noise scale; None
        takes the run's own (chosen on the validation split after training, else 1)."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise ClothganError(f"{run_dir}: no such run directory; train one with "
                                "`clothgan train --out DIR` or pass the folder that holds run.json")
        run_dir = generator_dir(run_dir, which)
        model, info = load_generator(run_dir)
        return cls(model, info, file_sha256(run_dir / GENERATOR_FILE), precision, run_dir, truncation)

    def with_truncation(self, truncation: float) -> "Sampler":
        """The same loaded generator sampling with another noise scale."""
        other = copy.copy(self)
        other.truncation = check_truncation(truncation)
        return other

    # -- properties of the run -------------------------------------------------------------------
    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.info.class_names)

    @property
    def latent_dim(self) -> int:
        return int(self.info.latent_dim)

    def label_of(self, cls: str | int) -> int:
        """Label index of a class name (or an index, checked)."""
        names = self.class_names
        if isinstance(cls, (int, np.integer)):
            if not 0 <= cls < len(names):
                raise ClothganError(f"class index {cls} out of range 0..{len(names) - 1}")
            return int(cls)
        if cls not in names:
            raise ClothganError(f"unknown class {cls!r}; this run knows: {', '.join(names)}")
        return names.index(cls)

    def labels_of(self, classes: Sequence[str | int] | None) -> list[int]:
        """Label indices of the chosen classes (all of the run's classes for None)."""
        if classes is None:
            return list(range(len(self.class_names)))
        if isinstance(classes, str):          # "pants,skirt" as on the command line
            classes = [c.strip() for c in classes.split(",") if c.strip()]
        labels = [self.label_of(c) for c in classes]
        if not labels:
            raise ClothganError("no classes chosen")
        return list(dict.fromkeys(labels))

    # -- sampling ---------------------------------------------------------------------------------
    def _compile(self, precision: str):
        import tensorflow as tf

        from .classifier import resolve_precision

        def compiled(model):
            spec = [tf.TensorSpec([None, self.latent_dim], tf.float32), tf.TensorSpec([None], tf.int32)]
            return tf.function(lambda z, y: tf.cast(model([z, y], training=False), tf.float32),
                               input_signature=spec)

        current = model_precision(self.model)
        wanted = resolve_precision(precision)
        try:
            base = self.model if current == "float32" else _with_precision(self.model, "float32")
        except Exception:  # cannot be rebuilt: sample in the precision it was saved with
            return current, compiled(self.model)
        fp32 = compiled(base)
        if wanted == "float32":
            return "float32", fp32
        try:
            fast = compiled(self.model if current == wanted else _with_precision(base, wanted))
            z = class_noise(0, 0, 64, self.latent_dim)
            y = np.arange(64, dtype=np.int32) % len(self.class_names)
            gap = np.abs(fast(z, y).numpy() - fp32(z, y).numpy())
        except Exception:  # a model that cannot be rebuilt in another precision keeps float32
            return "float32", fp32
        if precision == "auto" and (gap.mean() > self.BF16_MEAN_TOLERANCE
                                    or gap.max() > self.BF16_MAX_TOLERANCE):
            return "float32", fp32
        return wanted, fast

    def images(self, noise: np.ndarray, labels: np.ndarray | Sequence[int],
               batch_size: int = 1024) -> np.ndarray:
        """Generator output (N, H, W, C) float32 in [-1, 1] for noise rows and label indices."""
        noise = np.asarray(noise, np.float32)
        labels = np.asarray(labels, np.int32).reshape(-1)
        if noise.ndim != 2 or noise.shape[1] != self.latent_dim or len(noise) != len(labels):
            raise ValueError(f"need noise (N, {self.latent_dim}) and N labels, "
                             f"got {noise.shape} and {labels.shape}")
        if len(noise) == 0:
            return np.zeros((0, self.info.image_size, self.info.image_size, self.info.channels),
                            np.float32)
        out = [self.sample(noise[i:i + batch_size], labels[i:i + batch_size])
               for i in range(0, len(noise), batch_size)]
        return np.concatenate(out)

    def sample(self, noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One generator call on float32 noise and int32 labels, the noise scaled by truncation."""
        if self.truncation != 1.0:
            noise = noise * np.float32(self.truncation)
        return self._fn(noise, labels).numpy()

    def class_samples(self, cls: str | int, n: int, seed: int = 0, start: int = 0) -> np.ndarray:
        """Samples start..start+n-1 of one class: the very images `generate` writes for that seed."""
        label = self.label_of(cls)
        return self.images(class_noise(seed, label, n, self.latent_dim, start), np.full(n, label))

    def class_grid(self, per_class: int, seed: int = 0,
                   classes: Sequence[str | int] | None = None) -> np.ndarray:
        """(classes, per_class, H, W, C): each class's first samples for the seed."""
        return np.stack([self.class_samples(c, per_class, seed) for c in self.labels_of(classes)])

    def same_noise(self, n: int, seed: int = 0,
                   classes: Sequence[str | int] | None = None) -> np.ndarray:
        """(n, classes, H, W, C): n noise vectors, each rendered as every chosen class.

        What changes along a row is only the label: it shows what the label controls and what
        the noise controls (pose, brightness, size).
        """
        labels = self.labels_of(classes)
        z = np.random.default_rng([seed, 1_000_003]).standard_normal((n, self.latent_dim),
                                                                       dtype=np.float32)
        zz = np.repeat(z, len(labels), axis=0)
        yy = np.tile(np.array(labels, np.int32), n)
        flat = self.images(zz, yy)
        return flat.reshape(n, len(labels), *flat.shape[1:])

    def interpolate(self, cls: str | int, steps: int = 9, seed: int = 0, rows: int = 1,
                    spherical: bool = True) -> np.ndarray:
        """(rows, steps, H, W, C): walks between pairs of noise vectors with the class fixed.

        Spherical interpolation keeps the intermediate vectors at the norm that Gaussian noise
        has in high dimension; a straight line passes through low-norm points the generator
        rarely saw in training.
        """
        label = self.label_of(cls)
        ends = class_noise(seed, label, 2 * rows, self.latent_dim).reshape(rows, 2, -1)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
        path = np.stack([interpolate_noise(a, b, t, spherical) for a, b in ends])
        flat = self.images(path.reshape(rows * steps, -1), np.full(rows * steps, label))
        return flat.reshape(rows, steps, *flat.shape[1:])


def interpolate_noise(a: np.ndarray, b: np.ndarray, t: np.ndarray, spherical: bool = True) -> np.ndarray:
    """Points between noise vectors a and b at fractions t (slerp, or a straight line)."""
    t = np.asarray(t, np.float32)[:, None]
    if not spherical:
        return (1 - t) * a + t * b
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


# -- writing a dataset ---------------------------------------------------------------------------

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
                os.write(fd, data)
            finally:
                os.close(fd)
    finally:
        for fd in dir_fds.values():
            os.close(fd)


def file_name(seed: int, index: int) -> str:
    """Name of sample `index` for `seed`: unique across seeds, so datasets can be merged."""
    return f"s{seed}_{index:06d}.png"


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
             truncation: float | None = None) -> GenerationResult:
    """Write `per_class` generated images of each class as DIR/<class>/<name>.png + manifest.csv.

    Deterministic for a seed (and precision): sample i of class c always gets the same noise.
    Atomic: images go to a hidden temporary folder beside DIR that is renamed to DIR only when
    complete, so an interrupted or failed run leaves no partial dataset. `workers` threads encode
    and write PNGs while the next batch is generated (0: in the calling thread). `sampler` reuses
    an already loaded generator. which: "best" uses the run's kept best generator when it has
    one (RUN_DIR/best/), "last" the last epoch's. truncation: the noise scale (see
    Sampler.load); None keeps the run's own, or the given sampler's.
    """
    from tqdm.auto import tqdm

    if not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ClothganError(f"--per-class must be a positive integer, got {per_class}")
    if seed < 0:
        raise ClothganError(f"--seed must be >= 0, got {seed}")
    out_dir = Path(out_dir).expanduser().absolute()
    check_out_dir(out_dir, overwrite)
    sampler = sampler or Sampler.load(run_dir, precision, which)
    if truncation is not None:
        sampler = sampler.with_truncation(truncation)
    labels = sampler.labels_of(classes)
    names = sampler.class_names
    tmp = staging_dir(out_dir)
    t0 = time.perf_counter()
    try:
        for label in labels:
            (tmp / names[label]).mkdir()
        rows: list[tuple] = []
        total = per_class * len(labels)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
                tqdm(total=total, desc=f"generate {out_dir.name}", unit="img",
                     disable=not progress) as bar:
            pending = []
            for z, y, idx in noise_batches(labels, per_class, sampler.latent_dim, seed, batch_size):
                pixels = to_uint8(sampler.sample(z, y))
                rel = [f"{names[lab]}/{file_name(seed, i)}" for lab, i in zip(y, idx)]
                rows.extend((r, names[lab], int(lab), seed, int(i), sampler.checkpoint_sha256)
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
        with open(tmp / MANIFEST_FILE, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(MANIFEST_COLUMNS)
            writer.writerows(rows)
        (tmp / DATASET_FILE).write_text(json.dumps({
            "kind": "clothgan-generated",
            "run": str(sampler.run_dir.absolute()) if sampler.run_dir else None,
            "checkpoint_sha256": sampler.checkpoint_sha256,
            "seed": seed, "per_class": per_class, "classes": [names[lab] for lab in labels],
            "image_size": sampler.info.image_size, "channels": sampler.info.channels,
            "precision": sampler.precision, "truncation": sampler.truncation,
            "run_config": sampler.info.config,
        }, indent=2, default=str))
        commit_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return GenerationResult(out_dir, {names[lab]: per_class for lab in labels}, seed,
                            sampler.checkpoint_sha256, sampler.precision, time.perf_counter() - t0,
                            sampler.truncation)


def read_manifest(out_dir: str | os.PathLike) -> list[dict]:
    """Rows of DIR/manifest.csv as dicts (label, seed and index as ints)."""
    path = Path(out_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ClothganError(f"{path}: missing; not a dataset written by `clothgan generate`")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("label", "seed", "index"):
            r[k] = int(r[k])
    return rows


def find_run(run: str | os.PathLike | None = None) -> Path | None:
    """The run notebook 07 shows: `run`, else $CLOTHGAN_RUN, else notebook 06's run if finished."""
    from .notebook import notebook_run_dir

    for candidate in (run, os.environ.get(ENV_RUN) or None):
        if candidate:
            path = Path(candidate).expanduser()
            if not (path / GENERATOR_FILE).is_file():
                raise ClothganError(f"{path}: no {GENERATOR_FILE} there; pass a finished run "
                                    f"directory (set {ENV_RUN} or train one in notebook 06)")
            return path
    default = notebook_run_dir()
    return default if (default / GENERATOR_FILE).is_file() else None


#: The shipped generator notebooks show when the user has not trained one: the default preset's.
PRETRAINED_FALLBACK = DEFAULT_PRESET


def results_run(run: str | os.PathLike | None = None, train_if_missing: bool | None = None) -> Path:
    """The run notebooks 07 and 09 show: find_run's, else the generator shipped with clothgan
    for the default preset (clothgan.pretrained); with neither, fast mode trains a tiny one.

    train_if_missing defaults to fast mode: a one-epoch run on a few hundred images, enough to
    execute every cell (its samples are blobs). Full mode asks for notebook 06's run instead.
    """
    from .config import fast_mode
    from .notebook import notebook_run_dir
    from .pretrained import available, pretrained_dir

    found = find_run(run)
    if found is not None:
        return found
    if PRETRAINED_FALLBACK in available():
        return pretrained_dir(PRETRAINED_FALLBACK)
    out = notebook_run_dir()
    if not (fast_mode() if train_if_missing is None else train_if_missing):
        raise ClothganError(f"no trained generator found: run notebook 06 (it trains into {out}), "
                            f"or set {ENV_RUN} to a run directory made by `clothgan train`")
    from .training import train

    train(out, epochs=1, max_images=512, resume=(out / "checkpoint.npz").is_file(), verbose=False)
    return out
