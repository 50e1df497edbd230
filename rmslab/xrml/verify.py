"""Verifying one document's signature (docs/wire-format.md "Signature").

"See what is signed": :func:`verify_document` returns a :class:`VerifiedDocument`
holding the exact BODY text the signature covers; callers read that, not the raw input.
Failures raise typed errors; nothing here returns a bare bool.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmslab.crypto.rsa import DigestAlgorithm, PublicKey
from rmslab.errors import (BadSignatureError, DigestMismatchError, StructureError,
                           UnsignedDocumentError)
from rmslab.xrml.document import XrmlDocument, strip_intertag_whitespace

__all__ = ["VerifiedDocument", "verify_document", "check_digest", "check_signature"]


@dataclass(frozen=True)
class VerifiedDocument:
    """A document whose digest and signature were checked, and what was checked."""

    document: XrmlDocument
    signed_body: str
    issuer_key: PublicKey
    algorithm: DigestAlgorithm
    whitespace_recovered: bool


def _signature_parts(doc: XrmlDocument) -> tuple[DigestAlgorithm, bytes, bytes]:
    sig = doc.signature
    if sig is None or sig.value is None:
        raise UnsignedDocumentError("the document has no SIGNATURE; nothing vouches for it",
                                    position=doc.position, index=doc.index)
    algorithm = doc.digest_algorithm
    if algorithm is None:
        raise StructureError(f"{doc.position}: DIGEST/ALGORITHM "
                             f"{sig.digest_algorithm!r} is not SHA1 or SHA256")
    if sig.digest_value is None:
        raise StructureError(f"{doc.position}: SIGNATURE has no DIGEST/VALUE")
    if sig.coding_type is not None and sig.coding_type != "surface-coding":
        raise StructureError(f"{doc.position}: digest coding type {sig.coding_type!r} "
                             "is not surface-coding")
    return algorithm, sig.digest_value, sig.value


def check_digest(doc: XrmlDocument, *, recover_whitespace: bool = False) -> str:
    """Check DIGEST/VALUE against the BODY; return the BODY text that matched.

    With ``recover_whitespace`` a mismatch on the exact text is retried once after
    removing whitespace between tags — the recovery is reported by the caller, never
    silent.
    """
    algorithm, stated, _ = _signature_parts(doc)
    return _matching_body(doc, algorithm, stated, recover_whitespace)


def _matching_body(doc: XrmlDocument, algorithm: DigestAlgorithm, stated: bytes,
                   recover_whitespace: bool) -> str:
    if doc.compute_digest() == stated:
        return doc.body_text
    recovered = strip_intertag_whitespace(doc.body_text)
    matches_recovered = doc.compute_digest(recover_whitespace=True) == stated
    if recover_whitespace and matches_recovered:
        return recovered
    hint = (" (it does match once whitespace between tags is removed: this copy was "
            "pretty-printed after signing; use whitespace recovery to accept it)"
            if matches_recovered else "")
    raise DigestMismatchError(
        f"the {algorithm.value} surface-coding digest of the BODY does not match "
        f"DIGEST/VALUE{hint}", position=doc.position, index=doc.index)


def check_signature(doc: XrmlDocument, issuer_key: PublicKey | None = None) -> None:
    """Check SIGNATURE/VALUE over the stated digest with the issuer's key (by default the
    key in the document's own ISSUER)."""
    algorithm, stated, value = _signature_parts(doc)
    _check_signature(doc, issuer_key or _issuer_key(doc), algorithm, stated, value)


def _issuer_key(doc: XrmlDocument) -> PublicKey:
    key = doc.issuer_key
    if key is None:
        raise StructureError(f"{doc.position}: the ISSUER has no PUBLICKEY")
    return key


def _check_signature(doc: XrmlDocument, key: PublicKey, algorithm: DigestAlgorithm,
                     stated: bytes, value: bytes) -> None:
    try:
        key.verify_digest(value, stated, algorithm)
    except BadSignatureError as exc:
        raise exc.at(doc.position, doc.index) from None


def verify_document(doc: XrmlDocument, issuer_key: PublicKey | None = None, *,
                    recover_whitespace: bool = False) -> VerifiedDocument:
    """Verify digest and signature of one document; return what was verified."""
    algorithm, stated, value = _signature_parts(doc)
    body = _matching_body(doc, algorithm, stated, recover_whitespace)
    key = issuer_key or _issuer_key(doc)
    _check_signature(doc, key, algorithm, stated, value)
    return VerifiedDocument(doc, body, key, algorithm, body != doc.body_text)
