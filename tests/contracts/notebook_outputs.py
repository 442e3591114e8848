"""What an executed notebook must show: a figure from every cell that promises one (tagged
`figure`), and none of TensorFlow's start-up noise, which reads as a crash to a learner.

Used by notebooks/conftest.py on every notebook nbmake runs; tests/contracts/test_notebook_outputs.py
checks the checker.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

FIGURE_TAG = "figure"
#: Lines of TensorFlow's, CUDA's and grappler's C++ logging (absl's "I0000 00:00:..." prefix
#: included), never meant for a learner; and Keras's warning that fit() ignores shuffle=True on
#: a tf.data.Dataset (the notebooks' datasets shuffle themselves: pass shuffle=False).
NOISE = re.compile(r"(^|\n)[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cuInit|cudart_stub|"
                   r"oneDNN custom operations|cpu_feature_guard|remapper|meta_optimizer|"
                   r"Unable to register cu\w+ factory|rebuild TensorFlow with|"
                   r"`shuffle=True` was passed")


@contextmanager
def learner_environment():
    """os.environ as a learner's JupyterLab kernel gets it, for kernels started inside: the
    inline plotting backend, and neither the test session's TF_CPP_MIN_LOG_LEVEL nor pytest's
    PYTEST_CURRENT_TEST, under which ipykernel stops sending what the process writes to file
    descriptors 1 and 2 (TensorFlow's C++ logging) to the cell."""
    saved = dict(os.environ)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    for name in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST"):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") if output.get("output_type") in ("execute_result", "display_data") else ""


def problems(nb) -> list[str]:
    """What is wrong with an executed notebook's outputs, one line each (empty: nothing)."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs", [])
        tags = cell.get("metadata", {}).get("tags", [])
        if FIGURE_TAG in tags and not any("image/png" in o.get("data", {}) for o in outputs):
            found.append(f"cell {i} promises a figure (tag {FIGURE_TAG!r}) and shows none")
        for o in outputs:
            m = NOISE.search(_text(o))
            if m:
                line = _text(o)[max(0, m.start() - 40): m.end() + 60].strip().replace("\n", " ")
                found.append(f"cell {i} prints TensorFlow noise: ...{line}...")
                break
    return found
