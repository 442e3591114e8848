"""What `clothgan prepare` prints: the data that loaded, what was left out and why."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ..config import DataConfig, check_int
from ..errors import ConfigError
from .images import Skipped
from .inventory import SPLITS, Inventory, scan
from .arrays import Arrays, build_arrays


@dataclass
class PrepareReport:
    """What `clothgan prepare` prints: the data that loaded, what was left out and why."""

    dataset: str
    root: str
    config: dict
    counts: dict[str, dict[str, int]]          # split -> class -> images loaded
    skipped: list[Skipped]
    excluded_labels: dict[str, int]
    kids_excluded: int
    missing_files: list[str]
    unlisted_files: list[str]
    duplicate_rows: int
    own_split: bool
    cache_path: str | None
    from_cache: bool
    seconds: float
    unusable_files: list = field(default_factory=list)   # (printable path, reason)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def skip_counts(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped).most_common())

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset, "root": self.root, "config": self.config,
            "images": self.total, "counts": self.counts,
            "skipped": [{"path": s.path, "reason": s.reason, "detail": s.detail}
                        for s in self.skipped],
            "skipped_by_reason": self.skip_counts(),
            "excluded_labels": self.excluded_labels, "kids_excluded": self.kids_excluded,
            "missing_files": len(self.missing_files), "unlisted_files": len(self.unlisted_files),
            "missing_examples": self.missing_files[:5], "unlisted_examples": self.unlisted_files[:5],
            "duplicate_rows": self.duplicate_rows, "split_from_source": self.own_split,
            "cache_path": self.cache_path, "from_cache": self.from_cache,
            "seconds": round(self.seconds, 3),
            "unusable_files": [{"path": p, "reason": r} for p, r in self.unusable_files],
        }

    def format(self, max_skipped: int = 20) -> str:
        """The human-readable summary: a class x split table, then what was left out."""
        splits = [s for s in SPLITS if s in self.counts]
        classes = self.config["classes"]
        w = max(8, *(len(c) for c in classes))
        lines = [f"dataset {self.dataset} ({self.root}): {self.total} images, "
                 f"{self.config['image_size']}x{self.config['image_size']}x"
                 f"{self.config['channels']}, split "
                 f"{'from the source' if self.own_split else 'by hash of the image id'}",
                 f"{'class':<{w}}" + "".join(f"{s:>8}" for s in splits) + f"{'total':>8}"]
        for c in classes:
            row = [self.counts[s].get(c, 0) for s in splits]
            lines.append(f"{c:<{w}}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
        totals = [sum(self.counts[s].values()) for s in splits]
        lines.append(f"{'total':<{w}}" + "".join(f"{n:>8}" for n in totals) + f"{sum(totals):>8}")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s): " + ", ".join(
                f"{n} {r}" for r, n in self.skip_counts().items()))
            lines += [f"  {s.path}: {s.reason}" + (f" ({s.detail})" if s.detail else "")
                      for s in self.skipped[:max_skipped]]
            if len(self.skipped) > max_skipped:
                lines.append(f"  ... and {len(self.skipped) - max_skipped} more (--json lists all)")
        else:
            lines.append("skipped 0 files")
        if self.unusable_files:
            lines.append(f"left out {len(self.unusable_files)} file(s) or folder(s) that cannot be "
                         "opened by name:")
            lines += [f"  {p}: {r}" for p, r in self.unusable_files[:max_skipped]]
        if self.excluded_labels:
            lines.append(f"excluded labels ({sum(self.excluded_labels.values())} images): " +
                         ", ".join(f"{k} {v}" for k, v in self.excluded_labels.items()))
        if self.kids_excluded:
            lines.append(f"excluded kids' clothes: {self.kids_excluded}")
        lines.append(f"CSV rows without a file: {len(self.missing_files)}; image files without a "
                     f"row or label: {len(self.unlisted_files)}"
                     + (f"; duplicate rows: {self.duplicate_rows}" if self.duplicate_rows else ""))
        lines.append(f"cache: {self.cache_path} ({'reused' if self.from_cache else 'written'}) "
                     f"in {self.seconds:.2f} s")
        return "\n".join(lines)


def prepare(cfg: DataConfig, workers: int | None = None, *, progress: bool = True,
            backend: str = "auto", inventory: Inventory | None = None
            ) -> tuple[Arrays, PrepareReport]:
    """`clothgan prepare`: build_arrays() plus the summary of what was loaded, skipped and
    left out (timed)."""
    if not isinstance(cfg, DataConfig):
        raise ConfigError(f"expected a DataConfig, got {cfg!r}")
    if workers is not None:
        check_int("workers", workers, 1)
    t0 = time.perf_counter()
    inv = inventory or scan(cfg)
    arrays = build_arrays(cfg, inv, workers, progress=progress, backend=backend)
    loaded = set(arrays.paths)
    counts = {s: dict(sorted(Counter(r.label for r in inv.records
                                     if r.split == s and r.path in loaded).items()))
              for s in SPLITS}
    counts = {s: c for s, c in counts.items() if c}
    report = PrepareReport(
        dataset=cfg.dataset, root=str(inv.root), config=cfg.to_dict(), counts=counts,
        skipped=arrays.skipped, excluded_labels=dict(inv.excluded_labels.most_common()),
        kids_excluded=inv.kids_excluded, missing_files=inv.missing_files,
        unlisted_files=inv.unlisted_files, duplicate_rows=inv.duplicate_rows,
        own_split=inv.own_split, cache_path=arrays.cache_path, from_cache=arrays.from_cache,
        seconds=time.perf_counter() - t0, unusable_files=list(inv.unusable_files))
    return arrays, report
