"""The chain viewer (rmslab.widgets), without a browser: the verdict in each of its states,
a button per document, what the detail of each document holds for intact and broken
chains, the picture, and the text Jupyter stores.

covers: A-1
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from rmslab.broken import broken_samples
from rmslab.samples import TeachingChain
from rmslab.widgets import ChainViewer, explore
from rmslab.xrml import Chain, read_chain

BROKEN = {sample.name: sample for sample in broken_samples()}
LAB_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def viewer_of(name: str, teaching: TeachingChain, **options: object) -> ChainViewer:
    return explore(read_chain(BROKEN[name].data, source=name), anchor=teaching.anchor,
                   at=LAB_TIME, **options)  # type: ignore[arg-type]


def detail(viewer: ChainViewer) -> str:
    return str(viewer.children[3].value)


def classes(button: object) -> list[str]:
    return list(button._dom_classes)  # type: ignore[attr-defined]


def test_an_intact_chain(teaching: TeachingChain) -> None:
    viewer = explore(teaching.chain, anchor=teaching.anchor, at=LAB_TIME)
    assert repr(viewer) == ("<ChainViewer 'teaching chain': 4 documents, chain valid and "
                            "anchored; #0 shown>")
    assert 'data-valid="true" data-verdict="valid"' in viewer.children[0].value
    buttons = viewer.children[2].children
    assert [b.description for b in buttons] == [
        "✓ #0 publishing license", "✓ #1 client licensor certificate",
        "✓ #2 server licensor certificate", "✓ #3 CA certificate"]
    assert not any("rmslab-document-button-bad" in classes(b) for b in buttons)
    html = detail(viewer)
    assert 'class="rmslab-document-detail" data-index="0" data-valid="true"' in html
    assert html.count("rmslab-check-pass") == 5 and "rmslab-finding" not in html
    assert "no validity period: valid at any time, 2026-01-05 09:00 UTC included" in html
    assert "its issuers lead to the pinned root" in html
    viewer.select(1)
    assert "valid at the time checked, 2026-01-05 09:00 UTC" in detail(viewer)
    assert "certified by #1, the client licensor certificate" in html


def test_the_picture_is_inline_svg_with_a_box_per_document(teaching: TeachingChain) -> None:
    picture = str(explore(teaching.chain, anchor=teaching.anchor, at=LAB_TIME).children[1].value)
    assert picture.startswith('<div class="rmslab-picture"')
    assert "<?xml" not in picture and "<!DOCTYPE" not in picture
    assert len(re.findall(r'<g id="node\d+" class="node">', picture)) == 5  # 4 + anchor


def test_clicking_a_button_shows_its_document(teaching: TeachingChain) -> None:
    viewer = viewer_of("signature-changed.xml", teaching)
    buttons = viewer.children[2].children
    assert "rmslab-document-button-bad" in classes(buttons[1])
    buttons[1].click()
    assert viewer.index == 1 and buttons[1].button_style == "info"
    html = detail(viewer)
    assert 'data-index="1" data-valid="false"' in html
    assert 'data-code="bad-signature"' in html
    assert "the RSA signature is not valid" in html
    viewer.select(-1)
    assert viewer.index == 3 and 'data-valid="true"' in detail(viewer)


@pytest.mark.parametrize("name,index,code", [
    ("body-changed.xml", 0, "digest-mismatch"),
    ("signed-by-a-stranger.xml", 0, "issuer-key-not-found"),
    ("certified-by-a-client-licensor.xml", 1, "wrong-kind"),
    ("unsigned.xml", 0, "unsigned"),
])
def test_each_broken_document_shows_what_failed(teaching: TeachingChain, name: str,
                                                index: int, code: str) -> None:
    viewer = viewer_of(name, teaching)
    assert "chain NOT valid" in repr(viewer)
    viewer.select(index)
    html = detail(viewer)
    assert f'data-code="{code}"' in html
    assert 'data-valid="false"' in html


def test_whitespace_recovery_is_shown_not_hidden(teaching: TeachingChain) -> None:
    strict = viewer_of("reformatted.xml", teaching)
    assert "only once whitespace between tags is removed" in detail(strict)
    assert 'data-code="digest-mismatch"' in detail(strict)
    recovered = viewer_of("reformatted.xml", teaching, recover_whitespace=True)
    assert "chain valid and anchored" in repr(recovered)
    assert "only once whitespace between tags is removed" in detail(recovered)
    assert "rmslab-check-fail" not in detail(recovered)


def test_no_such_document(teaching: TeachingChain) -> None:
    viewer = explore(teaching.chain, at=LAB_TIME)
    with pytest.raises(IndexError, match="no document 4"):
        viewer.select(4)
    assert viewer.index == 0
    viewer.select(3)  # the CA certificate: without a pinned anchor, its issuer is unknown
    assert "pin an anchor to check where the chain ends" in detail(viewer)


AFTER_CLC = datetime(2027, 1, 6, 9, 0, tzinfo=timezone.utc)
BEFORE_ALL = datetime(2026, 1, 3, 9, 0, tzinfo=timezone.utc)


def clc_chain(teaching: TeachingChain) -> Chain:
    """Alice's client licensor certificate and the certificates above it."""
    return read_chain(teaching.text[teaching.chain[1].span.start:].encode("utf-8"),
                      source="clc")


