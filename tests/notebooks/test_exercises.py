"""Checked exercises in every notebook, and the student edition (issue 15).

* Every notebook has at least three exercises, each registered in ``rmslab.exercises``
  with its notebook, each laid out as three tagged cells: the question with the
  placeholder ``...`` (``exercise``), the reference solution (``solution``) and the check
  (``check``).
* In the committed notebooks — which nbval runs strictly — every check passes (✓).
* ``make student`` writes the student edition; executed as a student would get it, every
  check fails (✗, "not answered yet") on its untouched cells, and nothing else breaks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rmslab.exercises import check, exercise, exercises
from rmslab.exercises.student import CHECK_TAG, EXERCISE_TAG, SOLUTION_TAG
from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CHECK_CALL = re.compile(r'^exercises\.check\("([0-9a-z]+\.\d+)", (answer_\w+)\)$')


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def _source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"])


def _tags(cell: dict[str, Any]) -> list[str]:
    tags: list[str] = cell.get("metadata", {}).get("tags", [])
    return tags


def _text(cell: dict[str, Any]) -> str:
    return "".join("".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
                   for o in cell.get("outputs", []))


def _checks(path: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for cell in _cells(path):
        if CHECK_TAG in _tags(cell):
            matched = CHECK_CALL.match(_source(cell).strip())
            assert matched, f"{path.name}: a check cell is not one exercises.check call"
            found[matched.group(1)] = cell
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_notebook_has_at_least_three_registered_exercises_laid_out_in_tagged_cells(
        path: Path) -> None:
    registered = [e.id for e in exercises(path.stem)]
    assert len(registered) >= 3, f"{path.name} has {len(registered)} exercises"
    assert sorted(_checks(path)) == sorted(registered)
    cells = _cells(path)
    for ex_id in registered:
        variable = "answer_" + ex_id.replace(".", "_")
        tagged = [(i, _tags(c)) for i, c in enumerate(cells) if variable in _source(c)]
        kinds = [t[0] for _, t in tagged if t]
        assert kinds == [EXERCISE_TAG, SOLUTION_TAG, CHECK_TAG], (path.name, ex_id, kinds)
        placeholder = cells[tagged[0][0]]
        assert _source(placeholder).startswith(f"{variable} = ...  #")
        assert f'exercises.ask("{ex_id}")' in _source(placeholder)


def test_the_kinds_the_issue_names_are_all_there() -> None:
    from rmslab.exercises import Kind
    kinds = {e.kind for e in exercises()}
    assert {Kind.PREDICT, Kind.REPAIR, Kind.FIND, Kind.DIGEST, Kind.REGISTRY} <= kinds


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_check_passes_in_the_committed_notebook(path: Path) -> None:
    """nbval reproduces these outputs exactly, so they are what the solutions give."""
    for ex_id, cell in _checks(path).items():
        assert _text(cell).startswith(f"✓ {ex_id} right"), (path.name, _text(cell))


def test_a_check_never_gives_the_answer_and_never_raises() -> None:
    for found in exercises():
        for wrong in (None, 42, "nonsense", [object()], ...):
            feedback = check(found.id, wrong)
            assert not feedback.passed and repr(feedback).startswith(f"✗ {found.id} not yet")
    with pytest.raises(KeyError, match="01.1"):
        exercise("99.9")


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make student``'s command, into a temporary folder, then executed as a student
    would run it (each notebook from its own folder, with the data it reads)."""
    out = tmp_path_factory.mktemp("student")
    subprocess.run([sys.executable, "-m", "rmslab.exercises.student", str(REPO / "notebooks"),
                    str(out)], check=True, capture_output=True, text=True, timeout=120)
    import nbformat
    from nbclient import NotebookClient
    for path in sorted(out.glob("*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(out)}}).execute()
        nbformat.write(notebook, str(path))
    return out


def test_make_student_writes_every_notebook_without_solutions(student_edition: Path) -> None:
    names = sorted(p.name for p in student_edition.glob("*.ipynb"))
    assert names == [p.name for p in NOTEBOOKS]
    for path in student_edition.glob("*.ipynb"):
        assert not any(SOLUTION_TAG in _tags(c) for c in _cells(path)), path.name
        assert not any("reference solution" in _source(c) for c in _cells(path)), path.name


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_every_check_fails_on_the_untouched_student_edition(student_edition: Path,
                                                            name: str) -> None:
    path = student_edition / name
    for cell in _cells(path):
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), (
            name, _source(cell)[:80])
    checks = _checks(path)
    assert checks, name
    for ex_id, cell in checks.items():
        assert _text(cell).startswith(f"✗ {ex_id} not yet — not answered yet"), (name, _text(cell))


# -- what every lesson opens and ends with; the reviewer's list (issue 15) --------------


def _markdown(path: Path) -> list[str]:
    return [_source(c) for c in _cells(path) if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_notebook_opens_with_its_goals_and_time_and_ends_with_a_recap_and_exercises(
        path: Path) -> None:
    opening = _markdown(path)[0]
    assert "**After this lesson you can:**" in opening and "**Time:** about" in opening
    headings = [line for text in _markdown(path) for line in text.splitlines()
                if line.startswith("## ")]
    assert headings[-2:] == ["## What we saw", "## Exercises"], headings[-3:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_two_sections_share_a_number(path: Path) -> None:
    numbers = [m.group(1) for text in _markdown(path)
               for m in re.finditer(r"^## (\d+)\.", text, re.MULTILINE)]
    assert len(numbers) == len(set(numbers)), numbers


def test_notebook_09_counts_its_samples_right() -> None:
    from rmslab.broken import broken_samples
    words = {12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen", 3: "three"}
    samples = broken_samples()
    broken, controls = sum(not s.control for s in samples), sum(s.control for s in samples)
    opening = " ".join(_markdown(REPO / "notebooks" / "09_broken_on_purpose.ipynb")[0].split())
    assert f"in {words[broken]} ways" in opening
    assert f"beside {words[controls]} controls" in opening


def test_no_notebook_reaches_outside_itself_by_a_relative_path() -> None:
    """Notebook 08 read ``../data``; every notebook now runs from any working directory
    (the student edition is executed from a temporary folder)."""
    for path in NOTEBOOKS:
        for cell in _cells(path):
            if cell["cell_type"] == "code":
                assert '".."' not in _source(cell) and "'..'" not in _source(cell), path.name


def test_notebook_07_was_split_and_the_readme_names_every_notebook() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"`{path.stem}`" in readme, path.stem
    for name in ("07_revocation", "07b_revocation_beyond_the_example"):
        cells = len(_cells(REPO / "notebooks" / f"{name}.ipynb"))
        assert cells <= 70, f"{name} has {cells} cells (07 had 85)"
