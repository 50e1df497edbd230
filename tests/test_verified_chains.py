"""The server's cache of verified chains (MS-RMPR 3.1.1.1.3, the plCache): a chain is
verified once per exact text; a changed byte is another text, verified afresh and
refused; what depends on the time is checked at every validation, with the errors
:func:`rmslab.trust.validate_chain` gives; what fails is never kept.

covers: L-1, A-1
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from rmslab.crypto.rsa import surface_digest
from rmslab.errors import (BadSignatureError, DigestMismatchError, ExpiredError,
                           IssuerKeyNotFoundError, NotYetValidError)
from rmslab.lab import Lab
from rmslab.samples import TeachingChain
from rmslab.trust import VerifiedChains, validate_chain
from rmslab.xrml import parse


def _text(teaching: TeachingChain) -> str:
    return "".join(d.text for d in teaching.chain)


def test_a_chain_is_verified_once_for_its_text(teaching: TeachingChain) -> None:
    chains, now = VerifiedChains(), Lab().now()
    first = chains.parse(_text(teaching))
    validated = chains.validate(first, teaching.anchor, at=now)
    assert (chains.hits, chains.misses, len(chains)) == (0, 1, 1)
    again = chains.parse(_text(teaching))
    assert again is first  # the parsed, verified value itself
    assert chains.validate(again, teaching.anchor, at=now) is validated
    assert (chains.hits, chains.misses) == (1, 1)
    # another anchor, another leaf or another mode is another question: asked in full
    with pytest.raises(IssuerKeyNotFoundError):
        chains.validate(again, Lab(seed=99).key("enrollment-root").public, at=now)
    chains.validate(again, teaching.anchor, at=now, leaf=1)
    assert (chains.hits, chains.misses) == (1, 2)


def test_a_chain_read_elsewhere_is_verified_in_full(teaching: TeachingChain) -> None:
    chains, now = VerifiedChains(), Lab().now()
    chains.validate(chains.parse(_text(teaching)), teaching.anchor, at=now)
    chains.validate(parse(_text(teaching)), teaching.anchor, at=now)  # not the kept value
    assert (chains.hits, chains.misses) == (0, 2)


@pytest.mark.parametrize("where", ["body", "signature", "between"])
def test_a_changed_byte_never_hits(teaching: TeachingChain, where: str) -> None:
    chains, now = VerifiedChains(), Lab().now()
    text = _text(teaching)
    chains.validate(chains.parse(text), teaching.anchor, at=now)
    clc = teaching.chain[1]
    if where == "body":  # the BODY changed under the SIGNATURE copied verbatim
        body = clc.body_text.replace("alice@", "mallory@")
        old = base64.b64encode(clc.signature.digest_value or b"").decode()
        new = base64.b64encode(surface_digest(body, clc.digest_algorithm)).decode()  # type: ignore[arg-type]
        changed = text.replace(clc.body_text, body).replace(old, new)
    elif where == "signature":  # one character of the SIGNATURE's value
        start = clc.text.index(">", clc.text.rindex("<VALUE")) + 1
        end = clc.text.index("</VALUE>", start)
        middle = (start + end) // 2
        flipped = "A" if clc.text[middle] != "A" else "B"
        changed = text.replace(clc.text, clc.text[:middle] + flipped + clc.text[middle + 1:])
    else:  # outside any document: another text, verified afresh, and it does verify
        changed = text.replace(teaching.chain[1].text, teaching.chain[1].text + "\n", 1)
    assert changed != text
    fresh = chains.parse(changed)
    assert fresh is not chains.parse(text)
    if where == "between":
        chains.validate(fresh, teaching.anchor, at=now)
        assert (chains.hits, chains.misses, len(chains)) == (0, 2, 2)
        return
    with pytest.raises((BadSignatureError, DigestMismatchError)) as caught:
        chains.validate(fresh, teaching.anchor, at=now)
    assert "client licensor certificate" in str(caught.value) or "2nd" in str(caught.value)
    assert (chains.hits, chains.misses, len(chains)) == (0, 1, 1)  # the failure is not kept
    with pytest.raises((BadSignatureError, DigestMismatchError)):  # nor ever remembered
        chains.validate(chains.parse(changed), teaching.anchor, at=now)


def test_the_time_is_checked_at_every_validation(teaching: TeachingChain) -> None:
    chains, now = VerifiedChains(), Lab().now()
    chain = chains.parse(_text(teaching))
    chains.validate(chain, teaching.anchor, at=now, leaf=1)
    chains.validate(chain, teaching.anchor, at=now)
    later, earlier = now + timedelta(days=800), now - timedelta(days=30)
    for at, leaf, error in ((later, 1, ExpiredError), (earlier, 0, NotYetValidError)):
        with pytest.raises(error) as direct:
            validate_chain(chain, teaching.anchor, leaf=leaf, at=at)
        with pytest.raises(error) as cached:
            chains.validate(chain, teaching.anchor, leaf=leaf, at=at)
        assert str(cached.value) == str(direct.value)
        assert (cached.value.position, cached.value.index) == \
            (direct.value.position, direct.value.index)
    assert chains.hits == 2
    # the publishing license, signed while the CLC could issue, outlives its range
    assert len(chains.validate(chain, teaching.anchor, at=later).path) == 4


def test_the_cache_is_bounded(teaching: TeachingChain) -> None:
    chains, now = VerifiedChains(entries=2), Lab().now()
    text = _text(teaching)
    for n in range(3):
        chains.validate(chains.parse(text + "\n" * n), teaching.anchor, at=now)
    assert len(chains) == 2
    assert chains.parse(text) is not chains.parse(text)  # the oldest was dropped
    small = VerifiedChains(characters=len(text) + 1)
    for n in range(2):
        small.validate(small.parse(text + "\n" * n), teaching.anchor, at=now)
    assert len(small) == 1
