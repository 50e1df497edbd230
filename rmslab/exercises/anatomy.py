"""Exercises of notebook 01, the anatomy of an XrML document (rule A-1;
docs/wire-format.md, "Signature"): a digest by hand, which check a restated digest trips, which certificate
vouches for a key, and a chain repaired without signing anything."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.lab import Lab
from rmslab.report import Verdict, examine
from rmslab.samples import TeachingChain, teaching_chain
from rmslab.teaching import tamper
from rmslab.trust import find_issuer
from rmslab.xrml.reader import Chain

__all__: list[str] = []

NOTEBOOK = "01_anatomy_of_an_xrml_document"
UNTIL = "<UNTIL>2027-01-05T09:00</UNTIL>"


@lru_cache(maxsize=1)
def _teaching() -> TeachingChain:
    """The notebook's chain: the default seed and time, mode 2."""
    return teaching_chain(Lab(mode=2))


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode("ascii")


@register("01.1", NOTEBOOK, Kind.DIGEST,
          "Compute, by hand (hashlib and base64, not compute_digest), the surface-coding "
          "digest of the server licensor certificate — document #2 of the chain.",
          "a str: the base64 of the digest, as DIGEST/VALUE writes it")
def _slc_digest(answer: Any) -> Judgement:
    chain = _teaching().chain
    slc = chain[2]
    expected = _b64(slc.compute_digest())
    if not isinstance(answer, str):
        return hint("give the digest as text: base64 of the hash's bytes, as DIGEST/VALUE "
                    "holds it")
    given = answer.strip()
    if given == expected:
        return correct("it is the SLC's DIGEST/VALUE: SHA-256 of the BODY's exact "
                       "characters in UTF-16LE")
    body = slc.body_text
    if given == _b64(hashlib.sha256(body.encode("utf-8")).digest()):
        return hint("that is the hash of the BODY encoded as UTF-8; the surface coding "
                    "encodes the characters another way (section 3 says which)")
    if given == hashlib.sha256(body.encode("utf-16-le")).hexdigest():
        return hint("the hash is right but written in hexadecimal; DIGEST/VALUE is base64")
    if given == _b64(hashlib.sha1(body.encode("utf-16-le")).digest()):
        return hint("SHA-1 is mode 1's digest; this lab is mode 2 (see DIGEST/ALGORITHM)")
    if given in {_b64(hashlib.sha256(slc.text.encode("utf-16-le")).digest()),
                 _b64(hashlib.sha256(slc.text.encode("utf-8")).digest())}:
        return hint("that hashes the whole document; the signature covers the BODY only, "
                    "from <BODY to </BODY>")
    if given in {_b64(doc.compute_digest()) for doc in chain if doc.index != 2}:
        return hint("that is the digest of another document of the chain: #2 is the "
                    "server licensor certificate")
    return hint("not the digest of #2's BODY: take chain[2].body_text exactly as it is, "
                "encode it as section 3 says, hash with the algorithm DIGEST/ALGORITHM names, "
                "then base64")


def _restated(teaching: TeachingChain) -> Chain:
    """The CLC's UNTIL moved to 2029 and DIGEST/VALUE rewritten for the new BODY."""
    moved = tamper(teaching.chain, 1, UNTIL, UNTIL.replace("2027", "2029"))
    clc = moved[1]
    assert clc.signature is not None
    old, new = _b64(clc.signature.digest_value), _b64(clc.compute_digest())
    return _replace(moved, old, new)


def _replace(chain: Chain, old: str, new: str) -> Chain:
    from rmslab.xrml.reader import parse
    if chain.text.count(old) != 1:
        raise ValueError("the stated digest must occur once")
    return parse(chain.text.replace(old, new, 1), source=f"{chain.source} (digest restated)")


_CODES = ("digest-mismatch", "bad-signature", "issuer-key-not-found", "wrong-kind", "none")


@register("01.2", NOTEBOOK, Kind.PREDICT,
          "Predict before you try it: the forger of section 4 also writes the digest of the "
          "changed BODY into the CLC's DIGEST/VALUE. Which finding does examine report for "
          f"#1 now? One of: {', '.join(_CODES)}.",
          "a str: one finding code")
def _restated_digest(answer: Any) -> Judgement:
    teaching = _teaching()
    report = examine(_restated(teaching), anchor=teaching.anchor, at=Lab().now())
    codes = [e.code for e in report.documents[1].errors] or ["none"]
    if not isinstance(answer, str) or answer.strip() not in _CODES:
        return hint(f"answer with one of {', '.join(_CODES)}")
    given = answer.strip()
    if given == codes[0]:
        return correct("the digest now matches the BODY, but the RSA signature was made "
                       "over the old digest, and only the server's private key could make "
                       "a new one")
    if given == "digest-mismatch":
        return hint("the forger recomputed DIGEST/VALUE from the changed BODY: compare the "
                    "two — then ask what the RSA signature was computed over")
    if given == "none":
        return hint("something still ties the document to the server: which value can only "
                    "the holder of the server's private key produce?")
    return hint("the keys and the links did not change: look at what vouches for "
                "DIGEST/VALUE itself")


@register("01.3", NOTEBOOK, Kind.FIND,
          "Find the certificate: which document of the chain (give its index) certifies "
          "the key that signed the publishing license #0?",
          "an int: the index of a document in the chain")
def _issuer_of_leaf(answer: Any) -> Judgement:
    chain = _teaching().chain
    found = find_issuer(chain.documents, chain[0])
    assert found is not None
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("give the index, an int from 0 to 3")
    if answer == found.index:
        return correct(f"#{found.index}'s issued principal holds the key of #0's ISSUER: "
                       f"Alice's client licensor key signed her publishing license")
    if answer == 0:
        return hint("#0 is the publishing license itself; its ISSUER names the key that "
                    "signed it — which certificate's ISSUEDPRINCIPALS holds that key?")
    if 0 < answer < len(chain):
        return hint(f"#{answer} certifies a key higher up the chain: compare #0's "
                    "ISSUER/PUBLICKEY with each certificate's ISSUEDPRINCIPALS")
    return hint(f"the chain has documents #0 to #{len(chain) - 1}")


@register("01.4", NOTEBOOK, Kind.REPAIR,
          "Repair the tampered chain of section 4 without signing anything, so that examine "
          "(with the anchor, at the lab's time) says it is valid and anchored.",
          "a Chain (tamper returns one)")
def _repaired(answer: Any) -> Judgement:
    teaching = _teaching()
    if not isinstance(answer, Chain):
        return hint("give a Chain: tamper(chain, index, old, new) returns one")
    report = examine(answer, anchor=teaching.anchor, at=Lab().now())
    original = [doc.id for doc in teaching.chain]
    if [doc.id for doc in answer] != original:
        return hint("repair the tampered chain itself: the same four documents, in the "
                    "same order")
    if report.verdict is Verdict.VALID:
        return correct("the BODY is back to the characters that were signed: the digest, "
                       "and with it the signature, hold again")
    failed = [f"#{d.index} {e.code}" for d in report.documents for e in d.errors]
    return hint(f"examine still finds {', '.join(failed) or report.verdict.value}: the "
                "digest covers the BODY's exact characters — what did section 4 change?")
