"""Pictures: graphviz builders that return graph objects, and one renderer (docs/architecture.md).

Rendering always uses the same ``dot``: the one beside the running Python (the
README's set-up puts graphviz-pure there as ``dot``), then one on ``PATH`` — so that
committed notebook outputs come from one provider (docs/architecture.md "Tooling").
"""

from rmslab.viz.chain import chain_graph
from rmslab.viz.render import Picture, find_dot, render

__all__ = ["chain_graph", "Picture", "find_dot", "render"]
