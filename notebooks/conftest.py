"""Every notebook nbmake runs is executed as a learner's JupyterLab would run it (the inline
plotting backend, no TF_CPP_MIN_LOG_LEVEL of the test session's, what the kernel process writes
to its stderr shown in the cell) and then checked: each cell tagged `figure` shows one, and no
output holds TensorFlow's start-up noise (tests/contracts/notebook_outputs.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contracts"))

import notebook_outputs  # noqa: E402

try:
    from nbmake import pytest_items
    from nbmake.nb_result import NotebookError
except ImportError:       # nbmake not installed: nothing runs notebooks, nothing to check
    pytest_items = None

if pytest_items is not None:
    class CheckedRun(pytest_items.NotebookRun):
        def execute(self):
            with notebook_outputs.learner_environment():
                result = super().execute()     # the kernel starts with this environment
            if result.error is None:
                found = notebook_outputs.problems(result.nb)
                if found:
                    result.error = NotebookError(summary=found[0], trace="\n".join(found),
                                                 failing_cell_index=-1)
            return result

    pytest_items.NotebookRun = CheckedRun
