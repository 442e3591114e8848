"""Every notebook nbmake runs is executed as a learner's JupyterLab would run it (the inline
plotting backend, no TF_CPP_MIN_LOG_LEVEL of the test session's) and then checked: each cell
tagged `figure` shows one, and no output holds TensorFlow's start-up noise
(tests/notebook_outputs.py)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import notebook_outputs  # noqa: E402

try:
    from nbmake import pytest_items
    from nbmake.nb_result import NotebookError
except ImportError:       # nbmake not installed: nothing runs notebooks, nothing to check
    pytest_items = None

if pytest_items is not None:
    class CheckedRun(pytest_items.NotebookRun):
        def execute(self):
            saved = dict(os.environ)
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
            try:
                result = super().execute()     # the kernel starts with this environment
            finally:
                os.environ.clear()
                os.environ.update(saved)
            if result.error is None:
                found = notebook_outputs.problems(result.nb)
                if found:
                    result.error = NotebookError(summary=found[0], trace="\n".join(found),
                                                 failing_cell_index=-1)
            return result

    pytest_items.NotebookRun = CheckedRun
