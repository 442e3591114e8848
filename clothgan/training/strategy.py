"""Where training runs: one device, every local GPU or CPU device, a multi-worker cluster
described by TF_CONFIG, or a TPU."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..errors import ClothganError


def _tpu_resolver():
    """A connected TPU cluster resolver, or None. Only probes where a TPU is plausible."""
    if not (os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")
            or Path("/dev/accel0").exists()):
        return None
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def _tf_config_is_cluster() -> bool:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError as exc:
        raise ClothganError(f"TF_CONFIG is not valid JSON ({exc}); fix or unset it") from exc
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker")) > 1


def resolve_strategy(name: str = "auto"):
    """A tf.distribute strategy for `name`.

    auto: a TPU if present, MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster,
    MirroredStrategy over 2+ local GPUs, else the default (one device).
    mirrored: every local GPU, or every logical CPU device when there is no GPU.
    """
    import tensorflow as tf

    if name in ("auto", "tpu"):
        resolver = _tpu_resolver()
        if resolver is not None:
            return tf.distribute.TPUStrategy(resolver)
        if name == "tpu":
            raise ClothganError("--strategy tpu: no TPU found (TPU_NAME / COLAB_TPU_ADDR unset "
                                "and no /dev/accel0); use --strategy auto")
    if name in ("auto", "multiworker"):
        if _tf_config_is_cluster():
            return tf.distribute.MultiWorkerMirroredStrategy()
        if name == "multiworker":
            raise ClothganError("--strategy multiworker needs TF_CONFIG describing a cluster of "
                                "2+ workers; use --strategy auto on a single machine")
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if name == "mirrored":
        devices = gpus or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "auto" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy(gpus)
    return tf.distribute.get_strategy()


def worker_run_dir(out: Path, strategy) -> Path:
    """Where this process writes the run: `out` on the chief (and off a cluster). Any other
    worker of a MultiWorkerMirroredStrategy cluster runs the same callbacks (so the workers stay
    in step) but writes its copy to a folder beside `out` that nothing reads, .NAME.worker-I,
    emptied first (TF's convention), so it never clobbers the chief's files."""
    if strategy.extended.should_checkpoint:
        return out
    task = strategy.cluster_resolver
    private = out.with_name(f".{out.name}.{task.task_type}-{task.task_id}")
    shutil.rmtree(private, ignore_errors=True)
    return private


def writer_lock_target(out: Path) -> Path:
    """The folder whose output lock this process takes (clothgan.core.files.output_lock): `out`,
    except on a worker of a TF_CONFIG cluster that is not the chief, whose private folder it is
    (the workers of one run share --out; see `worker_run_dir`)."""
    if not _tf_config_is_cluster():
        return out
    config = json.loads(os.environ["TF_CONFIG"])
    task = config.get("task", {})
    kind, index = task.get("type"), task.get("index", 0)
    if kind == "chief" or (kind == "worker" and index == 0 and "chief" not in config["cluster"]):
        return out
    return out.with_name(f".{out.name}.{kind}-{index}")
