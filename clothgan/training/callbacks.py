"""Keras callbacks that make a training run observable and safe to interrupt.

Order matters and clothgan.training sets it: NonFiniteGuard first (so nothing is saved from a
diverged state), then SampleGrid, RunRecorder (checkpoint, history, generator, run.json),
TensorBoardLogger and the progress bar.
"""
from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import keras
import numpy as np

from ..core.files import atomic_write
from ..runs import GENERATOR_FILE
from . import grids
from .checkpoint import CHECKPOINT_FILE, save_checkpoint

HISTORY_FILE = "history.csv"
SAMPLES_DIR = "samples"
PROGRESS_GIF = "progress.gif"
TENSORBOARD_DIR = "tensorboard"


def sample_path(run_dir: Path, epoch: int) -> Path:
    """The grid written after `epoch` completed epochs (0 = before training)."""
    return Path(run_dir) / SAMPLES_DIR / f"epoch_{epoch:04d}.png"


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first NaN/inf loss; `tripped` then says where."""

    def __init__(self, keys=("d_loss", "g_loss")):
        super().__init__()
        self.keys = keys
        self.tripped: dict | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: float(logs[k]) for k in self.keys
               if logs and k in logs and not math.isfinite(float(logs[k]))}
        if bad and self.tripped is None:
            self.tripped = {"epoch": self._epoch + 1, "step": batch + 1, "losses": bad}
            self.model.stop_training = True


class SimulatedInterrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (what Ctrl-C does) after `step` steps of epoch `epoch` (1-based)."""

    def __init__(self, epoch: int, step: int = 1):
        super().__init__()
        self.at = (epoch, step)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if (self._epoch, batch + 1) == self.at:
            raise KeyboardInterrupt(f"simulated Ctrl-C in epoch {self._epoch}, step {batch + 1}")


class SampleGrid(keras.callbacks.Callback):
    """Fixed-noise grid (a row per class) as samples/epoch_NNNN.png each epoch; a GIF at the end."""

    def __init__(self, run_dir, class_names, latent_dim: int, export_generator, per_class: int = 8,
                 seed: int = 0, every: int = 1, guard: NonFiniteGuard | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.export_generator = export_generator
        self.class_names = tuple(class_names)
        self.per_class = per_class
        self.every = every
        self.guard = guard
        self.noise, self.labels = grids.class_latent(latent_dim, len(self.class_names), per_class, seed)

    def write(self, epoch: int) -> Path:
        g = self.export_generator(self.model.generator)
        images = g([self.noise, self.labels], training=False)
        img = grids.grid_image(np.asarray(images, np.float32), self.class_names, self.per_class,
                               title=f"epoch {epoch}")
        return grids.save_png(img, sample_path(self.run_dir, epoch))

    def on_train_begin(self, logs=None):
        # Frame 0 shows the untrained generator; resumed runs already have theirs.
        if not sample_path(self.run_dir, 0).exists():
            self.write(0)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if self.guard and self.guard.tripped:
            return
        if done % self.every == 0 or done == self.params.get("epochs"):
            self.write(done)

    def on_train_end(self, logs=None):
        write_progress_gif(self.run_dir)


def write_progress_gif(run_dir, max_frames: int = 40) -> Path | None:
    """samples/progress.gif from the epoch grids so far: at most max_frames, evenly spaced,
    always the first and the last."""
    frames = sorted((Path(run_dir) / SAMPLES_DIR).glob("epoch_*.png"))
    if len(frames) > max_frames:
        keep = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))
        frames = [frames[i] for i in keep]
    return grids.save_gif(frames, Path(run_dir) / SAMPLES_DIR / PROGRESS_GIF)


def write_history_csv(path: Path, history: list[dict]) -> Path:
    """The loss history as CSV (epoch first), rewritten atomically from the full list."""
    keys = ["epoch"] + sorted({k for row in history for k in row if k != "epoch"})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    return atomic_write(Path(path), lambda tmp: Path(tmp).write_text(buf.getvalue()))


def read_history_csv(path) -> list[dict]:
    """history.csv as a list of {column: float} rows (epoch as int); columns a row lacks
    (validation scores exist every few epochs only) are left out of it."""
    with open(path, newline="") as f:
        return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
                for row in csv.DictReader(f)]


