"""The chain picture says the report's verdict: green only for valid and anchored, an
unanchored root drawn as such, expired documents as expired, failed checks in red; its
check marks are drawn in PNG as well as SVG.

covers: A-1
"""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timezone
from pathlib import Path

import graphviz
import pytest

from rmslab.cli import main
from rmslab.report import NOT_ANCHORED_LABEL, Verdict, examine
from rmslab.samples import TeachingChain
from rmslab.teaching import tamper
from rmslab.viz import chain_graph, render
from rmslab.viz.chain import VERDICT_STYLES
from rmslab.xrml import Chain, read_chain

LAB_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
AFTER_CLC = datetime(2027, 1, 6, 9, 0, tzinfo=timezone.utc)
GREEN, AMBER = VERDICT_STYLES[Verdict.VALID].colour, VERDICT_STYLES[Verdict.UNANCHORED].colour
PURPLE, RED = VERDICT_STYLES[Verdict.EXPIRED].colour, VERDICT_STYLES[Verdict.INVALID].colour
#: A character no bundled font has: drawn as the font's empty box.
NO_GLYPH = "\ue000"


def document_colours(source: str) -> dict[int, str]:
    """The border colour of each document's box in a DOT source."""
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r'\bd(\d+) \[label="[^"]*" color="(#[0-9a-f]{6})"', source)}


def test_all_green_only_when_valid_and_anchored(teaching: TeachingChain) -> None:
    report = examine(teaching.chain, anchor=teaching.anchor, at=LAB_TIME)
    source = chain_graph(teaching.chain, report).source
    assert document_colours(source) == {0: GREEN, 1: GREEN, 2: GREEN, 3: GREEN}
    assert "chain valid and anchored — checked at 2026-01-05 09:00 UTC" in source
    assert "pinned anchor key" in source and NOT_ANCHORED_LABEL not in source


def test_an_unanchored_root_is_drawn_as_such(teaching: TeachingChain) -> None:
    report = examine(teaching.chain, at=LAB_TIME)
    source = chain_graph(teaching.chain, report).source
    assert document_colours(source) == {0: AMBER, 1: AMBER, 2: AMBER, 3: AMBER}
    assert GREEN not in source
    root = re.search(r'^\s*root0 \[label="([^"]*)"([^\]]*)\]', source, re.MULTILINE)
    assert root is not None
    assert root.group(1).startswith(NOT_ANCHORED_LABEL)
    assert "shape=octagon" in root.group(2) and "dashed" in root.group(2)
    assert re.search(r"d3 -> root0 \[[^\]]*style=dashed", source)
    assert "chain consistent but NOT anchored" in source
    assert "? issuer link" in source  # the root's link: nothing vouches for it


def clc_chain(teaching: TeachingChain) -> Chain:
    """Alice's client licensor certificate and the certificates above it."""
    return read_chain(teaching.text[teaching.chain[1].span.start:].encode("utf-8"),
                      source="clc")


def test_expired_documents_are_drawn_as_expired(teaching: TeachingChain) -> None:
    chain = clc_chain(teaching)
    report = examine(chain, anchor=teaching.anchor, at=AFTER_CLC)
    source = chain_graph(chain, report).source
    assert document_colours(source) == {0: PURPLE, 1: GREEN, 2: GREEN}
    assert "expired on 2027-01-05 09:00 UTC" in source and "chain EXPIRED" in source
    # the license it signed while it could issue is not: the full chain is all green
    report = examine(teaching.chain, anchor=teaching.anchor, at=AFTER_CLC)
    assert set(document_colours(chain_graph(teaching.chain, report).source).values()) == {GREEN}


def test_failed_checks_are_red_and_named(teaching: TeachingChain) -> None:
    tampered = tamper(teaching.chain, 1, "CONTOSO-RMS", "CONTOSO-RMX")
    report = examine(tampered, anchor=teaching.anchor, at=LAB_TIME)
    source = chain_graph(tampered, report).source
    assert document_colours(source)[1] == RED
    assert "✗ digest  ✓ signature  ✓ issuer link" in source
    assert "✗ digest-mismatch" in source and "chain NOT valid" in source


@pytest.mark.parametrize("at,anchored,colour,words", [
    ("2026-01-05T09:00", True, GREEN, "chain valid and anchored"),
    ("2026-01-05T09:00", False, AMBER, NOT_ANCHORED_LABEL),
    ("2027-01-06T09:00", True, PURPLE, "expired on 2027-01-05 09:00 UTC"),
])
def test_the_chain_command_draws_the_verdict(teaching: TeachingChain, tmp_path: Path,
                                             at: str, anchored: bool, colour: str,
                                             words: str) -> None:
    chain = tmp_path / "chain.xml"
    chain.write_text(clc_chain(teaching).text, encoding="utf-8")
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(teaching.anchor.to_pem())
    target = tmp_path / "chain.svg"
    out = io.StringIO()
    status = main(["chain", str(chain), "-o", str(target), "--at", at]
                  + (["--anchor", str(anchor)] if anchored else []), out=out)
    assert status == 0
    svg = html.unescape(target.read_text(encoding="utf-8"))
    assert words in svg and f'stroke="{colour}"' in svg
    if not anchored:
        assert f'stroke="{GREEN}"' not in svg
        assert "consistent but NOT anchored" in out.getvalue()


# -- check marks in PNG ----------------------------------------------------------------


def _png(source: str) -> bytes:
    return render(source, "png")


@pytest.mark.parametrize("mark", ["✓", "✗"])
def test_each_mark_is_drawn_in_png_not_an_empty_box(mark: str) -> None:
    def graph(label: str) -> str:
        picture = graphviz.Digraph("marks", node_attr={"fontname": "Helvetica"})
        picture.node("a", f"{label} digest")
        return str(picture.source)

    drawn = _png(graph(mark))
    assert drawn != _png(graph(NO_GLYPH)), f"{mark} is drawn as the empty box"
    assert drawn != _png(graph(" "))


def test_the_chain_pictures_marks_are_drawn_in_png(teaching: TeachingChain) -> None:
    tampered = tamper(teaching.chain, 1, "CONTOSO-RMS", "CONTOSO-RMX")
    source = chain_graph(tampered, examine(tampered, anchor=teaching.anchor,
                                           at=LAB_TIME)).source
    assert "✓" in source and "✗" in source
    boxes = source.replace("✓", NO_GLYPH).replace("✗", NO_GLYPH)
    assert _png(source).startswith(b"\x89PNG")
    assert _png(source) != _png(boxes), "the marks are drawn as empty boxes"
    # the SVG keeps the marks themselves: the browser showing it has fonts with them
    svg = render(source, "svg").decode("utf-8")
    assert "✓ digest" in svg and "✗ digest" in svg
