"""One orientation everywhere: the root of trust at the top of every picture, and a
deployment picture that fits a notebook's width (issue 15, "fix what a reviewer found").

covers: A-1, E-1
"""

from __future__ import annotations

import re

from rmslab.deployment import standard_deployment
from rmslab.lab import Lab
from rmslab.report import examine
from rmslab.samples import TeachingChain
from rmslab.viz import chain_graph, render
from rmslab.viz.deployment import MAX_WIDTH_INCHES, deployment_graph


def _node_y(svg: str, name: str) -> float:
    """The baseline of the first text line of node ``name`` (SVG y grows downwards)."""
    title = name.replace("-", "&#45;")
    found = re.search(rf"<title>{re.escape(title)}</title>.*?<text[^>]* y=\"(-?[\d.]+)\"", svg,
                      re.DOTALL)
    assert found, f"no node {name!r}"
    return float(found.group(1))


def test_the_deployment_picture_has_its_root_at_the_top_and_fits_a_notebook() -> None:
    svg = render(deployment_graph(standard_deployment(Lab())), "svg").decode()
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert width <= MAX_WIDTH_INCHES * 72 + 1
    root = _node_y(svg, "enrollment")
    assert root < _node_y(svg, "cluster_contoso-root") < _node_y(svg, "client_ALICE-PC")


def test_the_chain_picture_has_its_root_at_the_top(teaching: TeachingChain) -> None:
    report = examine(teaching.chain, anchor=teaching.anchor, at=teaching.chain[0].issued)
    svg = render(chain_graph(teaching.chain, report, teaching.anchor), "svg").decode()
    ys = [_node_y(svg, name) for name in ("anchor", "d3", "d2", "d1", "d0")]
    assert ys == sorted(ys), "from the pinned root at the top down to the leaf"
