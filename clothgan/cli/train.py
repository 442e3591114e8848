"""`clothgan train`: train a conditional GAN into a resumable, self-describing run directory."""
from __future__ import annotations

import argparse

from ..config import (DEFAULT_PRESET, KEEP_BEST, PRESET_ALIASES, PRESETS, SCHEDULE_ALIASES,
                      SCHEDULES, STRATEGIES, preset, preset_name)
from .common import add_precision, fraction, names, positive_float, positive_int, seed

_, _DEFAULT = preset(DEFAULT_PRESET)


#: The command imports TensorFlow: clothgan.cli.main imports it first, quietly.
NEEDS_TENSORFLOW = True

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="run directory: checkpoint, samples, history, generator.keras, run.json")
    parser.add_argument("--preset", choices=(*PRESETS, *PRESET_ALIASES), default=None,
                        metavar="{" + ",".join(PRESETS) + "}",
                        help=f"recipe (default {DEFAULT_PRESET}): "
                             + "; ".join(f"{p.name}, {p.summary}" for p in PRESETS.values())
                             + "".join(f" ({a}: {n}'s former name)" for a, n in PRESET_ALIASES.items())
                             + ". All keep their best-scoring generator")
    parser.add_argument("--g-filters", type=positive_int, default=None,
                        help="generator width (default: the preset's; 128 for reference and quality)")
    parser.add_argument("--d-filters", type=positive_int, default=None,
                        help="discriminator width (default: the preset's)")
    parser.add_argument("--without", type=names, default=None, metavar="PART,PART",
                        help="projection preset only: switch parts off (spectral_norm, "
                             "projection_head, conditional_bn; README: ablation)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"epochs to train in total (default {_DEFAULT.epochs}); with --resume, "
                             "a larger number extends the run")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"discriminator batch: half real, half generated (default "
                             f"{_DEFAULT.batch_size}, the reference design's 64)")
    parser.add_argument("--fake-per-real", type=positive_int, default=None,
                        help=f"generated images per real image in the generator's update (default "
                             f"{_DEFAULT.fake_per_real}; the reference design's loop uses 2)")
    parser.add_argument("--schedule", choices=SCHEDULES + tuple(SCHEDULE_ALIASES), default=None,
                        metavar="{" + ",".join(SCHEDULES) + "}",
                        help="fused: one generator pass serves all three updates (default); "
                             "reference: the reference design's three updates, three generator "
                             "passes per step ('article' is its old name)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"Adam learning rate of the generator, and of the discriminator unless "
                             f"--d-lr is given (default {_DEFAULT.lr})")
    parser.add_argument("--d-lr", type=positive_float, default=None,
                        help="the discriminator's own learning rate (two time-scale update rule)")
    parser.add_argument("--keep-best", choices=KEEP_BEST, default=None,
                        help="every --eval-every epochs score the generator on the real validation "
                             "split and keep the best in RUN_DIR/best/ (default fid; usefulness: "
                             "the accuracy of a classifier trained on its images, for augmentation, "
                             "about 15 CPU-s a scoring); scoring needs the judge classifier, trained "
                             "once and cached (a few CPU-minutes)")
    parser.add_argument("--eval-every", type=positive_int, default=None,
                        help=f"epochs between those scorings (default {_DEFAULT.eval_every})")
    parser.add_argument("--dataset", default=None,
                        help="registry name (clothing-full, clothing-small) or a folder / CSV "
                             "(default clothing-full)")
    parser.add_argument("--image-size", type=positive_int, default=None,
                        help="image side in pixels, a multiple of 4 (default 28)")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=None,
                        help="1 = grayscale (default), 3 = RGB")
    parser.add_argument("--foreground", action="store_true", default=None,
                        help="train on garments cut out of their photos onto white (GrabCut, cached "
                             "per photo; the first run spends a few CPU-minutes extracting)")
    parser.add_argument("--mirror", action="store_true", default=None,
                        help="flip real images left-right at random while training (x-flip "
                             "augmentation; garments look alike mirrored)")
    parser.add_argument("--classes", type=names, default=None, metavar="A,B",
                        help="train on these classes only (default: the ten)")
    parser.add_argument("--fraction", type=fraction, default=None, metavar="F",
                        help="train on this share of each class's training photos, drawn with "
                             "--seed (0 < F <= 1; the photos are listed in train_images.json)")
    parser.add_argument("--max-images", type=positive_int, default=None,
                        help="train on a fixed random subset of this many images (quick trials)")
    parser.add_argument("--seed", type=seed, default=None,
                        help=f"seed for weights, noise and data order (default {_DEFAULT.seed})")
    parser.add_argument("--strategy", choices=STRATEGIES,
                        default=None, help="auto: TPU if present, multi-worker when TF_CONFIG "
                                           "describes a cluster, all local GPUs, else one device")
    add_precision(parser, None, "mixed: float16 on GPUs, bfloat16 on TPUs and CPUs with native "
                  "bf16; auto (default): mixed where the hardware has it")
    parser.add_argument("--jit-compile", action="store_true", default=None,
                        help="compile the train step with XLA (slower than oneDNN on CPU)")
    parser.add_argument("--cpu-minutes", type=positive_float, default=None, metavar="M",
                        help="also stop before an epoch would take the run past M minutes of CPU "
                             "time (all cores; carried across --resume)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in RUN_DIR from its last checkpoint, with its settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


_TRAIN_ARGS = {"batch_size": "batch_size", "fake_per_real": "fake_per_real", "schedule": "schedule",
               "lr": "lr", "seed": "seed", "strategy": "strategy", "precision": "precision",
               "jit_compile": "jit_compile", "d_lr": "d_lr", "keep_best": "keep_best",
               "eval_every": "eval_every", "mirror": "mirror"}
_MODEL_ARGS = {"g_filters": "g_filters", "d_filters": "d_filters", "without": "without"}
_DATA_ARGS = {"dataset": "dataset", "image_size": "image_size", "channels": "channels",
              "foreground": "foreground", "classes": "classes"}
#: Options recorded beside the configs in run.json.
_RUN_ARGS = ("max_images", "fraction")


def _given(args: argparse.Namespace, fields: dict[str, str]) -> dict:
    """{config field: value} for the options of `fields` given on the command line."""
    return {f: (tuple(v) if isinstance(v, list) else v) for a, f in fields.items()
            if (v := getattr(args, a)) is not None}


def configs(args: argparse.Namespace):
    """(data, model, training): what `clothgan train` with these options trains."""
    from ..config import DataConfig, resolve_configs

    model, training = preset(args.preset or DEFAULT_PRESET)
    data = DataConfig(**_given(args, _DATA_ARGS))
    return resolve_configs(data, model.replace(**_given(args, _MODEL_ARGS)),
                           training.replace(**_given(args, _TRAIN_ARGS)), args.epochs)


def given_settings(args: argparse.Namespace) -> dict:
    """{(part, field): value} of the options given on the command line (runs.resume_conflicts)."""
    given = {("data", f): v for f, v in _given(args, _DATA_ARGS).items()}
    given |= {("model", f): v for f, v in _given(args, _MODEL_ARGS).items()}
    given |= {("training", f): v for f, v in _given(args, _TRAIN_ARGS).items()}
    if args.preset:
        given[("model", "preset")] = preset_name(args.preset)
    return given | {(None, f): getattr(args, f) for f in _RUN_ARGS if getattr(args, f) is not None}


def run(args: argparse.Namespace) -> int:
    from ..errors import ClothganError

    if args.resume:
        from ..runs import resume_conflicts

        conflicts = resume_conflicts(args.out, given_settings(args),
                                     lambda part, field: f"--{field.replace('_', '-')}")
        if conflicts:
            raise ClothganError(f"--resume continues {args.out} with its own settings; these "
                                f"differ: {'; '.join(conflicts)}. Drop them (only --epochs and "
                                "--cpu-minutes may change), or start a new run with another --out")
    else:
        data, model, training = configs(args)

    import signal

    from ..training import train

    def _terminate(signum, frame):
        # `kill PID` ends training like Ctrl-C: the last checkpoint stays and the resume hint prints.
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    if args.resume:
        result = train(args.out, resume=True, epochs=args.epochs, progress=not args.no_progress,
                       cpu_minutes=args.cpu_minutes)
    else:
        result = train(args.out, data, model, training, max_images=args.max_images,
                       fraction=args.fraction, progress=not args.no_progress,
                       cpu_minutes=args.cpu_minutes)
    last = result.history[-1] if result.history else {}
    losses = ", ".join(f"{k} {last[k]:.3f}" for k in ("d_loss", "g_loss") if k in last)
    print(f"{result.run_dir}: {result.epochs_done} epochs done ({losses}); samples in "
          f"{result.run_dir / 'samples'}, generator in {result.run_dir / 'generator.keras'}")
    from ..training.selection import read_best

    best = read_best(result.run_dir)
    if best:
        print(f"best generator (validation {best['metric']}): epoch {best['epoch']}, FID "
              f"{best['val_fid']:.2f}, class consistency {best['val_consistency']:.3f} -> "
              f"{result.run_dir / 'best'} (clothgan generate uses it)")
    return 0
