"""Every plot of the course, in one place.

Conventions (keep them when adding functions): each function takes `ax=` (one panel) or `fig=`
(several panels), creates what is missing, and returns the matplotlib Figure; images are float
arrays in [-1, 1] (N, H, W, C) unless a docstring says otherwise. Grouped by notebook.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..core.pixels import to_float

SPLIT_COLORS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}


def _ax(ax, figsize=(7, 4)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def _fig(fig, figsize):
    return fig if fig is not None else plt.figure(figsize=figsize, layout="constrained")


def to_display(img: np.ndarray) -> np.ndarray:
    """One image in [-1, 1] (H, W, C) or uint8 (H, W[, C]) -> what imshow wants, in [0, 1]."""
    a = np.asarray(img)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else (a.astype(np.float32) + 1) / 2
    a = np.clip(np.nan_to_num(a, nan=0.5), 0, 1)
    return a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a


def show_image(ax, img: np.ndarray, title: str | None = None) -> None:
    """Draw one image on `ax` without axes (grey colour map for one channel)."""
    d = to_display(img)
    ax.imshow(d, cmap="gray" if d.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([]), ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    if title:
        ax.set_title(title, fontsize=8)


def image_grid(rows: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str] | None = None,
               col_titles: Sequence[str] | None = None, fig=None, cell: float = 1.1):
    """A grid of images: `rows[i][j]` in row i, column j; ragged rows leave blanks."""
    n_rows, n_cols = len(rows), max((len(r) for r in rows), default=1)
    fig = _fig(fig, (cell * n_cols + (1.2 if row_labels else 0), cell * n_rows + 0.3))
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols, squeeze=False))
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            if j < len(row):
                show_image(ax, row[j], col_titles[j] if col_titles and i == 0 else None)
            else:
                ax.axis("off")
        if row_labels:
            axes[i, 0].set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- 01 data exploration

def class_balance(counts: Mapping[str, Mapping[str, int]], ax=None,
                  title: str = "Images per class and split"):
    """Horizontal bars per class, stacked by split: `counts` is {split: {class: n}}."""
    fig, ax = _ax(ax, (7, 4))
    classes = sorted({c for per in counts.values() for c in per},
                     key=lambda c: sum(per.get(c, 0) for per in counts.values()))
    left = np.zeros(len(classes))
    for split, per in counts.items():
        vals = np.array([per.get(c, 0) for c in classes], float)
        ax.barh(classes, vals, left=left, label=split, color=SPLIT_COLORS.get(split))
        left += vals
    for i, total in enumerate(left):
        ax.text(total, i, f" {int(total)}", va="center", fontsize=8)
    ax.set_xlabel("images")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    ax.margins(x=0.12)
    return fig


def label_counts(kept: Mapping[str, int], excluded: Mapping[str, int], ax=None,
                 title: str = "Every label in the CSV: kept (the ten classes) and left out"):
    """All labels by count, the kept classes and the excluded labels in two colours."""
    fig, ax = _ax(ax, (8, 4))
    items = sorted([(k, v, True) for k, v in kept.items()]
                   + [(k, v, False) for k, v in excluded.items()], key=lambda t: -t[1])
    ax.bar([k for k, _, _ in items], [v for _, v, _ in items],
           color=["#4c72b0" if keep else "#bbbbbb" for _, _, keep in items])
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    ax.set_ylabel("images")
    ax.set_title(title)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color="#4c72b0", label="kept"), Patch(color="#bbbbbb", label="excluded")],
              frameon=False)
    return fig


def class_samples(samples: Mapping[str, np.ndarray], fig=None, cell: float = 1.0):
    """One row of images per class: `samples` is {class: (n, H, W, C) images}."""
    return image_grid(list(samples.values()), row_labels=list(samples), fig=fig, cell=cell)


def image_sizes(sizes: np.ndarray, fig=None):
    """Photo sizes (N, 2 = width, height): a width x height scatter and the aspect ratios."""
    fig = _fig(fig, (10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    sizes = np.asarray(sizes)
    sizes = sizes[(sizes > 0).all(axis=1)]
    uniq, n = np.unique(sizes, axis=0, return_counts=True)
    ax1.scatter(uniq[:, 0], uniq[:, 1], s=10 + 200 * n / n.max(), alpha=0.6)
    ax1.set_xlabel("width (px)"), ax1.set_ylabel("height (px)")
    ax1.set_title(f"{len(sizes)} photos, {len(uniq)} distinct sizes (dot area = count)")
    aspect = sizes[:, 0] / sizes[:, 1]
    ax2.hist(aspect, bins=40, color="#4c72b0")
    ax2.axvline(1.0, color="k", ls="--", lw=1)
    ax2.text(1.0, ax2.get_ylim()[1] * 0.9, " 28x28 target", fontsize=8)
    ax2.set_xlabel("aspect ratio (width / height)"), ax2.set_ylabel("photos")
    ax2.set_title("Squashing to a square distorts every photo off the dashed line")
    return fig


def backgrounds(stats, fig=None, plain_std: float = 12.0):
    """Three histograms of explore.BackgroundStats: border brightness, border variation,
    and the share of the frame the garment covers."""
    fig = _fig(fig, (12, 3.4))
    axes = fig.subplots(1, 3)
    panels = [(stats.border_mean, "border brightness (0 = black, 255 = white)", None),
              (stats.border_std, "border variation (std of grey levels)", plain_std),
              (stats.foreground_share * 100, "frame unlike the border colour (%)", None)]
    for ax, (vals, label, line) in zip(axes, panels):
        vals = vals[np.isfinite(vals)]
        ax.hist(vals, bins=40, color="#4c72b0")
        ax.set_xlabel(label, fontsize=9)
        if line is not None:
            ax.axvline(line, color="k", ls="--", lw=1)
            ax.text(line, ax.get_ylim()[1] * 0.9, " plain", fontsize=8)
    axes[0].set_ylabel("photos")
    fig.suptitle(f"Backgrounds of {len(stats.paths)} photos: "
                 f"{stats.plain_share(plain_std):.0%} have a plain border")
    return fig


# ----------------------------------------------------------------------------- 02 preprocessing

def side_by_side(rows: Mapping[str, Sequence[np.ndarray]], fig=None, cell: float = 1.3,
                 col_titles: Sequence[str] | None = None):
    """The same photos through different pipelines: {row name: images}, one column per photo."""
    return image_grid(list(rows.values()), row_labels=list(rows), col_titles=col_titles,
                      fig=fig, cell=cell)


def pixel_histograms(named: Mapping[str, np.ndarray], ax=None, bins: int = 64,
                     title: str = "Pixel values"):
    """Overlaid histograms of pixel values in [-1, 1] (uint8 arrays are rescaled first). Pixels
    of exactly +1 (white padding) are counted in the legend, not drawn: their spike would flatten
    every other bin."""
    fig, ax = _ax(ax, (7, 3.5))
    for name, a in named.items():
        a = np.asarray(a)
        v = (to_float(a) if a.dtype == np.uint8 else a.astype(np.float32)).ravel()
        white = float(np.mean(v >= 1.0))
        ax.hist(v[v < 1.0], bins=bins, range=(-1, 1), histtype="step", lw=1.5,
                weights=np.full(int(np.sum(v < 1.0)), 1.0 / max(v.size, 1)),
                label=f"{name}: mean {v.mean():+.2f}, std {v.std():.2f}, {white:.0%} pure white")
    ax.set_xlabel("pixel value (-1 black, +1 white)"), ax.set_ylabel("share of pixels")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.3)       # room for the legend above the curves
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    return fig


def class_means(means: np.ndarray, class_names: Sequence[str], fig=None, cell: float = 1.2):
    """The average image of each class in one row (explore.class_means)."""
    return image_grid([list(means)], col_titles=list(class_names), fig=fig, cell=cell)


# ----------------------------------------------------------------------------- 03-06 the GAN

def label_planes(planes: np.ndarray, class_names: Sequence[str], fig=None, cell: float = 0.9,
                 title: str | None = None):
    """Each class's label plane (N, h, w, 1) from models.label_planes, each scaled to its own range."""
    p = np.asarray(planes, np.float32)
    lo = p.min(axis=(1, 2, 3), keepdims=True)
    hi = p.max(axis=(1, 2, 3), keepdims=True)
    scaled = (p - lo) / np.maximum(hi - lo, 1e-12) * 2 - 1
    fig = image_grid([list(scaled)], col_titles=list(class_names), fig=fig, cell=cell)
    if title:
        fig.suptitle(title)
    return fig


