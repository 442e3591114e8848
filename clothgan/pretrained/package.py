"""Maintainers: ship a finished run's generator as clothgan/pretrained/NAME, with its provenance.

    python -m clothgan.pretrained.package RUN_DIR NAME --command "clothgan train ..." \\
        [--metrics EVAL.json] [--cpu-seconds-total S]

Copies the run's kept best generator (or its last one), made loadable by every Keras clothgan
allows (clothgan.pretrained.portable), its run.json and its truncation.json
(the noise scale chosen on the validation split), and writes provenance.json: the training
command, the data (config, registry URL, image count), the git commit of the code that trained
it (from run.json, or --commit), the training CPU time, the kept epoch and its validation
scores, the noise scale, and the `clothgan evaluate --json` metrics when given (measured on
images generated at that scale).
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ClothganError
from ..runs import GENERATOR_FILE, RUN_FILE, TRUNCATION_FILE, generator_dir, read_run_info
from . import PRETRAINED, PROVENANCE_FILE
from .portable import make_portable

MAX_BYTES = 10 * 1024 * 1024
METRIC_KEYS = ("fid", "fid_reference", "kid", "kid_reference", "class_mix", "class_consistency",
               "real_accuracy", "class_consistency_balanced", "real_balanced_accuracy",
               "cas_accuracy", "cas_runs", "real_trained_accuracy", "augmented_accuracy",
               "augmented_runs", "real_full_accuracy", "per_class_consistency", "n_images", "n_fid")


def provenance_record(run_dir: Path, name: str, command: str, metrics: dict | None = None,
                      cpu_seconds_total: float | None = None, code: dict | None = None,
                      note: str = "") -> dict:
    """What provenance.json holds for a run (see the module docstring). The commit is the one
    run.json recorded when training started; `code` supplies it for runs that predate that."""
    import keras
    import tensorflow as tf

    from ..config import VERSION
    from ..data.registry import REGISTRY
    from ..training.callbacks import read_history_csv
    from ..training.selection import read_best

    info = read_run_info(run_dir)
    code = code or info.config.get("code") or {"commit": None, "dirty": None}
    data = info.config.get("data", {})
    source = REGISTRY.get(data.get("dataset"))
    history = read_history_csv(run_dir / "history.csv")
    return {
        "name": name, "description": PRETRAINED.get(name, ""), "command": command, "note": note,
        "commit": code["commit"], "commit_dirty": code["dirty"],
        "data": {"config": data, "train_images": info.config.get("train_images"),
                 "url": source.url if source else None},
        "training": {"preset": info.preset, "epochs_done": info.epochs_done,
                     "cpu_seconds": history[-1].get("cpu_seconds") if history else None,
                     "process_cpu_seconds": cpu_seconds_total, "config": info.config},
        "kept": read_best(run_dir),
        "truncation": read_run_info(generator_dir(run_dir, "best")).truncation,
        "metrics": {k: metrics[k] for k in METRIC_KEYS if metrics and k in metrics} or None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"clothgan": VERSION, "tensorflow": tf.__version__,
                     "keras": keras.__version__, "python": platform.python_version()},
    }


def package(run_dir, name: str, command: str, metrics: dict | None = None,
            cpu_seconds_total: float | None = None, dest_root: Path | None = None,
            code: dict | None = None, note: str = "") -> Path:
    """Copy RUN_DIR's kept generator into DEST_ROOT/NAME (default: this package) with provenance."""
    run_dir = Path(run_dir)
    src = generator_dir(run_dir, "best")
    size = (src / GENERATOR_FILE).stat().st_size
    if size > MAX_BYTES:
        raise ClothganError(f"{src / GENERATOR_FILE}: {size / 2**20:.1f} MiB is over the 10 MiB "
                            "limit for shipped generators; use fewer filters")
    dest = (dest_root or Path(__file__).parent) / name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / GENERATOR_FILE, dest / GENERATOR_FILE)
    make_portable(dest / GENERATOR_FILE)
    shutil.copyfile(src / RUN_FILE, dest / RUN_FILE)
    if (src / TRUNCATION_FILE).is_file():
        shutil.copyfile(src / TRUNCATION_FILE, dest / TRUNCATION_FILE)
    record = provenance_record(run_dir, name, command, metrics, cpu_seconds_total, code, note)
    (dest / PROVENANCE_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("name", choices=tuple(PRETRAINED))
    ap.add_argument("--command", required=True, help="the clothgan train command that made the run")
    ap.add_argument("--metrics", help="clothgan evaluate --json output for the kept generator")
    ap.add_argument("--cpu-seconds-total", type=float,
                    help="CPU seconds of the whole training process (e.g. from /usr/bin/time)")
    ap.add_argument("--commit", help="the commit that trained the run, for runs whose run.json "
                                     "predates recording it")
    ap.add_argument("--commit-dirty", action="store_true",
                    help="with --commit: the working tree had uncommitted changes")
    ap.add_argument("--note", default="", help="anything a user should know about this generator")
    args = ap.parse_args(argv)
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else None
    code = {"commit": args.commit, "dirty": args.commit_dirty} if args.commit else None
    dest = package(args.run_dir, args.name, args.command, metrics, args.cpu_seconds_total,
                   code=code, note=args.note)
    print(f"{dest}: {', '.join(sorted(p.name for p in dest.iterdir()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
