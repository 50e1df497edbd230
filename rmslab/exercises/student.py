"""The student edition of the notebooks (issue 15): the committed notebooks with their
reference solutions removed.

A notebook's exercise is three cells: the question with the placeholder
(``answer_02_1 = ...``, tagged ``exercise``), the reference solution (tagged
``solution``), and the check (``check("02.1", answer_02_1)``, tagged ``check``).
nbconvert's ``TagRemovePreprocessor`` removes every cell tagged ``solution``; the
outputs of the rest are cleared, so that the student runs them and sees each check fail
until the placeholder is replaced.

``python -m rmslab.exercises.student [NOTEBOOKS] [OUT]`` (``make student``) writes
``build/student/`` from ``notebooks/``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

__all__ = ["SOLUTION_TAG", "EXERCISE_TAG", "CHECK_TAG", "student_edition", "write_student_edition",
           "main"]

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"


def student_edition(notebook_path: Path) -> str:
    """The student edition of one notebook, as notebook JSON text."""
    import nbformat
    from nbconvert.exporters import NotebookExporter
    from traitlets.config import Config

    # Both preprocessors are among the exporter's defaults; the configuration turns them on.
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = (SOLUTION_TAG,)
    config.TagRemovePreprocessor.enabled = True
    config.ClearOutputPreprocessor.enabled = True
    exporter = NotebookExporter(config=config)  # type: ignore[no-untyped-call]
    notebook = nbformat.read(str(notebook_path), as_version=4)  # type: ignore[no-untyped-call]
    body, _resources = exporter.from_notebook_node(notebook)  # type: ignore[no-untyped-call]
    return str(body)


def write_student_edition(notebooks: Path, out: Path) -> list[Path]:
    """Write the student edition of every notebook of ``notebooks`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(notebooks.glob("*.ipynb")):
        target = out / path.name
        target.write_text(student_edition(path), encoding="utf-8")
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 2:
        print("usage: python -m rmslab.exercises.student [NOTEBOOKS] [OUT]", file=sys.stderr)
        return 2
    notebooks = Path(args[0]) if args else Path("notebooks")
    out = Path(args[1]) if len(args) > 1 else Path("build") / "student"
    if not notebooks.is_dir():
        print(f"rmslab: {notebooks} is not a folder of notebooks", file=sys.stderr)
        return 2
    written = write_student_edition(notebooks, out)
    print(f"{len(written)} notebooks written to {out}, reference solutions removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