def discriminator_scores(scores: Mapping[str, np.ndarray], ax=None,
                         title: str = "Discriminator: P(real) per image"):
    """Histograms of the discriminator's outputs for named groups of images (real, generated, ...)."""
    fig, ax = _ax(ax, (6, 3.2))
    bins = np.linspace(0, 1, 26)
    for name, p in scores.items():
        p = np.ravel(np.asarray(p, np.float32))
        ax.hist(p, bins=bins, alpha=0.6, label=f"{name} (mean {p.mean():.2f})")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set_xlabel("P(real)")
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def toy_points(runs: Mapping[str, tuple], fig=None, panel: float = 3.0):
    """2-D points coloured by class, one panel per entry: runs[name] = (points (N, 2), labels)."""
    fig = _fig(fig, (panel * len(runs), panel + 0.3))
    for ax, (name, (xy, labels)) in zip(np.atleast_1d(fig.subplots(1, len(runs))), runs.items()):
        ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", vmin=0, vmax=9, s=2, alpha=0.5)
        ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[], title=name)
    return fig


def step_curves(runs: Mapping[str, Mapping[str, Sequence[float]]], keys=("d_loss", "d_acc", "g_loss"),
                fig=None, title: str | None = None):
    """Per-step curves of several short runs side by side, one panel per key (runs[name][key])."""
    labels = {"d_loss": "discriminator loss", "d_acc": "discriminator accuracy",
              "g_loss": "generator loss"}
    fig = _fig(fig, (4 * len(keys), 3.2))
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key in zip(axes, keys):
        for name, curves in runs.items():
            if key in curves:
                ax.plot(np.arange(1, len(curves[key]) + 1), curves[key], label=name, lw=1.2)
        ax.axhline(np.log(2) if "loss" in key else 0.5, color="grey", ls=":", lw=1)
        ax.set(xlabel="training step", title=labels.get(key, key))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def generator_losses(ax=None):
    """The two generator losses against D(G(z)): the minimax loss log(1 - D) is flat where the
    generator is bad (D near 0), the non-saturating -log D is steep there."""
    fig, ax = _ax(ax, (6, 3.6))
    d = np.linspace(0.001, 0.999, 500)
    ax.plot(d, np.log(1 - d), label="minimax: minimise log(1 - D(G(z)))")
    ax.plot(d, -np.log(d), label="non-saturating: minimise -log D(G(z))")
    ax.axvspan(0, 0.1, color="grey", alpha=0.15)
    ax.text(0.05, 3.5, "early training:\nD rejects fakes", ha="center", fontsize=8)
    ax.set(xlabel="D(G(z)): the discriminator's P(real) for a generated image", ylabel="generator loss",
           ylim=(-5, 5), title="Why the generator minimises -log D(G(z))")
    ax.legend(fontsize=8)
    return fig


