"""Train a conditional GAN into a self-describing, resumable run directory.

    from clothgan import train
    result = train("runs/default")                 # what `clothgan train --out runs/default` trains
    result = train("runs/default", resume=True)    # continue after an interruption

The run directory holds run.json and generator.keras (the contract in clothgan.runs), plus
checkpoint.npz, history.csv, samples/epoch_NNNN.png, samples/progress.gif and tensorboard/.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config import (DataConfig, GANConfig, TrainConfig, check_bool, check_float, check_int,
                      resolve_configs)
from ..core.hardware import resolve_precision
from ..errors import ClothganError, ConfigError
from ..core.files import output_lock, writable_dir
from ..runs import (RUN_FILE, RunInfo, TrainingLock, code_version, model_record, read_run_info,
                    resume_conflicts, run_configs, write_run_info)
from .batches import epoch_batches
from .callbacks import (HISTORY_FILE, CpuBudget, CpuClock, NonFiniteGuard, ProgressBar,
                        RunRecorder, SampleGrid, TensorBoardLogger, write_history_csv)
from .checkpoint import CHECKPOINT_FILE, load_checkpoint, read_checkpoint_meta
from .strategy import resolve_strategy, worker_run_dir, writer_lock_target


class TrainingDiverged(ClothganError):
    """Losses became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    run_dir: Path
    epochs_done: int
    history: list[dict]
    gan: object = field(repr=False)          # the ConditionalGAN, for notebooks
    policy: str = "float32"
    replicas: int = 1
    truncation: float | None = None   # the kept generator's noise scale, when one was chosen


# -- the run ----------------------------------------------------------------------------------------
class _Exporter:
    """The float32 sampling generator saved as generator.keras, refreshed from the trained one.

    With `gan` given, its generator is exported with `gan.sampling_weights()` (the EMA weights
    when the preset keeps a moving average).
    """

    def __init__(self, cfg: GANConfig, gan=None):
        from ..gan import build_generator

        self.model = build_generator(cfg, "float32", fast_output_conv=False)
        self.gan = gan

    def __call__(self, generator):
        if self.gan is not None and generator is self.gan.generator:
            self.model.set_weights(self.gan.sampling_weights())
        else:
            self.model.set_weights(generator.get_weights())
        return self.model


def build_gan(model: GANConfig, training: TrainConfig, policy: str):
    """The run's ConditionalGAN with both optimizers, compiled (call inside the strategy scope)."""
    from ..gan import ConditionalGAN, adam, build_discriminator, build_generator

    gan = ConditionalGAN.from_config_objects(build_generator(model, policy),
                                             build_discriminator(model, policy), training, model)
    d_opt = adam(training.discriminator_lr, training.beta_1, training.beta_2, policy)
    g_opt = adam(training.lr, training.beta_1, training.beta_2, policy)
    gan.compile(d_opt, g_opt, jit_compile=training.jit_compile,
                steps_per_execution=training.steps_per_execution)
    return gan


def _configs_for_resume(out: Path, data, model, training):
    """The run's own configs; given ones must equal them (training may change its epochs)."""
    s_data, s_model, s_train = run_configs(out)
    given = {}
    if data is not None:
        given |= {("data", k): v for k, v in data.to_dict().items()}
    if model is not None:
        given |= {("model", k): v for k, v in model.for_data(data or s_data).to_dict().items()}
    if training is not None:
        given |= {("training", k): v for k, v in training.to_dict().items() if k != "epochs"}
    changes = resume_conflicts(out, given)
    if changes:
        raise ClothganError(f"{out}: --resume continues the run with its own settings, and these "
                            f"differ: {'; '.join(changes)}. Drop them, or start a new run with "
                            "another --out")
    return s_data, s_model, s_train, read_run_info(out).config


def _check_arguments(data, model, training, **values) -> None:
    """Every argument of train() checked before anything is read or built."""
    for value, kind in ((data, DataConfig), (model, GANConfig), (training, TrainConfig)):
        if value is not None and not isinstance(value, kind):
            raise ConfigError(f"expected a {kind.__name__} or None, got {value!r}")
    check_bool("resume", values["resume"])
    check_int("per_class", values["per_class"], 1)
    for name in ("epochs", "max_images"):
        if values[name] is not None:
            check_int(name, values[name], 1)
    if values["fraction"] is not None:
        check_float("fraction", values["fraction"], 0, 1, low_open=True)
    if values["cpu_minutes"] is not None:
        check_float("cpu_minutes", values["cpu_minutes"], 0, low_open=True)


