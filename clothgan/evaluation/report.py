"""What `evaluate` returns: every number beside the reference it must be read against, as a
table, Markdown or JSON."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from .distances import Memorisation
from .judge import JudgeInfo


@dataclass(frozen=True)
class Comparison:
    """One number and the reference it must be read against."""

    metric: str
    value: float
    reference: float
    reference_is: str
    better: str          # "lower" or "higher"
    meaning: str
    value_std: float | None = None       # spread over random subsets, where measured
    reference_std: float | None = None


@dataclass
class EvaluationResult:
    """Everything `evaluate` measured (to_dict() is JSON-ready; report() is the printed table)."""

    images: str
    n_images: int
    counts: dict[str, int]
    image_size: int
    channels: int
    data: dict
    judge: JudgeInfo
    n_fid: int
    fid: float
    fid_reference: float
    kid: float
    kid_std: float
    kid_reference: float
    kid_reference_std: float
    kid_subsets: int
    class_consistency: float
    real_accuracy: float
    per_class_consistency: dict[str, float]
    per_class_real_accuracy: dict[str, float]
    class_mix: str = "as-is"
    class_consistency_balanced: float | None = None   # mean over classes: no class mix at all
    real_balanced_accuracy: float | None = None
    cas_accuracy: float | None = None       # the median over cas_runs
    cas_balanced: float | None = None
    cas_runs: list[float] | None = None     # one accuracy per classifier training (EvalConfig.classifier_runs)
    augmented_runs: list[float] | None = None
    real_trained_accuracy: float | None = None   # the judge's, or the median over real_trained_runs
    real_trained_balanced: float | None = None
    real_trained_runs: list[float] | None = None  # train on real, same seeds (classifier_runs > 1)
    augmented_accuracy: float | None = None  # the median over augmented_runs
    augmented_balanced: float | None = None
    real_full_accuracy: float | None = None
    memorisation: Memorisation | None = None
    inception_fid: float | None = None
    inception_fid_reference: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    images_converted: int = 0      # resized or recoloured to the judge's size and channels
    images_skipped: list[dict] = field(default_factory=list)   # [{"path", "reason"}], unusable

    def comparisons(self) -> list[Comparison]:
        n = self.n_fid
        weighted = "; synthetic weighted to its class mix" if self.class_mix == "real" else ""
        rows = [
            Comparison("FID (judge features)", self.fid, self.fid_reference,
                       f"real val vs real test, {n} images each, same class mix", "lower",
                       "distance between synthetic and real feature statistics"),
            Comparison("KID x 1000 (judge features)", 1000 * self.kid, 1000 * self.kid_reference,
                       f"real val vs real test, same subsets (mean +- std of {self.kid_subsets})",
                       "lower", "unbiased kernel distance; about 0 for a perfect generator",
                       1000 * self.kid_std, 1000 * self.kid_reference_std),
            Comparison("class consistency", self.class_consistency, self.real_accuracy,
                       f"judge accuracy on real test images (n={self.judge.n_test}){weighted}",
                       "higher", "synthetic images classified as their intended class"),
        ]
        if self.class_consistency_balanced is not None:
            rows.append(Comparison("class consistency, mean over classes",
                                   self.class_consistency_balanced, self.real_balanced_accuracy,
                                   "judge's mean per-class accuracy on real test images", "higher",
                                   "the same, every class counted equally"))
        if self.cas_accuracy is not None:
            rows.append(Comparison("train on synthetic, test on real", self.cas_accuracy,
                                   self.real_trained_accuracy,
                                   f"same classifier trained on real train"
                                   f"{_median_of(self.real_trained_runs, ', ')}{weighted}", "higher",
                                   "accuracy on real test images (CAS)" + _median_of(self.cas_runs),
                                   _spread(self.cas_runs), _spread(self.real_trained_runs)))
        if self.augmented_accuracy is not None:
            rows.append(Comparison("train on real + synthetic", self.augmented_accuracy,
                                   self.real_full_accuracy, f"trained on real train alone"
                                   f"{_median_of(self.real_trained_runs, ', ')}{weighted}",
                                   "higher", "accuracy on real test images (augmentation gain)"
                                   + (_median_of(self.augmented_runs) or
                                      "; one training, which can fail: measure with clothgan study"),
                                   _spread(self.augmented_runs)))
        if self.memorisation is not None:
            m = self.memorisation
            rows.append(Comparison(f"near-copies of training images ({m.space})", m.share_synthetic,
                                   m.share_real, "real held-out images under the same threshold",
                                   "lower", f"share closer than {m.threshold:.3f} (RMS) to a training image"))
        if self.inception_fid is not None:
            rows.append(Comparison("FID (Inception-v3)", self.inception_fid,
                                   self.inception_fid_reference, "real val vs real test", "lower",
                                   "ImageNet features; unreliable for 28x28 grayscale"))
        return rows

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["judge"] = asdict(self.judge)
        d["memorisation"] = self.memorisation.to_dict() if self.memorisation else None
        d["comparisons"] = [asdict(c) for c in self.comparisons()]
        return json.loads(json.dumps(d, default=_json_default))

    def report(self) -> str:
        return render_report(self)

    def to_markdown(self) -> str:
        """The comparisons as a Markdown table (notebooks: IPython.display.Markdown)."""
        lines = ["| metric | synthetic | reference | better | reference is |",
                 "| --- | ---: | ---: | --- | --- |"]
        lines += [f"| {c.metric} | {_fmt(c.value, c.value_std)} | {_fmt(c.reference, c.reference_std)} "
                  f"| {c.better} | {c.reference_is} |" for c in self.comparisons()]
        return "\n".join(lines)


def _median_of(runs: list[float] | None, sep: str = "; ") -> str:
    return f"{sep}median of {len(runs)} trainings" if runs and len(runs) > 1 else ""


def _spread(runs: list[float] | None) -> float | None:
    """Standard deviation over classifier trainings; None for one training."""
    return float(np.std(runs)) if runs and len(runs) > 1 else None


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def _fmt(v: float | None, std: float | None = None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    text = f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return text if std is None else f"{text} +- {_fmt(std)}"


def render_report(result: EvaluationResult) -> str:
    """The evaluation as a plain-text table: every number beside its reference."""
    j = result.judge
    lines = [
        f"clothgan evaluation of {result.images}",
        f"  {result.n_images} images, {len(result.counts)} classes, "
        f"{result.image_size}x{result.image_size}x{result.channels}; real data: {result.data.get('dataset')}",
        f"  judge classifier: trained on {j.n_train} real train images, accuracy {j.test_accuracy:.3f} "
        f"on {j.n_test} real test images ({'cached' if j.cached else f'trained in {j.train_seconds:.0f} s'})",
    ]
    if result.images_converted:
        lines.append(f"  {result.images_converted} images read through clothgan's preprocessing "
                     f"(resized with their aspect kept, to {result.image_size}x{result.image_size}, "
                     f"{'grey' if result.channels == 1 else 'RGB'}) to match the judge")
    if result.images_skipped:
        first = result.images_skipped[0]
        lines.append(f"  {len(result.images_skipped)} unusable file(s) left out, e.g. "
                     f"{first['path']}: {first['reason']}")
    lines.append("")
    rows = [("metric", "synthetic", "reference", "better", "reference is")]
    rows += [(c.metric, _fmt(c.value, c.value_std), _fmt(c.reference, c.reference_std), c.better,
              c.reference_is) for c in result.comparisons()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, r in enumerate(rows):
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i])
                                      for i in range(4)) + "  " + r[4])
        if k == 0:
            lines.append("  " + "-" * (sum(widths) + 8 + max(len(x[4]) for x in rows)))
    lines.append("")
    lines.append("  per class: consistency (synthetic) / judge accuracy (real test)")
    for name in result.per_class_consistency:
        lines.append(f"    {name:<11} {_fmt(result.per_class_consistency[name])} / "
                     f"{_fmt(result.per_class_real_accuracy.get(name))}")
    return "\n".join(lines)
