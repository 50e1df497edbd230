"""Certificates of the same exact text are read once per process and their values shared
(rmslab.xrml.document.shared_property; signatures verified once, rmslab.crypto.rsa): what
every license of one cluster carries behind it. Attack tests: a certificate differing by
one character, at another place, or with another signature shares nothing, and its
failures are found as if it were read first.

covers: A-1
"""

from __future__ import annotations

import base64
from datetime import timedelta

from rmslab.report import Verdict, examine
from rmslab.samples import TeachingChain
from rmslab.xrml.reader import parse


def test_the_same_certificates_share_their_values(teaching: TeachingChain) -> None:
    first, second = parse(teaching.text), parse(teaching.text)
    for a, b in zip(first.documents[1:], second.documents[1:]):
        assert a is not b and a.element is not b.element
        assert a.principal_keys is b.principal_keys
        assert a.rights is b.rights and a.issuer_key is b.issuer_key
    at = teaching.chain.leaf.issued + timedelta(hours=1)  # type: ignore[operator]
    assert examine(second, at=at, anchor=teaching.anchor).verdict is Verdict.VALID


def test_a_certificate_differing_by_one_character_shares_nothing(
        teaching: TeachingChain) -> None:
    at = teaching.chain.leaf.issued + timedelta(hours=1)  # type: ignore[operator]
    assert examine(parse(teaching.text), at=at, anchor=teaching.anchor).verdict \
        is Verdict.VALID
    slc = teaching.chain[2]
    body = slc.body_text
    issued = body.index("<ISSUEDTIME>") + len("<ISSUEDTIME>")
    # one digit of the SLC's issuance time: the digest must be found not to match
    digit = body[issued + 3]
    changed = body[:issued + 3] + ("1" if digit != "1" else "2") + body[issued + 4:]
    text = teaching.text.replace(body, changed, 1)
    report = examine(parse(text), at=at, anchor=teaching.anchor)
    assert report.verdict is Verdict.INVALID
    assert report.documents[2].digest_matches is False
    assert parse(text)[2].issued != parse(teaching.text)[2].issued


def test_a_forged_signature_is_not_taken_for_the_verified_one(
        teaching: TeachingChain) -> None:
    at = teaching.chain.leaf.issued + timedelta(hours=1)  # type: ignore[operator]
    assert examine(parse(teaching.text), at=at, anchor=teaching.anchor).verdict \
        is Verdict.VALID
    slc = teaching.chain[2]
    assert slc.signature is not None and slc.signature.value is not None
    value = slc.signature.value
    forged = base64.b64encode(value[:-1] + bytes([value[-1] ^ 1])).decode("ascii")
    stated = base64.b64encode(value).decode("ascii")
    assert slc.text.count(stated) == 1
    text = teaching.text.replace(slc.text, slc.text.replace(stated, forged), 1)
    report = examine(parse(text), at=at, anchor=teaching.anchor)
    assert report.verdict is Verdict.INVALID
    assert report.documents[2].signature_valid is False
    assert report.documents[2].digest_matches is True


def test_the_same_certificate_at_another_place_is_read_on_its_own(
        teaching: TeachingChain) -> None:
    full = parse(teaching.text)
    alone = parse(teaching.text[teaching.chain[1].span.start:])
    assert alone[0].text == full[1].text
    assert alone[0].principal_keys == full[1].principal_keys
    assert alone[0].principal_keys is not full[1].principal_keys
