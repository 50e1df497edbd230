"""The trust chain as a picture: one box per document, an arrow from each document to
the certificate that certifies its issuer's key, and the pinned anchor (SPEC A-1)."""

from __future__ import annotations

import graphviz

from rmslab.crypto.rsa import PublicKey
from rmslab.report import ChainReport
from rmslab.trust import find_issuer
from rmslab.xrml.reader import Chain

__all__ = ["chain_graph"]

_OK, _BAD, _NEUTRAL = "#2e7d32", "#c62828", "#546e7a"


def _short(value: str | None, limit: int = 28) -> str:
    if not value:
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def chain_graph(chain: Chain, report: ChainReport | None = None,
                anchor: PublicKey | None = None) -> graphviz.Digraph:
    """Build the chain picture. With a report, each box is green or red and failed
    checks are written in it."""
    graph = graphviz.Digraph("chain", graph_attr={"rankdir": "BT", "fontname": "Helvetica",
                                                  "bgcolor": "white"},
                             node_attr={"shape": "box", "style": "rounded,filled",
                                        "fontname": "Helvetica", "fontsize": "10",
                                        "fillcolor": "#fafafa"},
                             edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    anchor = anchor or (report.anchor if report else None)
    by_index = {r.index: r for r in report.documents} if report else {}
    for doc in chain:
        lines = [f"#{doc.index}  {doc.kind_name}",
                 f"subject: {_short(doc.principals[0].name if doc.principals else doc.content_id)}",
                 f"issuer: {_short(doc.issuer.name if doc.issuer else None)}"]
        if doc.issuer_key is not None:
            lines.append(f"signed with {doc.issuer_key.bits}-bit key "
                         f"{doc.issuer_key.short_fingerprint[:8]}")
        color = _NEUTRAL
        result = by_index.get(doc.index)
        if result is not None:
            color = _OK if result.valid else _BAD
            lines.extend(f"✗ {e.code}" for e in result.errors)
        graph.node(f"d{doc.index}", "\n".join(lines), color=color, penwidth="2")
    for doc in chain:
        issuer = find_issuer(chain.documents, doc)
        if issuer is not None:
            graph.edge(f"d{doc.index}", f"d{issuer.index}", label="issuer key certified by")
        elif anchor is not None and doc.issuer_key == anchor:
            graph.edge(f"d{doc.index}", "anchor", label="signed by")
    if anchor is not None:
        graph.node("anchor", f"pinned anchor key\n{anchor.short_fingerprint}",
                   shape="doubleoctagon", fillcolor="#fff8e1", color="#f9a825")
    return graph