class CpuClock:
    """CPU seconds of a run (all threads): those of its earlier sessions (`spent`, from a resumed
    run's history) plus this process's since `start()` (called when training begins)."""

    def __init__(self, spent: float = 0.0):
        self.spent = spent
        self.start()

    def start(self) -> None:
        self.started = time.process_time()

    def seconds(self) -> float:
        return self.spent + time.process_time() - self.started


class RunRecorder(keras.callbacks.Callback):
    """At each epoch end: checkpoint, history.csv, generator.keras, run.json — in that order.

    The checkpoint is the source of truth (it carries the history); the rest is derived from it,
    so a process killed between two writes loses at most the epoch in progress.
    `export_generator` returns the sampling generator to save (float32, built once);
    `on_saved(epoch)` writes run.json. Each history row records `clock.seconds()` as
    cpu_seconds.
    """

    def __init__(self, run_dir, history: list[dict], export_generator, on_saved,
                 clock: CpuClock, guard: NonFiniteGuard | None = None,
                 extra_meta: dict | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.clock = clock
        self.history = history
        self.export_generator = export_generator
        self.on_saved = on_saved
        self.guard = guard
        self.extra_meta = extra_meta or {}

    def on_train_begin(self, logs=None):
        self.clock.start()

    def on_epoch_end(self, epoch, logs=None):
        if self.guard and self.guard.tripped:
            return
        done = epoch + 1
        row = {"epoch": done, **{k: float(v) for k, v in (logs or {}).items()},
               "cpu_seconds": round(self.clock.seconds(), 2)}
        self.history.append(row)
        save_checkpoint(self.run_dir / CHECKPOINT_FILE, self.model, done, self.history,
                        self.extra_meta)
        write_history_csv(self.run_dir / HISTORY_FILE, self.history)
        model = self.export_generator(self.model.generator)
        atomic_write(self.run_dir / GENERATOR_FILE, model.save)
        self.on_saved(done)


class CpuBudget(keras.callbacks.Callback):
    """Stop training before an epoch would take the run past `minutes` of CPU time.

    CPU time (all threads of this process) is what a shared or throttled machine still measures
    fairly; `clock` is the run's (RunRecorder records the same one), so earlier sessions of a
    resumed run count too.
    """

    def __init__(self, minutes: float, clock: CpuClock):
        super().__init__()
        if minutes <= 0:
            raise ValueError(f"the CPU budget must be > 0 minutes, got {minutes}")
        self.limit = 60.0 * minutes
        self.clock = clock
        self.exhausted = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self.clock.seconds()

    def on_epoch_end(self, epoch, logs=None):
        used = self.clock.seconds()
        if used + (used - self.epoch_start) > self.limit:   # the next epoch would not fit
            self.exhausted = True
            self.model.stop_training = True


class TensorBoardLogger(keras.callbacks.Callback):
    """Epoch losses and the sample grid as TensorBoard summaries under run_dir/tensorboard."""

    def __init__(self, run_dir, guard: NonFiniteGuard | None = None):
        super().__init__()
        import tensorflow as tf

        self._tf = tf
        self.run_dir = Path(run_dir)
        self.writer = tf.summary.create_file_writer(str(self.run_dir / TENSORBOARD_DIR))
        self.guard = guard

    def on_epoch_end(self, epoch, logs=None):
        if self.guard and self.guard.tripped:
            return
        tf, done = self._tf, epoch + 1
        with self.writer.as_default(step=done):
            for k, v in (logs or {}).items():
                tf.summary.scalar(k, float(v))
            grid = sample_path(self.run_dir, done)
            if grid.exists():
                from PIL import Image

                img = np.asarray(Image.open(grid).convert("RGB"))[None]
                tf.summary.image("samples", img)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar (terminal or notebook) over all steps of the run, with the latest losses."""

    def __init__(self, epochs: int, steps_per_epoch: int, initial_epoch: int = 0,
                 every: int = 5, disable: bool = False):
        super().__init__()
        self.epochs, self.steps, self.initial = epochs, steps_per_epoch, initial_epoch
        self.every = every
        self.disable = disable
        self.bar = None
        self._last = 0

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs * self.steps, initial=self.initial * self.steps,
                        unit="step", dynamic_ncols=True, disable=self.disable)

    def on_epoch_begin(self, epoch, logs=None):
        self._last = 0
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        self.bar.update(done - self._last)
        self._last = done
        if logs and done % self.every == 0:
            self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in logs.items()}, refresh=False)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
