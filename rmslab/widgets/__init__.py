"""ipywidgets views over the core's values (DESIGN.md "widgets/"): thin — they format
what a Trace or a document holds and decide nothing.

- :class:`Stepper` (and :func:`show`): plays a :class:`~rmslab.trace.Trace` step by
  step, with its documents, checks (SPEC IDs) and a picture per step (issue 3, item 4).
"""

from rmslab.widgets.stepper import PictureFunction, Stepper, show

__all__ = ["PictureFunction", "Stepper", "show"]