def _check_out_outside(out: Path, data: DataConfig) -> None:
    """Refuse a run folder that is, holds or lies inside the photos it trains on: its samples
    and checkpoints would be read back as photos."""
    from ..data.source import resolve_dataset

    try:
        root = resolve_dataset(data.dataset, download=False)
    except ClothganError:
        return    # not there yet: the download lands in the cache, never in a run folder
    root = Path(os.path.realpath(root.parent if root.is_file() else root))
    real = Path(os.path.realpath(out.expanduser()))
    if real == root or root in real.parents or real in root.parents:
        raise ClothganError(f"{out}: the run folder {'lies inside' if root in real.parents else 'is or holds'} "
                            f"the dataset {root}; choose an --out outside it")


def train(out: str | os.PathLike, data: DataConfig | None = None, model: GANConfig | None = None,
          training: TrainConfig | None = None, *, resume: bool = False,
          epochs: int | None = None, max_images: int | None = None,
          fraction: float | None = None, callbacks=(),
          progress: bool = True, cpu_minutes: float | None = None,
          verbose: bool = True, per_class: int = 8, extra=None) -> TrainResult:
    """Train (or with resume=True continue) a conditional GAN into the run directory `out`.

    data: which images (default DataConfig()); model and training: the recipe (default the
    default preset's, as on the command line; clothgan.config.resolve_configs). epochs: overrides training.epochs (also when resuming, to extend
    a run). fraction: train on that share of each class's training photos (seeded by
    training.seed); max_images: on at most that many (quick trials); the photos used are
    listed in RUN_DIR/train_images.json. cpu_minutes: also
    stop before an epoch would take the run's CPU time (history's cpu_seconds) past this.
    Resuming restores weights, optimizer state, RNG state and epoch numbering from
    checkpoint.npz and runs to the planned epochs (or `training.epochs` when given).
    extra: (x in [-1, 1], class ids) trained on beside the photos (e.g. cut-and-paste images of
    the same photos' garments); not listed in train_images.txt; pass them again to resume.
    Raises TrainingDiverged on NaN/inf losses, keeping the last good checkpoint.
    """
    _check_arguments(data, model, training, resume=resume, epochs=epochs, max_images=max_images,
                     fraction=fraction, cpu_minutes=cpu_minutes, per_class=per_class)
    out = Path(out)
    with output_lock(writer_lock_target(out)):   # one training process per run directory
        return _train(out, data, model, training, resume, epochs, max_images, fraction,
                      callbacks, progress, cpu_minutes, verbose, per_class, extra)


def _train(out: Path, data, model, training, resume, epochs, max_images, fraction, callbacks,
           progress, cpu_minutes, verbose, per_class, extra=None) -> TrainResult:
    """`train` once the run directory is locked: its phases."""
    plan = plan_run(out, data, model, training, resume, epochs, max_images, fraction)
    photos = load_photos(plan, progress, extra)
    run = build_run(plan, photos, cpu_minutes is not None)
    result = TrainResult(run.out, run.initial_epoch, run.history, run.gan, run.policy, run.replicas)
    training = plan.training
    if run.initial_epoch >= training.epochs:
        if verbose:
            print(f"{run.out}: already trained for {run.initial_epoch} epochs (planned "
                  f"{training.epochs})")
        return result
    if verbose:
        real = training.real_per_step
        print(f"clothgan train: {plan.model.preset} preset, {len(photos.x)} images, {run.steps} "
              f"steps/epoch of {real} real + {real * training.fake_per_real} generated, "
              f"{training.schedule} schedule, {run.policy}, {run.replicas} replica(s), epochs "
              f"{run.initial_epoch + 1}-{training.epochs} -> {run.out}")
    cbs = make_callbacks(plan, photos, run, cpu_minutes, per_class, progress, verbose)
    if cbs is None:
        return result
    lock = TrainingLock(run.out)   # `generate` says so when it samples a run still training
    try:
        fit(plan, photos, run, [*cbs.all, *callbacks], cbs.bar)
        finish(plan, run, cbs, result, cpu_minutes, progress, verbose)
    finally:
        lock.release()
    return result


