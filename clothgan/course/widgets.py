"""Interactive generator explorer for notebooks (ipywidgets), with a static image fallback.

The explorer is displayed as a widget *and* a PNG in one output: JupyterLab, Jupyter Notebook 7
and Colab (custom widget manager enabled here) render the live widget; anything without a widget
front end (nbconvert, GitHub's viewer, a headless run under nbmake) shows the PNG of the
starting settings instead.
"""
from __future__ import annotations

import base64
import io

ALL = "all classes"


def render_samples(sampler, cls: str, seed: int, count: int) -> bytes:
    """PNG bytes of `count` samples of one class (or every class) for a seed."""
    import matplotlib.pyplot as plt

    from .plots import class_sample_grid

    classes = list(sampler.class_names) if cls == ALL else [cls]
    grid = sampler.class_grid(count, seed=seed, classes=classes)
    fig = class_sample_grid(grid, classes, cell=0.8,
                            title=f"seed {seed}: samples 0-{count - 1} (the files `generate` writes)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


class GeneratorExplorer:
    """Class, seed and count controls over a generator's samples; see the module docstring."""

    def __init__(self, sampler, cls: str | None = None, seed: int = 0, count: int = 8,
                 max_count: int = 32):
        import ipywidgets as w

        from .notebook import in_colab

        if in_colab():   # Colab renders ipywidgets 8 only through its custom widget manager
            try:
                from google.colab import output
                output.enable_custom_widget_manager()
            except ImportError:
                pass
        self.sampler = sampler
        cls = cls or ALL
        self.cls = w.Dropdown(options=[ALL, *sampler.class_names], value=cls, description="class")
        self.seed = w.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.count = w.IntSlider(value=count, min=1, max=max_count, description="count")
        self.image = w.Image(format="png")
        for control in (self.cls, self.seed, self.count):
            control.observe(self._update, names="value")
        self.widget = w.VBox([w.HBox([self.cls, self.seed, self.count]), self.image])
        self._update()
        self._static = bytes(self.image.value)   # the starting view, for front ends without widgets

    def _update(self, change=None) -> None:
        self.image.value = render_samples(self.sampler, self.cls.value, int(self.seed.value),
                                          int(self.count.value))

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle)
        bundle["image/png"] = base64.b64encode(self._static).decode("ascii")
        bundle["text/plain"] = (f"GeneratorExplorer(class={self.cls.value!r}, seed={self.seed.value}, "
                                f"count={self.count.value}); open in JupyterLab or Colab to interact")
        return bundle


def generator_explorer(sampler, cls: str | None = None, seed: int = 0, count: int = 8) -> GeneratorExplorer:
    """An explorer over `sampler` (clothgan.sampling.Sampler); display it as a cell's result."""
    return GeneratorExplorer(sampler, cls, seed, count)
