"""A study's cells in numbers: per fraction and method the mean and spread over seeds, and the
paired difference against real-only (same fraction, same seed: the same photos and start)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: The study this project ran, shipped with clothgan (written by `clothgan study`; see
#: docs/experiments.md for the command and the reading).
MEASURED_FILE = Path(__file__).parent / "measured" / "summary.json"

METRICS = ("accuracy", "balanced_accuracy", "rare_recall")


def _stats(values: list[float]) -> dict:
    a = np.asarray(values, np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "values": [round(float(v), 4) for v in a]}


def summarize(cells: list[dict]) -> dict:
    """{"fractions": [...], "methods": [...], "rows": [...]}: one row per (fraction, method)
    with each metric's mean/std/values over seeds, and `gain` (paired difference against
    "none") with how many seeds it is positive for; the accuracy gain also as `oracle_share`,
    its mean over the mean oracle gain of the same seeds and fraction. Skipped cells are left out."""
    done = [c for c in cells if "skipped" not in c]
    base = {(c["fraction"], c["seed"]): c for c in done if c["method"] == "none"}
    fractions = sorted({c["fraction"] for c in done})
    order = ["none", "gan", "cutpaste", "both", "oracle", "noise"]
    methods = sorted({c["method"] for c in done},
                     key=lambda m: (order.index(m.split("+")[0]) if m.split("+")[0] in order else 99, m))
    rows = []
    for f in fractions:
        for m in methods:
            group = sorted((c for c in done if c["fraction"] == f and c["method"] == m),
                           key=lambda c: c["seed"])
            if not group:
                continue
            row = {"fraction": f, "method": m, "seeds": [c["seed"] for c in group],
                   "n_real": group[0]["n_real"], "n_added": group[0].get("n_added", 0),
                   "rare_classes": group[0].get("rare_classes", [])}
            for k in METRICS:
                row[k] = _stats([c[k] for c in group])
            paired = [(c, base[(f, c["seed"])]) for c in group if (f, c["seed"]) in base]
            if m != "none" and paired:
                row["gain"] = {}
                for k in METRICS:
                    d = [c[k] - b[k] for c, b in paired]
                    row["gain"][k] = {**_stats(d), "positive": int(sum(v > 0 for v in d)),
                                      "seeds": len(d)}
            rows.append(row)
    for row in rows:                   # the share of the oracle's gain, over the seeds both have
        oracle = next((r for r in rows if r["fraction"] == row["fraction"] and r["method"] == "oracle"), None)
        if "gain" in row and oracle and "gain" in oracle and row["method"] != "oracle":
            theirs = dict(zip(oracle["seeds"], oracle["gain"]["accuracy"]["values"]))
            mine = [(v, theirs[s]) for s, v in zip(row["seeds"], row["gain"]["accuracy"]["values"])
                    if s in theirs]
            top = np.mean([o for _, o in mine]) if mine else 0.0
            if top > 0:
                row["gain"]["accuracy"]["oracle_share"] = float(np.mean([v for v, _ in mine]) / top)
    cpu = sum(c.get("cpu_seconds", 0.0) for c in done) / 60
    return {"fractions": fractions, "methods": methods, "rows": rows,
            "cpu_minutes": round(cpu, 1),
            "classifier_cpu_minutes": round(sum(c.get("classifier", {}).get("cpu_seconds", 0.0)
                                                for c in done) / 60, 1)}


def format_summary(summary: dict) -> str:
    """The summary as a text table: accuracy and the paired gains, in points."""
    lines = [f"{'fraction':>8}  {'method':<18} {'real':>5} {'+added':>6}  {'accuracy':>13}  "
             f"{'gain (points)':>15}  {'of oracle':>9}  {'balanced gain':>13}  {'rare-class recall gain':>22}"]
    for r in summary["rows"]:
        acc = r["accuracy"]
        text = (f"{r['fraction']:>8g}  {r['method']:<18} {r['n_real']:>5} {r['n_added']:>6}  "
                f"{acc['mean']:.3f} ± {acc['std']:.3f}")
        g = r.get("gain")
        if g:
            a, b, rr = g["accuracy"], g["balanced_accuracy"], g["rare_recall"]
            share = f"{100 * a['oracle_share']:8.0f}%" if "oracle_share" in a else " " * 9
            text += (f"  {100 * a['mean']:+6.1f} ± {100 * a['std']:4.1f} ({a['positive']}/{a['seeds']})"
                     f"  {share}  {100 * b['mean']:+6.1f} ± {100 * b['std']:4.1f}"
                     f"  {100 * rr['mean']:+13.1f} ± {100 * rr['std']:4.1f}")
        lines.append(text)
    return "\n".join(lines)


def measured_summary() -> dict:
    """The summary of the study this project ran (MEASURED_FILE): what `clothgan study` wrote,
    with the command that made it."""
    return json.loads(MEASURED_FILE.read_text())