@dataclass(frozen=True)
class RunPlan:
    """What a run trains, settled before anything is read: its configs (the run's own when
    resuming) and the photo selection recorded beside them."""

    out: Path
    data: DataConfig
    model: GANConfig
    training: TrainConfig
    resume: bool
    max_images: int | None
    fraction: float | None

    @property
    def checkpoint(self) -> Path:
        return self.out / CHECKPOINT_FILE


def plan_run(out: Path, data, model, training, resume: bool, epochs, max_images,
             fraction) -> RunPlan:
    """Phase 1: the run's configs, checked against what `out` already holds."""
    ckpt = out / CHECKPOINT_FILE
    if resume:
        if not ckpt.is_file() or not (out / RUN_FILE).is_file():
            raise ClothganError(f"{out}: nothing to resume (no {CHECKPOINT_FILE}: no epoch has "
                                "finished); drop --resume to start a new run")
        data, model, training, stored = _configs_for_resume(out, data, model, training)
        max_images, fraction = stored.get("max_images"), stored.get("fraction")
    elif ckpt.is_file():
        done = read_checkpoint_meta(ckpt).get("epoch", "?")
        raise ClothganError(f"{out}: already holds a run ({done} epochs done); continue it with "
                            "--resume, or pick a new --out")
    data, model, training = resolve_configs(data, model, training, epochs)
    _check_out_outside(out, data)
    writable_dir(out)
    return RunPlan(out, data, model, training, resume, max_images, fraction)


@dataclass
class Photos:
    """The training photos as arrays, and every split (the keeper scores on the held-out ones)."""

    splits: dict
    root: Path
    x: object
    y: object
    class_names: tuple[str, ...]
    paths: list                # the photos' files; extra images have none
    extra: int = 0             # images trained on beside the photos (train's `extra`)


def load_photos(plan: RunPlan, progress: bool, extra=None) -> Photos:
    """Phase 2: the photos the run trains on (a resumed run reads its own list back), then
    `extra`, (x, class ids), after them."""
    from ..data.photos import empty_classes, training_splits

    data, training = plan.data, plan.training
    splits, root = training_splits(data, plan.out, fraction=plan.fraction,
                                   max_images=plan.max_images, seed=training.seed,
                                   heldout=training.keep_best != "none", resume=plan.resume,
                                   progress=progress)
    arrays = splits["train"]
    missing = empty_classes(arrays)
    if missing:
        raise ClothganError(f"{data.dataset}: no training images of {', '.join(missing)}; train "
                            f"on the classes it has with --classes "
                            f"{','.join(c for c in data.classes if c not in missing)}")
    real = training.real_per_step
    if len(arrays.x) < real:
        raise ClothganError(f"{data.dataset}: only {len(arrays.x)} training images, fewer than one "
                            f"step's {real} real images; lower --batch-size (now "
                            f"{training.batch_size})")
    x, y = arrays.x, arrays.y
    if extra is not None:
        import numpy as np

        x = np.concatenate([x, np.asarray(extra[0], x.dtype).reshape((-1,) + x.shape[1:])])
        y = np.concatenate([y, np.asarray(extra[1], y.dtype)])
    return Photos(splits, root, x, y, tuple(arrays.class_names), arrays.paths,
                  0 if extra is None else int(len(extra[1])))


@dataclass
class BuiltRun:
    """The run as built: where it writes, how it computes, the GAN and the state it resumes."""

    out: Path
    policy: str
    replicas: int
    chief: bool
    gan: object
    steps: int
    initial_epoch: int
    history: list[dict]
    config: dict
    class_names: tuple[str, ...]
    model: GANConfig

    def info(self, epochs_done: int) -> RunInfo:
        return RunInfo(class_names=self.class_names, image_size=self.model.image_size,
                       channels=self.model.channels, latent_dim=self.model.latent_dim,
                       preset=self.model.preset, config=self.config, epochs_done=epochs_done)

    def save_info(self, epochs_done: int):
        write_run_info(self.out, self.info(epochs_done))


