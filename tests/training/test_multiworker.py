"""--strategy multiworker: two worker processes on loopback ports train like one two-replica process.

Two `clothgan train` workers (TF_CONFIG, MultiWorkerMirroredStrategy) share one --out: the chief
writes the run directory, the other worker its private copy beside it. Both must end with the
same weights, equal to a single process's MirroredStrategy over two logical CPUs, and a worker
killed mid-run (kill -9) must be recoverable by restarting both with --resume.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import checkpoint_arrays  # noqa: E402

import clothgan  # noqa: E402
from clothgan.runs import read_run_info  # noqa: E402

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

EPOCHS = 2
# The reference preset on 64 real photos: 8 steps of 8 real + 8 generated images per epoch, float32
# so that the comparison does not depend on bf16 hardware; no validation scoring (it would train
# the judge classifier first).
ARGS = ["--preset", "reference", "--max-images", "64", "--batch-size", "16", "--precision", "float32",
        "--keep-best", "none", "--seed", "5", "--no-progress"]
TIMEOUT = 90          # seconds any one launch may take before the test gives up on it

CLI = "import sys; from clothgan.cli import main; sys.exit(main(sys.argv[1:]))"
# A single process with two logical CPU devices: `--strategy mirrored` uses both.
MIRRORED = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
""" + CLI


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _env(data_dir: Path, **extra) -> dict:
    root = str(Path(clothgan.__file__).resolve().parents[1])   # this checkout, in every child
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, CLOTHGAN_DATA_DIR=str(data_dir),
                TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)


def _tail(log: Path, n: int = 3000) -> str:
    return log.read_text(errors="replace")[-n:] if log.exists() else "(no output)"


class Workers:
    """Two `clothgan train` processes of one cluster; killed on exit, whatever happened."""

    def __init__(self, data_dir: Path, logs: Path, argv: list[str]):
        ports = _free_ports(2)
        cluster = {"worker": [f"localhost:{p}" for p in ports]}
        self.logs = [logs / f"worker{i}.log" for i in range(2)]
        self.procs = []
        for i, log in enumerate(self.logs):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            with open(log, "w") as f:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-c", CLI, "train", *argv], stdout=f,
                    stderr=subprocess.STDOUT, env=_env(data_dir, TF_CONFIG=tf_config),
                    start_new_session=True))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)

    def wait(self, timeout: float = TIMEOUT) -> list[int]:
        deadline = time.monotonic() + timeout
        for p, log in zip(self.procs, self.logs):
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"worker {self.procs.index(p)} still running after {timeout}s:\n"
                            + _tail(log))
        return [p.returncode for p in self.procs]

    def report(self) -> str:
        return "\n".join(f"--- worker {i} (rc {p.poll()}):\n{_tail(log)}"
                         for i, (p, log) in enumerate(zip(self.procs, self.logs)))


def _epoch(run: Path) -> int:
    """Epochs in the run's checkpoint.npz (0 before the first)."""
    if not (run / "checkpoint.npz").is_file():
        return 0
    with np.load(run / "checkpoint.npz") as z:
        return json.loads(str(z["meta"]))["epoch"]


def _history(run: Path) -> list[dict]:
    with open(run / "history.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _epochs_done(run: Path) -> int:
    return read_run_info(run).epochs_done if (run / "run.json").is_file() else 0


def test_two_workers_train_like_two_replicas_and_resume_after_a_kill(real_data_dir, tmp_path):
    # The reference: one process, MirroredStrategy over two logical CPUs, same seed and data.
    ref = tmp_path / "mirrored"
    proc = subprocess.run([sys.executable, "-c", MIRRORED, "train", "--out", str(ref),
                           "--epochs", str(EPOCHS), "--strategy", "mirrored", *ARGS],
                          capture_output=True, text=True, env=_env(real_data_dir), timeout=TIMEOUT,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert read_run_info(ref).config["replicas"] == 2

    run = tmp_path / "run"                          # both workers get the same --out
    argv = ["--out", str(run), "--epochs", str(EPOCHS), "--strategy", "multiworker", *ARGS]
    logs = tmp_path / "first"
    logs.mkdir()
    private = tmp_path / ".run.worker-1"          # where worker 1 writes its copy
    with Workers(real_data_dir, logs, argv) as first:
        deadline = time.monotonic() + TIMEOUT
        while _epochs_done(private) < 1:            # worker 1 has written all of epoch 1
            assert None in [p.poll() for p in first.procs], first.report()
            assert time.monotonic() < deadline, first.report()
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(first.procs[1].pid, signal.SIGKILL)  # ... and dies in epoch 2
        assert first.procs[1].wait(timeout=30) == -signal.SIGKILL
        # The chief does not wait forever for its peer: its collectives fail and it exits.
        try:
            assert first.procs[0].wait(timeout=60) != 0, first.report()
        except subprocess.TimeoutExpired:
            pytest.fail("the chief still waits for its killed peer after 60 s:\n" + first.report())
    assert _epoch(run) == read_run_info(run).epochs_done == 1, first.report()

    logs = tmp_path / "resumed"
    logs.mkdir()
    with Workers(real_data_dir, logs, ["--out", str(run), "--resume", "--no-progress"]) as again:
        assert again.wait() == [0, 0], again.report()
    assert f"epochs 2-{EPOCHS}" in _tail(again.logs[1])   # both continued from epoch 1

    # The chief wrote a normal run directory.
    info = read_run_info(run)
    assert info.epochs_done == EPOCHS and info.config["replicas"] == 2
    assert info.config["training"]["strategy"] == "multiworker"
    assert [r["epoch"] for r in _history(run)] == list(range(1, EPOCHS + 1))
    assert _epoch(run) == EPOCHS
    frames = sorted(p.name for p in (run / "samples").glob("epoch_*.png"))
    assert frames == [f"epoch_{e:04d}.png" for e in range(EPOCHS + 1)]
    assert (run / "samples" / "progress.gif").is_file()
    g = keras.saving.load_model(run / "generator.keras")
    assert g([np.zeros((2, 100), "float32"), np.arange(2, dtype="int32")]).shape == (2, 28, 28, 1)
    assert not list(run.rglob(".*tmp*"))
    # Only the chief wrote into it: every TensorBoard file there carries a chief's process id.
    chief_pids = {str(p.pid) for p in (first.procs[0], again.procs[0])}
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events and {e.name.split(".")[-3] for e in events} <= chief_pids
    # Worker 1 wrote its copy of the run beside it; the workers end with identical weights.
    assert _epoch(private) == EPOCHS
    chief = checkpoint_arrays(run / "checkpoint.npz")
    other = checkpoint_arrays(private / "checkpoint.npz")
    assert chief.keys() == other.keys()
    for k in chief:
        np.testing.assert_array_equal(chief[k], other[k], err_msg=k)
    # ... equal to the two-replica single process (same losses, same weights).
    reference = checkpoint_arrays(ref / "checkpoint.npz")
    assert chief.keys() == reference.keys()
    for k in chief:
        np.testing.assert_allclose(chief[k], reference[k], rtol=1e-5, atol=1e-6, err_msg=k)
    for a, b in zip(_history(run), _history(ref), strict=True):
        assert a["d_loss"] == pytest.approx(b["d_loss"], rel=1e-5)
        assert a["g_loss"] == pytest.approx(b["g_loss"], rel=1e-5)
