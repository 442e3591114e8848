#!/usr/bin/env python3
"""Write the Colab install lines into every notebook's first cell and the "Open in Colab" links
into README.md's notebook table, both from notebooks/colab_setup.py (REPOSITORY, RELEASE).

    python .ci/write_colab_setup.py

Only those lines change: the rest of each first cell (its `setup(...)` call), every other cell
and the notebooks' JSON layout stay as they are. Running it again changes nothing;
tests/contracts/test_colab.py fails until it has been run after colab_setup.py changed.
"""
import importlib.util
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: A README table row of a lesson: | `NN_name` | what it teaches | (an Open in Colab link) |
ROW = re.compile(r"^\| `(\d\d_\w+)` \|([^|]*)\|(?: \[open in Colab\]\([^)]*\) \|)?\s*$")
HEADER = ("| notebook | what it teaches |", "| notebook | what it teaches | Colab |")
RULE = ("| --- | --- |", "| --- | --- | --- |")


def colab_setup():
    spec = importlib.util.spec_from_file_location("colab_setup", NOTEBOOKS / "colab_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebooks() -> list:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted(NOTEBOOKS.glob("solutions/*.ipynb"))


def with_install_lines(source: str, install: list) -> str:
    """SOURCE with its leading Colab block (import sys, the `if "google.colab"` line and what
    it indents) replaced by INSTALL."""
    lines = source.split("\n")
    start = 0
    if lines and lines[0] == "import sys":
        start = 1
        if len(lines) > 1 and lines[1].startswith('if "google.colab" in sys.modules'):
            start = 2
            while start < len(lines) and lines[start].startswith("    "):
                start += 1
    return "\n".join(install + lines[start:])


def write_notebook(path: Path, install: list) -> bool:
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    new = with_install_lines("".join(cell["source"]), install)
    if new == "".join(cell["source"]):
        return False
    cell["source"] = new.splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def readme_with_links(text: str, link) -> str:
    out = []
    for line in text.split("\n"):
        found = ROW.match(line)
        if found:
            name, teaches = found.groups()
            line = f"| `{name}` |{teaches}| [open in Colab]({link(f'notebooks/{name}.ipynb')}) |"
        elif line.strip() in (HEADER[0], RULE[0]):
            line = HEADER[1] if line.strip() == HEADER[0] else RULE[1]
        out.append(line)
    return "\n".join(out)


def main() -> int:
    setup = colab_setup()
    changed = [p for p in notebooks() if write_notebook(p, setup.install_lines())]
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = readme_with_links(text, setup.colab_link)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        changed.append(readme)
    for path in changed:
        print(f"rewrote {path.relative_to(ROOT)}")
    print(f"{len(changed)} files rewritten from notebooks/colab_setup.py "
          f"({setup.REPOSITORY} at {setup.RELEASE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