def build_run(plan: RunPlan, photos: Photos, budgeted: bool) -> BuiltRun:
    """Phase 3: strategy and precision, the worker's run directory, the compiled GAN (its
    checkpointed state when resuming) and run.json."""
    import keras
    import tensorflow as tf

    from ..data.photos import write_train_images

    model, training = plan.model, plan.training
    real = training.real_per_step
    strategy = resolve_strategy(training.strategy)
    policy = resolve_precision(training.precision, strategy)
    replicas = strategy.num_replicas_in_sync
    if budgeted and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ClothganError("--cpu-minutes: each worker of a cluster has its own CPU clock, so "
                            "they would stop at different epochs; use --epochs instead")
    out = worker_run_dir(plan.out, strategy)   # only written from here on
    write_train_images(out, photos.root, photos.paths)
    if real % replicas:
        raise ClothganError(f"--batch-size {training.batch_size}: its {real} real images per step "
                            f"do not split over {replicas} replicas; use a multiple of {2 * replicas}")
    check_memory(model, training, policy)
    keras.utils.set_random_seed(training.seed)
    with out_of_memory_is_an_error(model, training), strategy.scope():
        gan = build_gan(model, training, policy)
    history: list[dict] = []
    initial_epoch = 0
    if plan.resume:
        meta = load_checkpoint(plan.checkpoint, gan)
        initial_epoch, history = int(meta["epoch"]), list(meta["history"])
        write_history_csv(out / HISTORY_FILE, history)   # drop rows of an epoch that was lost
    config = {"data": plan.data.to_dict(), "model": model_record(model),
              "training": training.to_dict(), "max_images": plan.max_images,
              "fraction": plan.fraction, "policy": policy, "replicas": replicas,
              "train_images": int(len(photos.x)), "extra_images": photos.extra,
              "code": code_version()}
    run = BuiltRun(out, policy, replicas, strategy.extended.should_checkpoint, gan,
                   len(photos.x) * training.repeat // real, initial_epoch, history, config,
                   photos.class_names, model)
    run.save_info(initial_epoch)
    return run


@dataclass
class Callbacks:
    """The run's callbacks, in the order they must run, and those `finish` asks about."""

    all: list
    bar: ProgressBar
    guard: NonFiniteGuard
    budget: CpuBudget | None
    keeper: object | None          # selection.BestKeeper, when the run keeps its best generator
    scorer: object | None          # ... and the ValidationScorer it scores with


def make_callbacks(plan: RunPlan, photos: Photos, run: BuiltRun, cpu_minutes: float | None,
                   per_class: int, progress: bool, verbose: bool) -> Callbacks | None:
    """Phase 4: the callbacks; None when the CPU budget is already spent (nothing to train)."""
    model, training, out = plan.model, plan.training, run.out
    clock = CpuClock(run.history[-1].get("cpu_seconds", 0.0) if run.history else 0.0)
    budget = None
    if cpu_minutes is not None:
        budget = CpuBudget(cpu_minutes, clock)
        if clock.spent >= budget.limit:   # checked before the keeper loads or trains its judge
            if verbose:
                print(f"{out}: its {clock.spent / 60:.1f} CPU-minutes already use the "
                      f"{cpu_minutes:g}-minute budget; nothing to train")
            return None
    exporter = _Exporter(model, run.gan)
    guard = NonFiniteGuard()
    keeper = scorer = None
    if training.keep_best != "none" and run.chief:   # scoring runs no collectives: the chief's alone
        from .selection import BestKeeper, ValidationScorer

        scorer = ValidationScorer(plan.data, model.latent_dim, real=photos.splits,
                                  seed=training.seed, progress=progress)
        keeper = BestKeeper(out, scorer, exporter, run.info, training.keep_best,
                            training.eval_every, training.epochs, guard=guard)
    bar = ProgressBar(training.epochs, run.steps, run.initial_epoch, disable=not progress)
    # The budget first: the keeper scores the epoch it stops at. The keeper before RunRecorder:
    # its scores go into the history row.
    cbs = [guard, *([budget] if budget else []),
           SampleGrid(out, run.class_names, model.latent_dim, exporter, per_class=per_class,
                      seed=training.seed, every=training.sample_every, guard=guard),
           *([keeper] if keeper else []),
           RunRecorder(out, run.history, exporter, run.save_info, clock, guard=guard,
                       extra_meta={"planned_epochs": training.epochs}),
           TensorBoardLogger(out, guard=guard), bar]
    return Callbacks(cbs, bar, guard, budget, keeper, scorer)


