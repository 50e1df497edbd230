"""The machinery of checked exercises: an exercise, the feedback on an answer, the
register that notebooks call into (issue 15: "exercises with checked answers").

An exercise is identified by its notebook and number (``"02.1"``: the first of notebook
02). Its checker works the answer out the way the lesson does — with real keys,
documents and checks in a lab of the lesson's seed — and compares; when the answer is
wrong it says what to look at (a hint), never what the answer is. An answer that is
still the placeholder ``...`` is "not answered yet".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone
from textwrap import wrap
from typing import Any, Callable

__all__ = ["Kind", "Exercise", "Feedback", "Judgement", "register", "exercise", "exercises",
           "ask", "check", "correct", "hint", "read_time", "UNANSWERED"]


class Kind(enum.Enum):
    """What an exercise asks the student to do."""

    PREDICT = "predict which check fires, before running it"
    REPAIR = "repair what is broken"
    FIND = "find the certificate or key that makes it work"
    DIGEST = "compute it by hand"
    REGISTRY = "choose the registry value"
    READ = "read it from the document"
    CLOCK = "find the moment"


@dataclass(frozen=True)
class Judgement:
    """What a checker found: right or not, and what to tell the student."""

    passed: bool
    message: str


def correct(message: str) -> Judgement:
    """The answer is right; ``message`` says why it is, for the student to keep."""
    return Judgement(True, message)


def hint(message: str) -> Judgement:
    """The answer is wrong; ``message`` says what to look at — never the answer."""
    return Judgement(False, message)


Checker = Callable[[Any], Judgement]


@dataclass(frozen=True)
class Exercise:
    """One exercise: where it is, what kind, the question, and its checker."""

    id: str
    notebook: str
    kind: Kind
    question: str
    checker: Checker
    #: what the answer is expected to be (a type, a format), said when it is not
    expects: str


@dataclass(frozen=True)
class Feedback:
    """The outcome of :func:`check`. Its text form is what the notebook shows:
    ``✓ 02.1 right — …`` or ``✗ 02.1 not yet — …``."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mark, word = ("✓", "right") if self.passed else ("✗", "not yet")
        return "\n".join(wrap(f"{mark} {self.exercise} {word} — {self.message}", 88,
                               subsequent_indent="  "))


@dataclass(frozen=True)
class Question:
    """An exercise's question, as a notebook shows it (text form)."""

    exercise: Exercise

    def __repr__(self) -> str:
        found = self.exercise
        lines = [f"Exercise {found.id} — {found.kind.value}",
                 *wrap(found.question, 88), *wrap(f"Answer with {found.expects}.", 88)]
        return "\n".join(lines)


#: The placeholder an untouched exercise cell holds.
UNANSWERED: Any = ...

_REGISTER: dict[str, Exercise] = {}


def register(exercise_id: str, notebook: str, kind: Kind, question: str,
             expects: str) -> Callable[[Checker], Checker]:
    """Decorator: ``checker`` checks exercise ``exercise_id`` of ``notebook`` (the
    notebook's file name without ``.ipynb``)."""
    def add(checker: Checker) -> Checker:
        if exercise_id in _REGISTER:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        if not exercise_id.startswith(notebook.split("_", 1)[0] + "."):
            raise ValueError(f"exercise {exercise_id} is not numbered after {notebook}")
        _REGISTER[exercise_id] = Exercise(exercise_id, notebook, kind, question, checker,
                                          expects)
        return checker
    return add


def exercises(notebook: str | None = None) -> list[Exercise]:
    """Every exercise (of ``notebook`` when given), in order."""
    _load()
    found = [e for e in _REGISTER.values() if notebook is None or e.notebook == notebook]
    return sorted(found, key=lambda e: (e.notebook, _number(e.id)))


def _number(exercise_id: str) -> int:
    return int(exercise_id.rsplit(".", 1)[1])


def exercise(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``; :class:`KeyError` naming the known ones otherwise."""
    _load()
    try:
        return _REGISTER[exercise_id]
    except KeyError:
        raise KeyError(f"no exercise {exercise_id!r}; the exercises are "
                       f"{', '.join(sorted(_REGISTER))}") from None


def ask(exercise_id: str) -> Question:
    """The question of an exercise, for a notebook to show."""
    return Question(exercise(exercise_id))


def check(exercise_id: str, answer: Any) -> Feedback:
    """Check ``answer`` to exercise ``exercise_id``: right, or a hint. Never raises for a
    wrong answer, whatever its type: a checker that cannot read it says what it expects."""
    found = exercise(exercise_id)
    if answer is UNANSWERED:
        return Feedback(exercise_id, False,
                        f"not answered yet: replace ... with {found.expects}")
    try:
        verdict = found.checker(answer)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        return Feedback(exercise_id, False,
                        f"this answer cannot be read ({type(error).__name__}: {error}); "
                        f"the answer is {found.expects}")
    return Feedback(exercise_id, verdict.passed, verdict.message)


def read_time(answer: Any) -> datetime | None:
    """An answer that names a moment — ``'YYYY-MM-DDTHH:MM'`` (UTC) or a datetime — as an
    aware datetime; None when it names none."""
    from rmslab.errors import RmslabError
    from rmslab.xrml.model import parse_time
    if isinstance(answer, datetime):
        return answer if answer.tzinfo else answer.replace(tzinfo=timezone.utc)
    if not isinstance(answer, str):
        return None
    try:
        return parse_time(answer.strip(), "the answer")
    except RmslabError:
        return None


def _load() -> None:
    """Import the modules that register exercises (once)."""
    from rmslab.exercises import lessons  # noqa: F401  (registers on import)
