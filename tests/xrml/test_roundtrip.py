"""Round trip: what rmslab writes, read back, verifies; any single-character change
inside a signed BODY is caught.

covers: A-1
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmslab.crypto.rsa import DigestAlgorithm
from rmslab.errors import InputError, VerificationError
from rmslab.samples import TeachingChain
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.verify import verify_document


def test_written_documents_verify_and_keep_their_text(teaching: TeachingChain) -> None:
    again = parse(teaching.text)
    assert [d.text for d in again] == [d.text for d in teaching.chain]
    for doc in again:
        verified = verify_document(doc)
        assert verified.signed_body == doc.body_text
        assert doc.digest_algorithm is DigestAlgorithm.SHA256
        assert doc.issuer_key is not None and doc.issuer_key.bits == 2048
    assert "> <" not in teaching.text and "\n" not in teaching.text


def test_mode_1_documents(teaching_mode1: TeachingChain) -> None:
    for doc in teaching_mode1.chain:
        verify_document(doc)
        assert doc.digest_algorithm is DigestAlgorithm.SHA1 and doc.mode == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_character_change_inside_body_is_caught(
        teaching: TeachingChain, data: st.DataObject) -> None:
    target = data.draw(st.integers(0, len(teaching.chain) - 1), label="document")
    doc = teaching.chain[target]
    start = teaching.text.index(doc.body_text)
    offset = data.draw(st.integers(0, len(doc.body_text) - 1), label="offset")
    old = doc.body_text[offset]
    new = data.draw(st.characters(codec="utf-8", exclude_characters=[old],
                                  exclude_categories=["Cs"]), label="replacement")
    tampered = teaching.text[: start + offset] + new + teaching.text[start + offset + 1:]
    try:
        chain = parse(tampered)
        validate_chain(chain, teaching.anchor, leaf=min(target, len(chain) - 1))
    except (VerificationError, InputError):
        return
    raise AssertionError(f"change of {old!r} to {new!r} at {offset} in document {target} "
                         "was not caught")
