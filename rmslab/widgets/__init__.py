"""ipywidgets views over the core's values (docs/architecture.md "widgets/"): thin — they format
what a Trace or a document holds and decide nothing.

- :class:`Stepper` (and :func:`show`): plays a :class:`~rmslab.trace.Trace` step by
  step, with its documents, checks (SPEC IDs) and a picture per step (issue 3, item 4).
- :class:`ChainViewer` (and :func:`explore`): a chain as a picture, and each document's
  facts, checks, findings, outline and XML one click away.
- :class:`BodyEditor`, :class:`LabClock`, :class:`BindingExplorer` (and
  :func:`edit_body`, :func:`lab_clock`, :func:`explore_binding`): widgets a student
  changes — a BODY, the clock, the user, application and right — with every check re-run
  (issue 15).
"""

from rmslab.widgets.chain_viewer import ChainViewer, explore
from rmslab.widgets.course import (BindingExplorer, BodyEditor, LabClock, edit_body,
                                   explore_binding, lab_clock)
from rmslab.widgets.stepper import PictureFunction, Stepper, show

__all__ = ["BindingExplorer", "BodyEditor", "ChainViewer", "LabClock", "PictureFunction",
           "Stepper", "edit_body", "explore", "explore_binding", "lab_clock", "show"]
