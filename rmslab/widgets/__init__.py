"""ipywidgets views over the core's values (docs/architecture.md "widgets/"): thin — they format
what a Trace or a document holds and decide nothing.

- :class:`Stepper` (and :func:`show`): plays a :class:`~rmslab.trace.Trace` step by
  step, with its documents, checks (SPEC IDs) and a picture per step (issue 3, item 4).
- :class:`ChainViewer` (and :func:`explore`): a chain as a picture, and each document's
  facts, checks, findings, outline and XML one click away.
"""

from rmslab.widgets.chain_viewer import ChainViewer, explore
from rmslab.widgets.stepper import PictureFunction, Stepper, show

__all__ = ["ChainViewer", "PictureFunction", "Stepper", "explore", "show"]