def training_histories(histories: Mapping[str, Sequence[Mapping[str, float]]], fig=None):
    """training_history() of several runs, one row of panels each (healthy beside failing)."""
    fig = _fig(fig, (10, 3.4 * len(histories)))
    for sub, (name, history) in zip(np.atleast_1d(fig.subfigures(len(histories), 1)),
                                    histories.items()):
        training_history(history, fig=sub, title=name)
    return fig


def training_history(history: Sequence[Mapping[str, float]], fig=None, title: str | None = None):
    """Per-epoch losses (left; ln 2 is a discriminator that guesses) and D's accuracies (right)."""
    fig = _fig(fig, (10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    for key, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        ax1.plot(epochs, [h[key] for h in history], marker=".", label=label)
    ax1.axhline(np.log(2), color="grey", ls=":", lw=1, label="ln 2")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss (cross-entropy or hinge)")
    ax1.set_title("Losses")
    ax1.legend(fontsize=8)
    for key, label in (("d_real_acc", "real judged real"), ("d_fake_acc", "generated judged fake")):
        ax2.plot(epochs, [h[key] for h in history], marker=".", label=label)
    ax2.axhline(0.5, color="grey", ls=":", lw=1)
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("epoch")
    ax2.set_title("Discriminator accuracy")
    ax2.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def validation_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], x: str = "epoch",
                      fig=None, title: str | None = None):
    """Validation FID (left, lower is better) and class consistency (right) of one or more runs,
    from the history rows that have them (`keep_best` runs); x is "epoch" or "cpu_minutes".
    A star marks each run's best FID."""
    fig = _fig(fig, (10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    shown = 0
    for name, history in histories.items():
        rows = [h for h in history if "val_fid" in h]
        if not rows:
            continue
        shown += 1
        xs = [h["epoch"] if x == "epoch" else h.get("cpu_seconds", float("nan")) / 60 for h in rows]
        fids = [h["val_fid"] for h in rows]
        line, = ax1.plot(xs, fids, marker=".", label=name)
        k = int(np.argmin(fids))
        ax1.plot(xs[k], fids[k], marker="*", ms=14, color=line.get_color())
        ax2.plot(xs, [h["val_consistency"] for h in rows], marker=".", label=name)
    xlabel = "epoch" if x == "epoch" else "CPU-minutes"
    ax1.set(xlabel=xlabel, ylabel="FID vs real validation photos", title="Validation FID")
    ax2.set(xlabel=xlabel, ylabel="judged as its own class", title="Class consistency",
            ylim=(-0.02, 1.02))
    if shown:
        ax1.legend(fontsize=8)
        ax2.legend(fontsize=8)
    else:
        for ax in (ax1, ax2):
            ax.text(0.5, 0.5, "no validation scores\n(train with keep_best='fid')",
                    ha="center", va="center", transform=ax.transAxes, color="grey")
    if title:
        fig.suptitle(title)
    return fig


def sample_evolution(paths: Sequence, titles: Sequence[str] | None = None, fig=None,
                     width: float = 3.2):
    """Saved sample-grid images (e.g. a run's samples/epoch_NNNN.png) side by side."""
    from PIL import Image

    paths = list(paths)
    fig = _fig(fig, (width * len(paths), width * 1.15))
    axes = np.atleast_1d(fig.subplots(1, len(paths), squeeze=False)).ravel()
    for i, (ax, path) in enumerate(zip(axes, paths)):
        with Image.open(path) as img:
            show_image(ax, np.asarray(img.convert("L")), titles[i] if titles else None)
    return fig


# ----------------------------------------------------------------------------- 07 results

def class_sample_grid(grid: np.ndarray, class_names: Sequence[str], fig=None, cell: float = 0.9,
                      title: str | None = None):
    """Generated samples, one row per class: `grid` is (classes, n, H, W, C) (Sampler.class_grid)."""
    fig = image_grid(list(grid), row_labels=list(class_names), fig=fig, cell=cell)
    if title:
        fig.suptitle(title)
    return fig


def same_noise_grid(images: np.ndarray, class_names: Sequence[str], fig=None, cell: float = 0.9):
    """(n, classes, H, W, C) from Sampler.same_noise: one noise vector per row, one class per column."""
    fig = image_grid(list(images), row_labels=[f"noise {i + 1}" for i in range(len(images))],
                     col_titles=list(class_names), fig=fig, cell=cell)
    fig.suptitle("Same noise in each row, a different class in each column")
    return fig


def interpolation_strip(strips: np.ndarray, fig=None, cell: float = 0.9, title: str | None = None):
    """(rows, steps, H, W, C) from Sampler.interpolate: each row walks between two noise vectors."""
    steps = strips.shape[1]
    cols = [f"t={t:.2f}" for t in np.linspace(0, 1, steps)]
    fig = image_grid(list(strips), col_titles=cols, fig=fig, cell=cell)
    if title:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------- 09 evaluation

def metric_bars(comparisons, fig=None, panel: float = 2.3):
    """One panel per metrics.Comparison: the synthetic value beside its reference (grey)."""
    comparisons = list(comparisons)
    fig = _fig(fig, (panel * len(comparisons), 2.9))
    axes = np.atleast_1d(fig.subplots(1, len(comparisons), squeeze=False)[0])
    for ax, c in zip(axes, comparisons):
        vals = [c.value, c.reference]
        bars = ax.bar(["synthetic", "reference"], vals, color=["#4c72b0", "#bbbbbb"])
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{v:.3g}", ha="center",
                    va="bottom", fontsize=8)
        ax.set_title(f"{c.metric}\n({c.better} is better)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.margins(y=0.2)
    return fig


def per_class_bars(values: Mapping[str, float], references: Mapping[str, float], ax=None,
                   labels: tuple[str, str] = ("synthetic", "reference"),
                   title: str = "Per class", ylabel: str = "share correct"):
    """Grouped bars per class: a value and its reference side by side."""
    fig, ax = _ax(ax, (8, 3.2))
    names = list(values)
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, [values[n] for n in names], 0.4, label=labels[0], color="#4c72b0")
    ax.bar(pos + 0.2, [references.get(n, np.nan) for n in names], 0.4, label=labels[1],
           color="#bbbbbb")
    ax.set_xticks(pos, names, rotation=30, fontsize=8)
    ax.set_ylabel(ylabel), ax.set_ylim(0, 1.05), ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return fig


def nearest_pairs(pairs: np.ndarray, distances: Sequence[float], threshold: float | None = None,
                  fig=None, cell: float = 1.1):
    """Closest synthetic images (top) above their nearest training image (bottom), with
    distances; `pairs` is (k, 2, H, W, C) as in metrics.Memorisation.pairs."""
    cols = [f"d={d:.3f}" + (" *" if threshold is not None and d <= threshold else "")
            for d in distances]
    fig = image_grid([list(pairs[:, 0]), list(pairs[:, 1])], row_labels=["synthetic", "nearest\ntrain"],
                     col_titles=cols, fig=fig, cell=cell)
    note = f" (* under the threshold {threshold:.3f})" if threshold is not None else ""
    fig.suptitle("Synthetic images closest to a training image" + note, fontsize=9)
    return fig


# ----------------------------------------------------------------------------- 08 cut and paste

def mask_overlay(image: np.ndarray, mask: np.ndarray, ax=None, truth: np.ndarray | None = None,
                 title: str | None = None):
    """A photo (uint8 RGB) with its garment mask: outside dimmed, the outline in red. With
    `truth` (a known mask), errors are coloured instead: red where the mask took background,
    blue where it missed garment."""
    fig, ax = _ax(ax, (3, 3.6))
    img = to_display(image)
    m = mask >= 128 if mask.dtype == np.uint8 else mask.astype(bool)
    shown = img * np.where(m, 1.0, 0.35)[..., None] if img.ndim == 3 else img
    if truth is not None:
        shown = shown.copy()
        shown[m & ~truth] = (0.9, 0.1, 0.1)
        shown[~m & truth] = (0.1, 0.3, 0.95)
    show_image(ax, (np.clip(shown, 0, 1) * 255).astype(np.uint8), title)
    ax.contour(m.astype(float), levels=[0.5], colors=["#ff3030"], linewidths=1.0)
    return fig


def mask_overlays(items: Sequence[tuple], fig=None, ncols: int = 6, cell: float = 1.9):
    """A grid of mask_overlay panels: items are (image, mask, title) or (image, mask, title, truth)."""
    n = len(items)
    nrows = max(1, -(-n // ncols))
    fig = _fig(fig, (cell * min(n, ncols), cell * 1.25 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, min(n, ncols), squeeze=False)).ravel()
    for ax, item in zip(axes, items):
        image, mask, title = item[:3]
        mask_overlay(image, mask, ax=ax, truth=item[3] if len(item) > 3 else None, title=title)
    for ax in axes[n:]:
        ax.axis("off")
    return fig


def annotated_scene(image: np.ndarray, boxes: Sequence[Sequence[float]], labels: Sequence[int],
                    class_names: Sequence[str], masks: Sequence[np.ndarray] | None = None, ax=None,
                    title: str | None = None):
    """A scene with its instance masks (tinted) and boxes (x, y, w, h) labelled by class."""
    from matplotlib.patches import Rectangle

    fig, ax = _ax(ax, (5, 5))
    img = to_display(image).copy()
    colors = plt.get_cmap("tab10")
    for k, m in enumerate(masks or []):
        c = np.array(colors(labels[k] % 10)[:3])
        img[m] = 0.5 * img[m] + 0.5 * c
    show_image(ax, (np.clip(img, 0, 1) * 255).astype(np.uint8), title)
    for (x, y, w, h), lab in zip(boxes, labels):
        c = colors(lab % 10)
        # Boxes are pixel edges: pixel i covers [i - 0.5, i + 0.5] in imshow's coordinates.
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, lw=1.5, ec=c))
        ax.text(x - 0.5, y - 1.5, class_names[lab], color="white", fontsize=7, va="bottom",
                bbox=dict(fc=c, ec="none", pad=1, alpha=0.9))
    return fig


# --- notebook 10: the augmentation study -------------------------------------------------------

STUDY_COLORS = {"gan": "#4c72b0", "cutpaste": "#dd8452", "both": "#55a868", "oracle": "#8c8c8c",
                "noise": "#c44e52", "gan-useful": "#8172b3"}


def study_gains(summary: Mapping, metric: str = "accuracy", ax=None):
    """Paired gain over real-only (points) by share of real photos: a line per method, markers
    per recipe, error bars one sd over seeds (clothgan.study.summarize output)."""
    fig, ax = _ax(ax, (8.4, 4))
    methods = [m for m in summary["methods"] if m != "none"]
    for i, m in enumerate(methods):
        rows = [r for r in summary["rows"] if r["method"] == m and "gain" in r]
        if not rows:
            continue
        f = np.array([r["fraction"] for r in rows]) * (1 + 0.03 * (i - len(methods) / 2))
        g, e = ([100 * r["gain"][metric][k] for r in rows] for k in ("mean", "std"))
        style = (dict(marker="s^vD<>P*"[i % 8], ls="none", mfc="white") if "+" in m   # a recipe
                 else dict(marker="o", **(dict(ls="--", lw=1) if m in ("oracle", "noise") else dict(lw=1.8))))
        ax.errorbar(f, g, yerr=e, capsize=3, label=m, color=STUDY_COLORS.get(m.split("+")[0]), **style)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(summary["fractions"], [f"{100 * t:g}%" for t in summary["fractions"]])
    ax.minorticks_off()
    ax.set(xlabel="share of the real training photos", ylabel=f"{metric.replace('_', ' ')} gain (points)",
           title="What adding images does to a classifier (paired by seed, ±1 sd)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
