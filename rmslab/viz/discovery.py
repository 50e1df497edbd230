"""The path a client's request takes during service discovery, as a picture: the places
tried in order (the content's license, the registry, the SCP, the cloud), what each named,
licensing redirections, refusals by the trusted-servers list, and the server finally used
— or the failure (SPEC D-7, D-9, D-6)."""

from __future__ import annotations

import textwrap

import graphviz

from rmslab.discovery.discover import Attempt, Discovery

__all__ = ["discovery_graph"]

_COLOURS = {
    "used": ("#2e7d32", "#e8f5e9"),
    "not found": ("#78909c", "#f5f5f5"),
    "refused": ("#c62828", "#ffebee"),
    "blocked": ("#c62828", "#ffebee"),
    "unreachable": ("#ef6c00", "#fff3e0"),
}
_SOURCE_NAMES = {"license": "content's license", "registry": "registry", "scp": "SCP",
                 "cloud": "cloud"}


def _wrap(text: str, width: int = 46) -> str:
    """``text`` folded to ``width`` columns, keeping its own line breaks, as DOT label
    text: backslashes (registry paths) escaped, lines joined by DOT's ``\\n``."""
    lines = [line for paragraph in text.split("\n")
             for line in textwrap.wrap(paragraph, width, break_long_words=True,
                                       break_on_hyphens=False)]
    return "\\n".join(line.replace("\\", "\\\\") for line in lines) or " "


def _label(number: int, attempt: Attempt) -> str:
    lines = [_wrap(f"{number}. {_SOURCE_NAMES[attempt.source]}: {attempt.label}", 60)]
    if attempt.redirected_from:
        lines.append(_wrap(f"named {attempt.redirected_from}"))
        lines.append(_wrap(f"redirected to {attempt.licensing_url}"))
    elif attempt.licensing_url:
        lines.append(_wrap(attempt.licensing_url))
    lines.append(_wrap(f"{attempt.outcome.upper()}: {attempt.reason}"))
    return "\\n".join(lines)


def discovery_graph(discovery: Discovery, *, name: str = "discovery") -> graphviz.Digraph:
    """Build the picture of one discovery: the client, then each attempt in order (green
    used, red refused or blocked, orange unreachable, grey nothing found), ending at the
    server used or at the failure."""
    graph = graphviz.Digraph(name, graph_attr={"rankdir": "TB", "fontname": "Helvetica",
                                               "bgcolor": "white", "nodesep": "0.3"},
                             node_attr={"shape": "box", "style": "rounded,filled",
                                        "fontname": "Helvetica", "fontsize": "10"},
                             edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    graph.node("client", _wrap(f"{discovery.machine}\nwants to {discovery.purpose}", 40),
               fillcolor="#e3f2fd", color="#1565c0", penwidth="2")
    previous, edge_label = "client", "first"
    for number, attempt in enumerate(discovery.attempts, 1):
        node = f"a{number}"
        line, fill = _COLOURS[attempt.outcome]
        graph.node(node, _label(number, attempt), color=line, fillcolor=fill, penwidth="2")
        graph.edge(previous, node, label=edge_label)
        previous, edge_label = node, "then"
    if discovery.error is None:
        graph.node("server", _wrap(f"uses ({discovery.source})\ncertification: "
                                   f"{discovery.certification_url}\nlicensing: "
                                   f"{discovery.licensing_url}", 60),
                   shape="box", style="filled,bold", fillcolor="#c8e6c9", color="#2e7d32",
                   penwidth="2")
        graph.edge(previous, "server", label="requests go to", color="#2e7d32",
                   penwidth="2")
    else:
        graph.node("failed", _wrap(f"discovery fails: {discovery.error.reason}", 50),
                   shape="octagon", fillcolor="#ffcdd2", color="#c62828", penwidth="2")
        graph.edge(previous, "failed", color="#c62828")
    return graph
