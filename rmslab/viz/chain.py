"""The trust chain as a picture: one box per document, an arrow from each document to
the certificate that certifies its issuer's key, and where the chain ends — the pinned
anchor, or a root that nobody pinned (SPEC A-1; MS-RMPR 2.2.9.2).

With a report, the picture says the verdict of :mod:`rmslab.report` and nothing of its
own: its title names the chain's verdict, and each box is coloured by its document's —
green only when valid and anchored, amber and dashed when consistent but not anchored,
purple when expired or not yet valid at the time checked, red when a check failed. Each
box lists its three checks (digest, signature, issuer link) with ✓ or ✗.

The root of trust is at the top (``rankdir=BT``: every arrow to an issuer points
upwards), as in every picture of rmslab. A caller that decided more than the chain's own
checks — a binding refused for a revoked issuer, say — passes ``marks``: those documents
are drawn as failed, with the caller's reasons in their boxes.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import graphviz

from rmslab.crypto.rsa import PublicKey
from rmslab.report import NOT_ANCHORED_LABEL, TIME_CODES, ChainReport, DocumentReport, Verdict
from rmslab.trust import find_issuer
from rmslab.xrml.reader import Chain

__all__ = ["chain_graph", "VerdictStyle", "VERDICT_STYLES", "NEUTRAL_STYLE", "check_marks"]


class VerdictStyle(NamedTuple):
    """How a verdict is drawn: border and text colour, fill, and graphviz style."""

    colour: str
    fill: str
    style: str


#: One style per verdict, shared by the pictures and the chain viewer's verdict line.
VERDICT_STYLES: dict[Verdict, VerdictStyle] = {
    Verdict.VALID: VerdictStyle("#2e7d32", "#f1f8e9", "rounded,filled"),
    Verdict.UNANCHORED: VerdictStyle("#b26a00", "#fff8e1", "rounded,filled,dashed"),
    Verdict.EXPIRED: VerdictStyle("#6a1b9a", "#f3e5f5", "rounded,filled"),
    Verdict.NOT_YET_VALID: VerdictStyle("#6a1b9a", "#f3e5f5", "rounded,filled"),
    Verdict.INVALID: VerdictStyle("#c62828", "#ffebee", "rounded,filled"),
}
#: A box drawn without a report: nothing was checked.
NEUTRAL_STYLE = VerdictStyle("#546e7a", "#fafafa", "rounded,filled")
_ANCHOR_COLOUR, _ANCHOR_FILL = "#f9a825", "#fff8e1"


def _short(value: str | None, limit: int = 28) -> str:
    if not value:
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _mark(passed: bool | None, unknown: str = "–") -> str:
    return unknown if passed is None else "✓" if passed else "✗"


def check_marks(result: DocumentReport) -> str:
    """The three checks of a document in one line: ``✓ digest  ✓ signature  ✗ issuer
    link`` (– for what an unsigned document leaves unchecked; ``?`` for an issuer that
    neither the file nor a pinned root vouches for)."""
    codes = {e.code for e in result.errors}
    if result.digest_matches is None and result.signature_valid is None:
        return "– digest  – signature  – issuer link"
    digest = "digest-mismatch" not in codes and result.digest_matches is not None
    link: bool | None = None
    if "wrong-kind" in codes or "issuer-key-not-found" in codes:
        link = False
    elif result.issuer_index is not None or result.anchored:
        link = True
    return (f"{_mark(digest)} digest  {_mark(result.signature_valid)} signature  "
            f"{_mark(link, '?')} issuer link")


def _title(report: ChainReport) -> str:
    return (f"chain {report.verdict.headline} — checked at "
            f"{report.checked_at:%Y-%m-%d %H:%M} UTC")


def chain_graph(chain: Chain, report: ChainReport | None = None,
                anchor: PublicKey | None = None, *,
                marks: Mapping[int, Sequence[str]] | None = None) -> graphviz.Digraph:
    """Build the chain picture. With a report, its title says the verdict, each box is
    drawn in its document's verdict and lists its checks and findings, and a root that no
    pinned key vouches for is drawn as such. ``marks`` maps a document's index to what a
    decision beyond the chain's checks found against it (each drawn as a ``✗`` line);
    a marked document is drawn as failed whatever its own verdict."""
    graph = graphviz.Digraph("chain", graph_attr={"rankdir": "BT", "fontname": "Helvetica",
                                                  "bgcolor": "white"},
                             node_attr={"shape": "box", "style": "rounded,filled",
                                        "fontname": "Helvetica", "fontsize": "10",
                                        "fillcolor": "#fafafa"},
                             edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    anchor = anchor or (report.anchor if report else None)
    by_index = {r.index: r for r in report.documents} if report else {}
    if report is not None:
        style = VERDICT_STYLES[report.verdict]
        graph.attr(label=_title(report), labelloc="t", fontsize="12", fontcolor=style.colour)
    for doc in chain:
        lines = [f"#{doc.index}  {doc.kind_name}",
                 f"subject: {_short(doc.principals[0].name if doc.principals else doc.content_id)}",
                 f"issuer: {_short(doc.issuer.name if doc.issuer else None)}"]
        if doc.issuer_key is not None:
            lines.append(f"signed with {doc.issuer_key.bits}-bit key "
                         f"{doc.issuer_key.short_fingerprint[:8]}")
        look = NEUTRAL_STYLE
        result = by_index.get(doc.index)
        if result is not None:
            look = VERDICT_STYLES[result.verdict]
            lines.append(check_marks(result))
            lines.extend(f"✗ {e.code}" for e in result.errors if e.code not in TIME_CODES)
            lines.extend(e.message.split(" (checked at")[0]
                         for e in result.errors if e.code in TIME_CODES)
        marked = (marks or {}).get(doc.index)
        if marked:
            look = VERDICT_STYLES[Verdict.INVALID]
            lines.extend(f"✗ {reason}" for reason in marked)
        graph.node(f"d{doc.index}", "\n".join(lines), color=look.colour, fillcolor=look.fill,
                   style=look.style, penwidth="3" if marked else "2")
    unknown_roots: dict[str, str] = {}
    for doc in chain:
        issuer = find_issuer(chain, doc)
        key = doc.issuer_key
        if issuer is not None:
            graph.edge(f"d{doc.index}", f"d{issuer.index}", label="issuer key certified by")
        elif anchor is not None and key == anchor:
            graph.edge(f"d{doc.index}", "anchor", label="signed by")
        elif report is not None and key is not None:
            node = unknown_roots.setdefault(key.fingerprint, f"root{len(unknown_roots)}")
            graph.edge(f"d{doc.index}", node, label="signed by", style="dashed",
                       color=VERDICT_STYLES[Verdict.UNANCHORED].colour)
    if anchor is not None:
        graph.node("anchor", f"pinned anchor key\n{anchor.short_fingerprint}",
                   shape="doubleoctagon", fillcolor=_ANCHOR_FILL, color=_ANCHOR_COLOUR)
    unanchored = VERDICT_STYLES[Verdict.UNANCHORED]
    for fingerprint, node in unknown_roots.items():
        words = (NOT_ANCHORED_LABEL if anchor is None else
                 "not anchored: not the pinned root")
        graph.node(node, f"{words}\nkey {fingerprint[:16]}", shape="octagon",
                   style="dashed,filled", fillcolor=unanchored.fill, color=unanchored.colour,
                   fontcolor=unanchored.colour, penwidth="2")
    return graph
