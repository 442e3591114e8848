"""End to end in a real browser: notebook 07's generator explorer, live in JupyterLab.

The test starts JupyterLab (free port, random token) over a temporary copy of the notebooks in
which notebook 07 ends at its explorer cell: the code cell tagged `explorer`, else the first code
cell calling `generator_explorer(`. It opens that notebook in headless Chromium, driven by
Playwright with the system's Chromium (a test tool's own browser download does not work on the
CI machines), runs Run > Run All Cells, i.e. the explorer cell and every cell before it, and
checks that the explorer rendered as a live widget (not the static PNG fallback) whose image
is redrawn, with different samples, when the class dropdown changes and again when the seed (the
noise) changes. Screenshots go to the test's tmp dir; failure messages name them.

Under CI=true a missing browser or Playwright is a failure, never a skip.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "07_results.ipynb"
EXPLORER_TAG = "explorer"
EXPLORER_CALL = "generator_explorer("
ALL_CLASSES = "all classes"   # clothgan.course.widgets.ALL: the dropdown's every-class entry

# Known to work with Debian's Chromium on a machine whose network is closed.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]

# Bounded waits in seconds, generous for 2 busy cores (the test takes ~35 s there). Each one
# that runs out fails the test with what the page showed.
SERVER_START_S = 60    # JupyterLab answers /api/status
KERNEL_READY_S = 60    # the notebook is in the page and its kernel idle
RUN_CELLS_S = 150      # Run All Cells, until the explorer's image is drawn (fast mode)
SETTLE_S = 15          # after the last cell ends, for its widget to appear
UPDATE_S = 45          # the image is redrawn after one control changes
ACTION_MS = 20_000     # one Playwright click, fill or screenshot

# A redraw must change the samples, not just a caption such as "seed 42" (about 0.1%).
MIN_CHANGED = 0.02

pytestmark = pytest.mark.slow


def _missing(what: str) -> None:
    """Skip outside CI; under CI=true a missing browser is a failure."""
    msg = f"the browser test needs {what}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{msg} (CI=true; .ci/run installs Debian's chromium and the dev extra)",
                    pytrace=False)
    pytest.skip(msg)


def _chromium_path() -> str:
    wanted = os.environ.get("CLOTHGAN_CHROMIUM")
    for name in ([wanted] if wanted else ["chromium", "chromium-browser"]):
        found = shutil.which(name)
        if found:
            return found
    _missing(f"Chromium ({wanted or 'chromium'} not found: `apt-get install chromium`, "
             f"or set CLOTHGAN_CHROMIUM to a Chromium executable)")
    raise AssertionError("unreachable")


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def explorer_cell_index(cells: list[dict]) -> int:
    """The code cell tagged `explorer`, else the first code cell calling generator_explorer(."""
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    for i, c in code:
        if EXPLORER_TAG in (c.get("metadata", {}).get("tags") or []):
            return i
    for i, c in code:
        if EXPLORER_CALL in _cell_source(c):
            return i
    raise AssertionError(f"{NOTEBOOK}: no code cell tagged {EXPLORER_TAG!r} or calling "
                         f"{EXPLORER_CALL!r}")


def prepare_notebooks(root: Path) -> tuple[str, int, int]:
    """Copy the notebooks to `root`, notebook 07 cut after its explorer cell, outputs cleared.

    Returns notebook 07's file name, the explorer cell's index and the number of cells kept.
    """
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    idx = explorer_cell_index(nb["cells"])
    nb["cells"] = nb["cells"][: idx + 1]
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / NOTEBOOK.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return NOTEBOOK.name, idx, len(nb["cells"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(settings: Path) -> None:
    """User settings for a quiet, predictable JupyterLab: no news or update checks (the network
    is closed) and every cell kept in the page (no virtual scrolling)."""
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


class Lab:
    """A JupyterLab server over `root` in a process group of its own; stop() ends it and its kernels."""

    def __init__(self, root: Path, work: Path):
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = work / "jupyterlab.log"
        dirs = {d: work / d for d in ("config", "runtime", "settings", "workspaces", "ipython")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        _lab_settings(dirs["settings"])
        env = dict(os.environ)   # CLOTHGAN_HOME is the test's own (conftest), CLOTHGAN_FAST CI's
        env.pop("MPLBACKEND", None)   # the kernel picks the inline backend, as for a learner
        env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
                   JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
                   JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
                   # the kernel imports this checkout's clothgan
                   PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
               # a backstop should this process die without stopping the server
               "--ServerApp.shutdown_no_activity_timeout=600",
               "--MappingKernelManager.cull_idle_timeout=600",
               "--MappingKernelManager.cull_interval=60"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:   # CI runs as root
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def api(self, path: str, method: str = "GET", timeout: float = 5):
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited with {self.proc.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                self.api("/api/status", timeout=2)
                return
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.5)
        raise AssertionError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def wait_kernel_idle(self, name: str, timeout: float) -> None:
        end, state = time.monotonic() + timeout, None
        while time.monotonic() < end:
            try:
                for s in self.api("/api/sessions", timeout=2) or []:
                    if s.get("path", "").endswith(name) and s.get("kernel"):
                        state = s["kernel"].get("execution_state")
                        if state == "idle":
                            return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"{name}'s kernel was not idle within {timeout:.0f} s (last state "
                             f"{state}):\n{self.log_tail()}")

    def _descendants(self) -> list:
        try:
            import psutil   # ipykernel's dependency
            return psutil.Process(self.proc.pid).children(recursive=True)
        except Exception:   # psutil missing, or the server already gone
            return []

    def stop(self) -> None:
        """Shut the server and its kernels down; kill whatever of them is left."""
        children = self._descendants()   # kernels run in sessions of their own: remember them
        if self.proc.poll() is None:
            try:
                self.api("/api/shutdown", method="POST", timeout=5)
            except (urllib.error.URLError, OSError, ValueError):
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(self.proc.pid, sig)
                        self.proc.wait(timeout=10)
                        break
                    except ProcessLookupError:
                        break
                    except subprocess.TimeoutExpired:
                        continue
        for child in children:
            try:
                if child.is_running():
                    child.kill()
                    child.wait(timeout=10)
            except Exception:   # already gone
                pass
        self._log.close()


@pytest.fixture
def chromium():
    """The system's Chromium and Playwright's sync API, or a skip (a failure under CI=true)."""
    path = _chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright (in the dev extra: pip install -e '.[dev]')")
    return path, sync_playwright


@pytest.fixture
def lab(tmp_path):
    """JupyterLab over a copy of the notebooks; always stopped, kernels and all."""
    root = tmp_path / "notebooks"
    name, idx, ncells = prepare_notebooks(root)
    server = Lab(root, tmp_path / "jupyter")
    server.notebook, server.explorer_index, server.ncells = name, idx, ncells
    try:
        server.wait_ready(SERVER_START_S)
        yield server
    finally:
        server.stop()


# In the page: the state of the run and of the explorer cell, all the test waits on or reports.
_STATE_JS = r"""(idx) => {
  const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell');
  const running = [...cells].filter(
      c => (c.querySelector('.jp-InputPrompt')?.textContent || '').includes('*')).length;
  const stderr = [...document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map(o => o.textContent);
  const errors = stderr.filter(
      t => /Traceback \(most recent call last\)|^[\w.]*(Error|Exception|Interrupt)\b.*: /m.test(t));
  const cell = cells[idx];
  const out = cell && cell.querySelector('.jp-OutputArea');
  const img = out && out.querySelector('img.widget-image');
  const select = out && out.querySelector('.widget-dropdown select');
  return {
    cells: cells.length, running, errors, stderr: stderr.join('\n').slice(-1500),
    prompt: cell ? cell.querySelector('.jp-InputPrompt')?.textContent || '' : null,
    output: out ? out.innerText.slice(0, 1000) : '',
    fallback: !!(out && out.querySelector('.jp-RenderedImage')),
    widget: !!select,
    src: img ? img.src : null,
    drawn: !!(img && img.complete && img.naturalWidth > 0),
    options: select ? [...select.options].map(o => o.value) : [],
    value: select ? select.value : null,
  };
}"""

# In the page: true once the explorer's image shows a new picture, fully decoded.
_REDRAWN_JS = """([idx, old]) => {
  const cell = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')[idx];
  const img = cell && cell.querySelector('.jp-OutputArea img.widget-image');
  return !!img && img.src !== old && img.complete && img.naturalWidth > 0;
}"""


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def changed_fraction(a: Path, b: Path) -> float:
    """The share of pixels that differ between two screenshots (1.0 when their sizes differ)."""
    pa, pb = _pixels(a), _pixels(b)
    if pa.shape != pb.shape:
        return 1.0
    return float(np.mean(np.any(np.abs(pa - pb) > 8, axis=-1)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def test_explorer_updates_in_a_real_browser(chromium, lab, tmp_path):
    chromium_path, sync_playwright = chromium
    from playwright.sync_api import Error as PlaywrightError

    shots = tmp_path / "screenshots"
    shots.mkdir()
    idx = lab.explorer_index
    page_errors: list[str] = []
    timings: dict[str, float] = {}
    t0 = time.monotonic()

    def mark(phase: str) -> None:
        timings[phase] = round(time.monotonic() - t0, 1)

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium_path, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(ACTION_MS)
            page.on("pageerror", lambda e: page_errors.append(str(e)))

            def state() -> dict:
                return page.evaluate(_STATE_JS, idx)

            def fail(why: str) -> None:
                try:
                    page.screenshot(path=str(shots / "page-at-failure.png"), full_page=True)
                except PlaywrightError:
                    pass
                try:
                    st = state()
                except PlaywrightError as e:   # the page itself is broken
                    st = {"state": repr(e)}
                pytest.fail(f"{why}\nexplorer cell {idx} of {lab.notebook}: {st}\n"
                            f"timings (s): {timings}\npage errors: {page_errors[-10:]}\n"
                            f"screenshots: {sorted(str(p) for p in shots.iterdir())}\n"
                            f"JupyterLab log tail:\n{lab.log_tail(1500)}", pytrace=False)

            # 1. Open the notebook; wait for all its cells and an idle kernel.
            page.goto(f"{lab.base}/lab/tree/{lab.notebook}?token={lab.token}",
                      wait_until="domcontentloaded", timeout=KERNEL_READY_S * 1000)
            cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
            cells.nth(lab.ncells - 1).wait_for(state="attached", timeout=KERNEL_READY_S * 1000)
            lab.wait_kernel_idle(lab.notebook, KERNEL_READY_S)
            mark("notebook open, kernel idle")

            # 2. Run > Run All Cells: the copy ends at the explorer cell, so this runs it and
            # every cell before it. Wait for the explorer's image, failing early on an error.
            page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
            clicked = time.monotonic()
            started, finished = False, None
            while True:
                st = state()
                if st["errors"]:
                    fail("a cell raised:\n" + "\n".join(st["errors"])[-3000:])
                if st["widget"] and st["drawn"]:
                    break
                now = time.monotonic()
                started = started or st["running"] > 0
                if not started and now > clicked + SETTLE_S:
                    fail("Run > Run All Cells started nothing")
                if started and st["running"] == 0:
                    finished = finished or now   # a widget appears a moment after its cell ends
                    if now > finished + SETTLE_S:
                        fail("every cell ran but no live explorer widget was drawn"
                             + (" (the static PNG fallback shows instead)" if st["fallback"] else ""))
                if now > clicked + RUN_CELLS_S:
                    fail(f"the explorer was not drawn within {RUN_CELLS_S} s of Run All Cells")
                time.sleep(0.5)
            mark("explorer drawn")

            # The live widget, not the PNG fallback: a class dropdown and a seed box beside the image.
            output = cells.nth(idx).locator(".jp-OutputArea")
            image = output.locator("img.widget-image")
            dropdown = output.locator(".widget-dropdown select")
            seed = output.locator(".widget-text", has=page.locator("label", has_text="seed")).locator("input")
            if seed.count() != 1:   # the label changed: the explorer's one number box
                seed = output.locator(".widget-text input[type=number]")
            if st["fallback"] or image.count() != 1 or dropdown.count() != 1 or seed.count() != 1:
                fail("the explorer's output is not one live widget with a class dropdown, a seed "
                     f"box and an image ({image.count()} images, {dropdown.count()} dropdowns, "
                     f"{seed.count()} seed boxes)")
            assert dropdown.is_enabled() and seed.is_editable(), "the explorer's controls are disabled"
            assert len(st["options"]) >= 2, f"the class dropdown offers {st['options']}"

            def snapshot(name: str) -> Path:
                path = shots / f"{name}.png"
                image.screenshot(path=str(path), animations="disabled")
                return path

            def wait_redrawn(old_src: str, what: str) -> None:
                try:
                    page.wait_for_function(_REDRAWN_JS, arg=[idx, old_src],
                                           timeout=UPDATE_S * 1000, polling=250)
                    return
                except PlaywrightError as e:   # its TimeoutError, or the page went away
                    error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
                snapshot(f"not-redrawn-after-{_slug(what)}")
                fail(f"the explorer's image was not redrawn within {UPDATE_S} s after {what} ({error})")

            def assert_differs(a: Path, b: Path, what: str) -> None:
                frac = changed_fraction(a, b)
                assert frac >= MIN_CHANGED, (
                    f"after {what} only {frac:.2%} of the explorer's image changed "
                    f"(want >= {MIN_CHANGED:.0%}): compare {a} and {b}")

            start = snapshot("0-start")

            # 3. Another class (a single one, so both pictures have one layout): the kernel
            # redraws and the page shows different samples.
            before = st["value"]
            other = next((o for o in st["options"] if o not in (before, ALL_CLASSES)),
                         next(o for o in st["options"] if o != before))
            dropdown.select_option(other)
            wait_redrawn(st["src"], f"choosing class {other!r} (was {before!r})")
            mark("class changed")
            by_class = snapshot("1-class")
            assert_differs(start, by_class, f"choosing class {other!r} (was {before!r})")
            st = state()
            assert st["value"] == other, f"the dropdown shows {st['value']!r}, not {other!r}"

            # 4. Another seed: new noise, new samples of the same class.
            old_seed = int(seed.input_value())
            new_seed = old_seed + 1 if old_seed < 2**31 - 1 else old_seed - 1
            seed.fill(str(new_seed))
            seed.press("Enter")
            wait_redrawn(st["src"], f"changing the seed {old_seed} -> {new_seed}")
            mark("seed changed")
            by_seed = snapshot("2-seed")
            assert_differs(by_class, by_seed, f"changing the seed {old_seed} -> {new_seed}")
            assert int(seed.input_value()) == new_seed, f"the seed box shows {seed.input_value()!r}"
            assert not page_errors, f"errors in the page: {page_errors[-10:]} (screenshots in {shots})"
        finally:
            context.close()
    print(f"explorer browser test: timings (s) {timings}; screenshots in {shots}")
