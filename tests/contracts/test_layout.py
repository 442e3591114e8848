"""The package's layout: folders in pipeline order, imports only downwards, no cycles, small modules.

The import graph is read from the source (every import, lazy ones inside functions too), so a
cycle or an upward import fails here before it can bite at run time.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "clothgan"

#: The layers, lowest first: a module may import its own layer and the layers before it.
#: (evaluation sits below training: training keeps the generator the judge scores best.)
#: Parts on one floor share an entry: runs.py owns the run directory, labelled.py the labelled
#: dataset folder, and neither imports the other.
LAYERS = ["errors", "config", "core", "runs labelled", "data", "gan", "evaluation", "training",
          "pretrained", "sampling", "cutpaste", "study", "course", "cli", ""]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The clothgan modules `name` imports (resolved to modules, not names in them)."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                root = base[: len(base) - node.level + 1]
                module = ".".join(root + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            # A package re-exporting its own submodules is not an import of itself.
            if t and t != name and not (is_package and t.startswith(name + ".")):
                found.add(t)
    return found


@functools.lru_cache(maxsize=1)
def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, set(mods)) for m, p in mods.items()}


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top == "__main__":
        top = ""
    return next(i for i, floor in enumerate(LAYERS) if top in floor.split(" "))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_reader_sees_lazy_and_relative_imports():
    graph = _graph()
    assert "clothgan.data.source" in graph["clothgan.data.inventory"]     # from .source import
    assert "clothgan.pretrained" in graph["clothgan.course.notebook"]      # inside a function
    assert "clothgan.gan.layers" in graph["clothgan.gan.saved"]           # from . import layers


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_a_planted_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_top_level_part_has_a_layer():
    tops = {m.split(".")[1] for m in _modules() if m.count(".") >= 1}
    named = {part for floor in LAYERS for part in floor.split(" ")}
    assert tops - {"__main__"} <= named, "add the new folder to LAYERS (and docs/architecture.md)"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_go_only_downwards(module):
    upward = sorted(t for t in _graph()[module] if _layer(t) > _layer(module))
    assert not upward, f"{module} imports from a later stage: {upward}"


def test_no_module_is_too_long_and_none_imports_by_name():
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_LINES, f"{name}: split it (over {MAX_LINES} lines)"
        assert "importlib" not in text, f"{name}: import shipped code directly, not through importlib"
