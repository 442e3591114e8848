"""Every notebook nbmake runs is executed as a learner's JupyterLab would run it (the inline
plotting backend, no TF_CPP_MIN_LOG_LEVEL of the test session's, what the kernel process writes
to its stderr shown in the cell) and then checked: each cell tagged `figure` shows one, and no
output holds TensorFlow's start-up noise (tests/contracts/notebook_outputs.py)."""
import sys
from pathlib import Path

import pytest

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


try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:       # pytest-xdist not installed: one process runs everything in order
    LoadScopeScheduling = None

if LoadScopeScheduling is not None:
    class NotebooksTogether(LoadScopeScheduling):
        """pytest-xdist work units: all notebooks as one, in order (they share one cache, and a
        solution may read what its lesson wrote there); each test module as one."""

        def _split_scope(self, nodeid: str) -> str:
            return "notebooks" if nodeid.startswith("notebooks/") else super()._split_scope(nodeid)

    def pytest_xdist_make_scheduler(config, log):
        # Not xdist_group marks: pytest 9.2 drops the test-id suffix that --dist loadgroup reads
        # (pytest-xdist issue 1386), and the marks would silently stop grouping.
        return NotebooksTogether(config, log)
