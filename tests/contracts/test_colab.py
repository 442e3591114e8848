"""Colab: the install is defined in one place (notebooks/colab_setup.py); every notebook's
first cell and the README's "Open in Colab" links agree with it (.ci/write_colab_setup.py writes
them), and a failed download or install shows a one-line reason in the kernel's own Python."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ALL = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted(NOTEBOOKS.glob("solutions/*.ipynb"))
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


setup = load(NOTEBOOKS / "colab_setup.py", "colab_setup")


def first_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_first_cell_installs_from_the_one_place(path):
    lines = first_cell(path).splitlines()
    assert lines[:3] == setup.install_lines()
    assert any("setup(seed=" in x for x in lines[3:])


def test_the_install_lines_fetch_the_published_setup_and_run_it_with_the_kernels_python():
    line = setup.install_lines()[2]
    assert setup.SETUP_URL in line and "{sys.executable} colab_setup.py" in line
    assert "curl -fsS" in line and " python " not in line      # -f: an HTTP error fails, -S: says why
    assert setup.SETUP_URL.endswith(f"/{setup.RELEASE}/notebooks/colab_setup.py")
    assert f"github.com/{setup.REPOSITORY}@{setup.RELEASE}" in setup.SOURCE


def test_the_readme_opens_every_lesson_in_colab_from_the_one_place():
    readme = (ROOT / "README.md").read_text()
    for path in LESSONS:
        assert f"[open in Colab]({setup.colab_link(f'notebooks/{path.name}')})" in readme, path.name
    prefix = setup.colab_link("")
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for url in re.findall(r"https://colab\.research\.google\.com/github/[^\s)>]+", doc.read_text()):
            assert url.startswith(prefix), f"{doc.name}: {url} is not from notebooks/colab_setup.py"


def test_the_writer_changes_nothing_when_all_agree(tmp_path):
    writer = load(ROOT / ".ci" / "write_colab_setup.py", "write_colab_setup")
    for path in ALL:
        text = path.read_text()
        cell = first_cell(path)
        assert writer.with_install_lines(cell, setup.install_lines()) == cell
        old = cell.replace(setup.install_lines()[2], "    !wget -q -N http://old && python colab_setup.py")
        assert writer.with_install_lines(old, setup.install_lines()) == cell
        assert json.dumps(json.loads(text), indent=1, ensure_ascii=False) + "\n" == text
    readme = (ROOT / "README.md").read_text()
    assert writer.readme_with_links(readme, setup.colab_link) == readme


def test_a_failed_install_says_why_in_one_line(tmp_path):
    missing = tmp_path / "no-such-checkout"
    env = {"PATH": "/usr/bin:/bin", "CLOTHGAN_INSTALL_SOURCE": str(missing), "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(NOTEBOOKS / "colab_setup.py")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode != 0
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"clothgan is not installed: `pip install {missing}` failed: ")
    assert (tmp_path / "clothgan-install.log").read_text()


@pytest.mark.slow
def test_the_first_cell_on_colab_names_a_failed_download_or_install(tmp_path):
    """The Colab branch run in a real kernel (google.colab faked): a download that fails and an
    install that fails each leave one line saying why; the setup runs in the kernel's Python."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    colab = setup.install_lines()[:3]
    served = (NOTEBOOKS / "colab_setup.py").as_uri()
    cells = ['import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")\n'
             f'%env CLOTHGAN_INSTALL_SOURCE={tmp_path / "no-such-checkout"}',
             "\n".join(colab).replace(setup.SETUP_URL, served + ".missing"),
             "\n".join(colab).replace(setup.SETUP_URL, served)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=180, resources={"metadata": {"path": str(tmp_path)}}).execute()

    def said(i):
        return "".join(o.get("text", "") for o in nb.cells[i].outputs).strip().splitlines()

    assert len(said(1)) == 1 and said(1)[0].startswith("curl: (37)")   # file not found, one line
    assert len(said(2)) == 1 and said(2)[0].startswith("clothgan is not installed: `pip install ")