@pytest.mark.parametrize("anchored,at,verdict,words,marks", [
    (True, LAB_TIME, "valid", "chain valid and anchored", "✓✓✓✓"),
    (False, LAB_TIME, "unanchored", "chain consistent but NOT anchored", "????"),
    (True, AFTER_CLC, "expired", "chain EXPIRED", "⌛✓✓"),
    (True, BEFORE_ALL, "not-yet-valid", "chain NOT YET VALID", "⌛⌛⌛⌛"),
])
def test_the_verdict_in_each_state(teaching: TeachingChain, anchored: bool, at: datetime,
                                   verdict: str, words: str, marks: str) -> None:
    chain = clc_chain(teaching) if verdict == "expired" else teaching.chain
    viewer = explore(chain, anchor=teaching.anchor if anchored else None, at=at)
    head = str(viewer.children[0].value)
    assert f'data-valid="{str(verdict == "valid").lower()}" data-verdict="{verdict}"' in head
    assert words in head and words in repr(viewer)
    assert f"checked at {at:%Y-%m-%d %H:%M} UTC" in head
    assert viewer.report.summary() in head.replace("&#x27;", "'")
    buttons = viewer.children[2].children
    assert "".join(b.description[0] for b in buttons) == marks
    assert all(f"rmslab-document-button-{d.verdict.value}" in classes(b)
               for b, d in zip(buttons, viewer.report.documents))
    if verdict != "valid":
        assert "valid and anchored" not in head


def test_an_unanchored_chain_says_so_in_every_document(teaching: TeachingChain) -> None:
    viewer = explore(teaching.chain, at=LAB_TIME)
    assert "no root pinned" in str(viewer.children[0].value)
    for index in range(4):
        viewer.select(index)
        html = detail(viewer)
        assert 'data-valid="false" data-verdict="unanchored"' in html
        assert "(consistent but NOT anchored)" in html
        assert "not anchored: no trusted root pinned: nothing says who stands behind it" in html
        assert "rmslab-check-fail" not in html
    assert detail(viewer).count("rmslab-check-unknown") == 2  # the root: its link and path
    assert "not anchored: no trusted root pinned" in str(viewer.children[1].value)


def test_an_expired_document_shows_its_time_check(teaching: TeachingChain) -> None:
    viewer = explore(clc_chain(teaching), anchor=teaching.anchor, at=AFTER_CLC)
    viewer.select(0)
    html = detail(viewer)
    assert 'data-verdict="expired"' in html and 'data-code="expired"' in html
    assert "expired on 2027-01-05 09:00 UTC (checked at 2027-01-06 09:00 UTC)" in html
    assert html.count("rmslab-check-fail") == 1


def test_without_a_time_the_viewer_checks_at_now(teaching: TeachingChain) -> None:
    before = datetime.now(timezone.utc)
    viewer = explore(teaching.chain, anchor=teaching.anchor)
    assert before <= viewer.report.checked_at <= datetime.now(timezone.utc)
