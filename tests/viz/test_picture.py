"""rmslab.viz.Picture: what Jupyter stores beside the SVG is the same on every run."""

from __future__ import annotations

import graphviz

from rmslab.viz import Picture


def test_repr_has_no_memory_address() -> None:
    picture = Picture(graphviz.Digraph("chain"))
    assert repr(picture) == "<Picture of graph 'chain'>"
    assert repr(picture) == repr(Picture(graphviz.Digraph("chain")))
