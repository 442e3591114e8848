"""The course's shape: each notebook starts with the short setup cell, is committed without
outputs, ends with a recap and things to try whose solutions exist (and run, with the
notebooks), copies no code from another notebook, and tags the cells that draw a figure."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = NOTEBOOKS / "solutions"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_is_a_lesson_per_step_and_a_solutions_notebook_per_lesson():
    assert [p.name[:2] for p in LESSONS] == [f"{i:02d}" for i in range(1, len(LESSONS) + 1)]
    assert len(LESSONS) >= 9
    assert sorted(p.name for p in SOLUTIONS.glob("*.ipynb")) == sorted(
        f"{p.stem}_solutions.ipynb" for p in LESSONS)


@pytest.mark.parametrize("path", LESSONS + sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_without_outputs_and_starting_with_the_short_setup_cell(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    setup = source(code[0])
    assert "setup(seed=" in setup and "colab_setup.py" in setup and len(setup.splitlines()) <= 6


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_ends_with_a_recap_and_things_to_try_with_solutions(path):
    last = source(cells(path)[-1])
    assert "## Recap" in last and "## Things to try" in last
    tries = re.findall(r"^\d\. ", last.split("## Things to try")[1], re.M)
    assert 2 <= len(tries) <= 3
    assert f"notebooks/solutions/{path.stem}_solutions.ipynb" in last


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_promises_figures(path):
    assert any("figure" in c.get("metadata", {}).get("tags", []) for c in cells(path)
               if c["cell_type"] == "code")


def test_no_code_is_copied_between_notebooks():
    seen: dict[str, str] = {}
    for path in LESSONS + sorted(SOLUTIONS.glob("*.ipynb")):
        for i, c in enumerate(cells(path)):
            text = source(c).strip()
            if c["cell_type"] != "code" or i == 1 or "setup(seed=" in text or len(text.splitlines()) < 4:
                continue
            assert text not in seen, f"{path.name} repeats a cell of {seen.get(text)}"
            seen[text] = path.name


def test_the_course_names_its_sources_where_it_starts():
    first = " ".join(source(c) for c in cells(LESSONS[0]) if c["cell_type"] == "markdown")
    assert "machinelearningmastery.com/how-to-develop-a-conditional-generative-adversarial-network" in first
    assert "github.com/alexeygrigorev/clothing-dataset" in first


def test_the_lessons_build_the_networks_and_write_the_training_step():
    text = {p.name[:2]: "\n".join(source(c) for c in cells(p)) for p in LESSONS}
    for n in ("03", "04"):
        assert "layers.Conv2D" in text[n] and "same_network(" in text[n]
    assert "d.trainable = False" in text["05"] and "train_on_batch" in text["05"]
    assert "def train_step(self, data)" in text["05"] and "GradientTape" in text["05"]
    assert "minimax" in text["06"] and "non-saturating" in text["06"]
    assert "same_training(" in text["05"]                     # the learner's class is the library's
    assert "schedule=\"reference\"" in text["06"] and "callbacks=" in text["06"]   # 06 trains it


def test_same_network_checks_the_wiring_not_only_the_layers(capsys):
    import keras
    from keras import layers

    from clothgan.config import GANConfig
    from clothgan.course.compare import same_network
    from clothgan.gan import build_discriminator, build_generator

    cfg = GANConfig()
    assert same_network(build_generator(cfg), build_generator(cfg))
    assert same_network(build_discriminator(cfg), build_discriminator(cfg))

    def two_dense(relu_first: bool):
        x = inp = keras.Input((4,))
        first, second = layers.Dense(4, activation="relu"), layers.Dense(4)
        for layer in ((first, second) if relu_first else (second, first)):
            x = layer(x)
        return keras.Model(inp, x)

    capsys.readouterr()
    assert not same_network(two_dense(True), two_dense(False))   # same layers, other order
    assert "not the same wiring" in capsys.readouterr().out
