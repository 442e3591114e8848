"""Every bench/ script starts: its --help answers (each runs in its own process, all at once)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "bench").glob("*.py"))


def test_every_bench_script_answers_help():
    assert len(SCRIPTS) >= 8
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = {s.name: subprocess.Popen([sys.executable, str(s), "--help"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for s in SCRIPTS}
    for name, proc in runs.items():
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.startswith(f"usage: {name}"), f"{name}: {out[-500:]}"
