"""clothgan: synthetic labelled clothing images (cut-and-paste and a conditional GAN).

The verbs, in pipeline order (each is the function behind the command of the same name):

    clothgan.prepare(DataConfig())           photos -> cached training arrays, with a report
    clothgan.train("runs/default")            a conditional GAN into a run directory
    clothgan.generate(run, 100, "synthetic")  a labelled synthetic dataset from a run
    clothgan.evaluate("synthetic")            its scores against real held-out photos
    clothgan.compose("scenes", 500)           cut-and-paste scenes or classification images

The package is laid out as the pipeline (clothgan.data, .gan, .evaluation, .training,
.pretrained, .sampling, .cutpaste, .study, .course, .cli; docs/architecture.md), with shared
helpers in clothgan.core and the run directory and labelled dataset folder contracts in
clothgan.runs and clothgan.labelled. Importing the package is cheap: TensorFlow
loads only when a verb that needs it is first used.
"""
from __future__ import annotations

from .config import CLASSES, VERSION, DataConfig, fast_mode

__version__ = VERSION
_VERBS = ("prepare", "train", "generate", "evaluate", "compose")


def __getattr__(name: str):
    # Explicit imports, resolved on first use, so `import clothgan` never imports TensorFlow.
    if name == "prepare":
        from .data.report import prepare as verb
    elif name == "train":
        from .training.train import train as verb
    elif name == "generate":
        from .sampling.write import generate as verb
    elif name == "evaluate":
        from .evaluation.evaluate import evaluate as verb
    elif name == "compose":
        from .cutpaste.dataset import compose as verb
    else:
        raise AttributeError(f"module 'clothgan' has no attribute {name!r}")
    return verb


__all__ = ["CLASSES", "DataConfig", "__version__", "fast_mode", *_VERBS]