def fit(plan: RunPlan, photos: Photos, run: BuiltRun, cbs: list, bar: ProgressBar) -> None:
    """Phase 5: the epochs, from the run's first unfinished one."""
    training = plan.training
    ds = epoch_batches(photos.x, photos.y, training.real_per_step, training.seed,
                       run.initial_epoch, training.epochs, training.mirror, training.repeat)
    with out_of_memory_is_an_error(plan.model, training):
        _fit(run.gan, ds, training, run.initial_epoch, run.steps, cbs, bar, run.history, run.out)


def finish(plan: RunPlan, run: BuiltRun, cbs: Callbacks, result: TrainResult,
           cpu_minutes: float | None, progress: bool, verbose: bool) -> None:
    """Phase 6: why training stopped, divergence as an error, the kept generator's noise scale."""
    training, out = plan.training, run.out
    result.epochs_done = run.history[-1]["epoch"] if run.history else run.initial_epoch
    if cbs.budget and cbs.budget.exhausted and verbose:
        print(f"clothgan train: stopped after epoch {result.epochs_done} of {training.epochs}: "
              f"the next would pass the {cpu_minutes:g} CPU-minute budget")
    if cbs.guard.tripped:
        t = cbs.guard.tripped
        losses = ", ".join(f"{k}={v}" for k, v in t["losses"].items())
        kept = (f"{out / CHECKPOINT_FILE} keeps the last good state (epoch {result.epochs_done})"
                if plan.checkpoint.is_file() else "no epoch had finished, so nothing was kept")
        raise TrainingDiverged(
            f"training diverged: {losses} at epoch {t['epoch']}, step {t['step']}; {kept}. "
            f"Start a new run (another --out) with a lower --lr or --precision float32")
    if plan.model.tune_truncation and cbs.keeper and cbs.keeper.best is not None:
        from .selection import tune_truncation

        result.truncation = tune_truncation(out, cbs.scorer, progress=progress,
                                            metric=training.keep_best)
        if verbose:
            print(f"clothgan train: sampling noise scale (truncation) {result.truncation:g}, "
                  f"chosen on the validation split; override with `generate --truncation`")


def check_memory(model: GANConfig, training: TrainConfig, policy: str) -> None:
    """Refuse, before building anything, networks whose training would not fit in memory."""
    from ..core.hardware import available_memory
    from ..gan.networks import training_memory

    need = training_memory(model, training.real_per_step + training.fake_per_step,
                           4 if policy == "float32" else 2)
    have = available_memory()
    if have is not None and need > 0.9 * have:
        raise ClothganError(f"training {model.image_size}x{model.image_size}x{model.channels} "
                            f"networks of width {model.g_filters}/{model.d_filters} at batch "
                            f"{training.batch_size} needs about {need / 2**30:.0f} GiB of memory "
                            f"and {have / 2**30:.0f} GiB is available; use a smaller --image-size, "
                            "--batch-size or --g-filters/--d-filters")


@contextmanager
def out_of_memory_is_an_error(model: GANConfig, training: TrainConfig):
    """Running out of memory while building or training becomes one ClothganError with the fix."""
    import tensorflow as tf

    try:
        yield
    except (tf.errors.ResourceExhaustedError, MemoryError):
        raise ClothganError(f"out of memory for {model.image_size}x{model.image_size}x"
                            f"{model.channels} networks of width {model.g_filters}/"
                            f"{model.d_filters} at batch {training.batch_size}; use a smaller "
                            "--image-size, --batch-size or --g-filters/--d-filters") from None


def _fit(gan, ds, training: TrainConfig, initial_epoch: int, steps: int, cbs, bar, history, out):
    """gan.fit, saying on Ctrl-C what was kept and how to go on."""
    try:
        gan.fit(ds, epochs=training.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                callbacks=cbs, verbose=0, shuffle=False)
    except KeyboardInterrupt:
        if bar.bar is not None:
            bar.bar.close()
        done = history[-1]["epoch"] if history else initial_epoch
        if done:
            print(f"\nclothgan train: interrupted; {out} keeps the checkpoint of epoch {done}. "
                  f"Continue with: clothgan train --out {out} --resume")
        else:
            print("\nclothgan train: interrupted before the first epoch finished; nothing was "
                  "kept. Start again with the same command (without --resume)")
        raise
