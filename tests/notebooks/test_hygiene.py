"""Hygiene of the committed notebooks (docs/architecture.md rule 1 and "Tests").

Every notebook under ``notebooks/`` is run by nbval against its stored outputs, so those
outputs must be there, be free of anything machine-specific, and hold no errors; and a
notebook holds no business logic: imports of rmslab, calls, displays and prose — no
function or class definitions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

ABSOLUTE_PATH = re.compile(r"/(?:work|home|tmp)/")
DEFINITION = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class)[ \t]", re.MULTILINE)


def _code_cells(path: Path) -> list[dict[str, Any]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _output_text(output: dict[str, Any]) -> str:
    """Everything an output stores, as one text to search."""
    return json.dumps(output, ensure_ascii=False)


def _where(path: Path, index: int) -> str:
    return f"{path.name}, code cell {index + 1}"


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_generic_python3_kernel(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_code_cell_was_run_and_kept_its_outputs(path: Path) -> None:
    for index, cell in enumerate(_code_cells(path)):
        assert isinstance(cell.get("execution_count"), int), (
            f"{_where(path, index)} has no execution count: run the notebook before committing")
        assert cell.get("outputs"), f"{_where(path, index)} has no stored outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_outputs_hold_no_errors_and_no_absolute_paths(path: Path) -> None:
    for index, cell in enumerate(_code_cells(path)):
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", (
                f"{_where(path, index)} stored an error: {output.get('ename')}: "
                f"{output.get('evalue')}")
            found = ABSOLUTE_PATH.search(_output_text(output))
            assert found is None, f"{_where(path, index)} shows an absolute path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_logic_in_notebooks(path: Path) -> None:
    for index, cell in enumerate(_code_cells(path)):
        found = DEFINITION.search(_source(cell))
        assert found is None, (
            f"{_where(path, index)} defines a function or class ({found.group().strip()!r}): "
            "move it into the rmslab package and call it")


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    """The checks above, against a notebook that breaks every rule."""
    bad = {"cells": [
        {"cell_type": "code", "execution_count": None, "outputs": [], "source": "x = 1"},
        {"cell_type": "code", "execution_count": 2, "source": ["def f():\n", "    pass"],
         "outputs": [{"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}]},
        {"cell_type": "code", "execution_count": 3, "source": "  class C: pass",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "/home/u/x\n"}]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps(bad), encoding="utf-8")
    for check in (test_generic_python3_kernel, test_every_code_cell_was_run_and_kept_its_outputs,
                  test_outputs_hold_no_errors_and_no_absolute_paths, test_no_logic_in_notebooks):
        with pytest.raises(AssertionError):
            check(path)
    cells = _code_cells(path)
    assert [bool(DEFINITION.search(_source(c))) for c in cells] == [False, True, True]
    assert ABSOLUTE_PATH.search(_output_text(cells[2]["outputs"][0]))
    assert not DEFINITION.search("undefined = 1\nprint('class of')\n")
