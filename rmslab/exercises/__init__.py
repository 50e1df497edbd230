"""Checked exercises for the notebooks (issue 15): a notebook cell shows a question with
:func:`ask`, the student replaces the placeholder ``...`` with an answer, and
:func:`check` says whether it is right — or gives a hint, never the solution.

Each exercise is named by its notebook and number (``check("02.1", answer)``); its
checker lives here, in the package, and works the answer out with the lesson's own
lab, keys and checks. :mod:`rmslab.exercises.student` writes the student edition of
the notebooks (reference solutions removed).
"""

from rmslab.exercises._core import (UNANSWERED, Exercise, Feedback, Judgement, Kind, ask,
                                    check, correct, exercise, exercises, hint, register)

__all__ = ["UNANSWERED", "Exercise", "Feedback", "Judgement", "Kind", "ask", "check",
           "correct", "exercise", "exercises", "hint", "register"]
