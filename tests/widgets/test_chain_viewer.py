"""The chain viewer (rmslab.widgets), without a browser: the verdict, a button per
document, what the detail of each document holds for intact and broken chains, the
picture, and the text Jupyter stores.

covers: A-1
"""

from __future__ import annotations

import re

import pytest

from rmslab.broken import broken_samples
from rmslab.samples import TeachingChain
from rmslab.widgets import ChainViewer, explore
from rmslab.xrml import read_chain

BROKEN = {sample.name: sample for sample in broken_samples()}


def viewer_of(name: str, teaching: TeachingChain, **options: object) -> ChainViewer:
    return explore(read_chain(BROKEN[name].data, source=name), anchor=teaching.anchor,
                   **options)  # type: ignore[arg-type]


def detail(viewer: ChainViewer) -> str:
    return str(viewer.children[3].value)


def classes(button: object) -> list[str]:
    return list(button._dom_classes)  # type: ignore[attr-defined]


def test_an_intact_chain(teaching: TeachingChain) -> None:
    viewer = explore(teaching.chain, anchor=teaching.anchor)
    assert repr(viewer) == "<ChainViewer 'teaching chain': 4 documents, chain valid; #0 shown>"
    assert 'data-valid="true"' in viewer.children[0].value
    buttons = viewer.children[2].children
    assert [b.description for b in buttons] == [
        "✓ #0 publishing license", "✓ #1 client licensor certificate",
        "✓ #2 server licensor certificate", "✓ #3 CA certificate"]
    assert not any("rmslab-document-button-bad" in classes(b) for b in buttons)
    html = detail(viewer)
    assert 'class="rmslab-document-detail" data-index="0" data-valid="true"' in html
    assert html.count("rmslab-check-pass") == 3 and "rmslab-finding" not in html
    assert "certified by #1, the client licensor certificate" in html


def test_the_picture_is_inline_svg_with_a_box_per_document(teaching: TeachingChain) -> None:
    picture = str(explore(teaching.chain, anchor=teaching.anchor).children[1].value)
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
    assert "chain not valid" in repr(viewer)
    viewer.select(index)
    html = detail(viewer)
    assert f'data-code="{code}"' in html
    assert 'data-valid="false"' in html


def test_whitespace_recovery_is_shown_not_hidden(teaching: TeachingChain) -> None:
    strict = viewer_of("reformatted.xml", teaching)
    assert "only once whitespace between tags is removed" in detail(strict)
    assert 'data-code="digest-mismatch"' in detail(strict)
    recovered = viewer_of("reformatted.xml", teaching, recover_whitespace=True)
    assert "chain valid" in repr(recovered)
    assert "only once whitespace between tags is removed" in detail(recovered)
    assert "rmslab-check-fail" not in detail(recovered)


def test_no_such_document(teaching: TeachingChain) -> None:
    viewer = explore(teaching.chain)
    with pytest.raises(IndexError, match="no document 4"):
        viewer.select(4)
    assert viewer.index == 0
    viewer.select(3)  # the CA certificate: without a pinned anchor, its issuer is unknown
    assert "pin an anchor to check where the chain ends" in detail(viewer)
