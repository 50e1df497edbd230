"""Trust: every failure is typed and names the position and the reason.

covers: A-1, E-1
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rmslab.errors import (BadSignatureError, DigestMismatchError, ExpiredError,
                           IssuedOutsideRangeError,
                           IssuerKeyNotFoundError, NotYetValidError, WeakAlgorithmError,
                           WrongKindError)
from rmslab.lab import Lab
from rmslab.samples import TeachingChain
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.writer import license_body, sign


def test_the_teaching_chain_validates_to_its_anchor(teaching: TeachingChain) -> None:
    validated = validate_chain(teaching.chain, teaching.anchor, required_mode=2,
                               at=Lab().now())
    kinds = [v.document.kind for v in validated.path]
    assert kinds == ["Microsoft Rights Label", "Client-Licensor-Certificate",
                     "Server-Licensor-Certificate", "DRM-CA-Certificate"]
    assert validated.leaf.signed_body == teaching.chain[0].body_text
    assert not validated.leaf.whitespace_recovered


def test_a_foreign_anchor_is_not_found(teaching: TeachingChain) -> None:
    other = Lab(seed=99).key("enrollment-root").public
    with pytest.raises(IssuerKeyNotFoundError,
                       match=r"the CA certificate, 4th in the chain: no certificate"):
        validate_chain(teaching.chain, other)


def test_missing_certificate_names_the_position(teaching: TeachingChain) -> None:
    # drop the SLC: the CLC's issuer key is then nowhere
    docs = teaching.chain
    text = docs[0].text + docs[1].text + docs[3].text
    with pytest.raises(IssuerKeyNotFoundError) as caught:
        validate_chain(parse(text), teaching.anchor)
    assert caught.value.position == "the client licensor certificate, 2nd in the chain"
    assert caught.value.index == 1


def test_tampered_certificate_in_the_middle(teaching: TeachingChain) -> None:
    docs = teaching.chain
    slc = docs[2].text.replace("CONTOSO-RMS", "CONTOSO-RMX", 1)
    text = docs[0].text + docs[1].text + slc + docs[3].text
    with pytest.raises(DigestMismatchError) as caught:
        validate_chain(parse(text), teaching.anchor)
    assert str(caught.value).startswith("the server licensor certificate, 3rd in the chain: ")


def test_signature_over_a_recomputed_digest_is_caught(teaching: TeachingChain) -> None:
    # An attacker edits the BODY and writes the matching digest, but cannot sign.
    import base64
    from rmslab.crypto.rsa import surface_digest
    doc = teaching.chain[1]
    body = doc.body_text.replace("alice@", "mallory@")
    old = base64.b64encode(doc.signature.digest_value or b"").decode()
    new = base64.b64encode(surface_digest(body, doc.digest_algorithm)).decode()  # type: ignore[arg-type]
    forged = doc.text.replace(doc.body_text, body).replace(old, new)
    text = teaching.chain[0].text + forged + teaching.chain[2].text + teaching.chain[3].text
    with pytest.raises((BadSignatureError, DigestMismatchError)) as caught:
        validate_chain(parse(text), teaching.anchor, leaf=1)
    assert isinstance(caught.value, BadSignatureError)
    assert "client licensor certificate, 1st in the chain" in str(caught.value)


def test_expired_and_not_yet_valid(teaching: TeachingChain) -> None:
    now = Lab().now()
    # the client licensor certificate as the leaf: may it still issue?
    with pytest.raises(ExpiredError, match="client licensor certificate, 1st in the chain: expired"):
        validate_chain(teaching.chain, teaching.anchor, leaf=1, at=now + timedelta(days=800))
    with pytest.raises(NotYetValidError, match="1st in the chain: not valid before it was issued"):
        validate_chain(teaching.chain, teaching.anchor, at=now - timedelta(days=30))


def test_what_was_issued_in_range_outlives_its_issuers_range(teaching: TeachingChain) -> None:
    """MS-RMPR 2.2.9.2: RANGETIME is when a certificate may issue; the publishing license
    signed in range stays valid after the client licensor certificate ends."""
    later = Lab().now() + timedelta(days=800)
    assert len(validate_chain(teaching.chain, teaching.anchor, at=later).path) == 4


def test_a_document_issued_after_its_issuers_range_is_refused(teaching: TeachingChain) -> None:
    from rmslab.broken import sample
    late = parse(sample("published-after-expiry.xml").data.decode("utf-8"))
    assert late[1].validity is not None and late[1].validity.not_after is not None
    at = late[1].validity.not_after + timedelta(days=2)
    with pytest.raises(IssuedOutsideRangeError,
                       match="publishing license, 1st in the chain: issued on 2027-01-06"):
        validate_chain(late, teaching.anchor, at=at)
    validate_chain(late, teaching.anchor)  # no time checked: nothing to say


def test_mode_1_where_mode_2_is_required(teaching_mode1: TeachingChain) -> None:
    validate_chain(teaching_mode1.chain, teaching_mode1.anchor)
    with pytest.raises(WeakAlgorithmError, match=r"1st in the chain: .*mode 1 \(digest SHA1, 1024-bit"):
        validate_chain(teaching_mode1.chain, teaching_mode1.anchor, required_mode=2)


def test_a_license_cannot_stand_where_a_certificate_must(teaching: TeachingChain) -> None:
    # A CLC "issued" directly under the CA certificate: wrong kind of issuer.
    lab = Lab()
    ca = teaching.chain[3].principals[0]
    rogue_subject = teaching.chain[1].principals[0]
    body = license_body(kind="Client-Licensor-Certificate", id=lab.guid("rogue"),
                        issued=lab.now(), issuer=ca, principals=[rogue_subject])
    rogue = sign(body, teaching.keys["ca"], lab.digest_algorithm)
    text = rogue + teaching.chain[3].text
    with pytest.raises(WrongKindError, match="client licensor certificate, 1st in the chain: "
                                             "its issuer is certified by a CA certificate"):
        validate_chain(parse(text), teaching.anchor)


def test_loops_are_refused(teaching: TeachingChain) -> None:
    lab = Lab()
    a_key, b_key = lab.key("loop-a"), lab.key("loop-b")
    from rmslab.xrml.model import Principal
    a = Principal("DRM-Certificate-Authority", "{a}", "MS-GUID", "A", (), a_key.public)
    b = Principal("DRM-Certificate-Authority", "{b}", "MS-GUID", "B", (), b_key.public)
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cert_a = sign(license_body(kind="DRM-CA-Certificate", id="{1}", issued=t, issuer=b,
                               principals=[a]), b_key, lab.digest_algorithm)
    cert_b = sign(license_body(kind="DRM-CA-Certificate", id="{2}", issued=t, issuer=a,
                               principals=[b]), a_key, lab.digest_algorithm)
    with pytest.raises(IssuerKeyNotFoundError, match="loops"):
        validate_chain(parse(cert_a + cert_b), teaching.anchor)
