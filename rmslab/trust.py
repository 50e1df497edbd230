"""Chains of trust: from a leaf document up to a pinned anchor key (docs/wire-format.md "Building
blocks": the chain link is "this ISSUER key is the issued principal's key in the next
certificate").

Time, as MS-RMPR states it: a document is invalid outside its VALIDITYTIME (2.2.9.1.2)
and before its ISSUEDTIME; a certificate's RANGETIME — the condition of its ISSUE right —
is "the period during which the certificate can be used for issuance" (2.2.9.2), so no
document it certifies may be issued after that range ends, whatever the time checked.
Only a certificate that issued nothing in the chain (its leaf: a client licensor
certificate on its own, an SLC being renewed) is checked against the time checked with
it. A publishing license signed while its client licensor certificate was in range
stays valid after that certificate ends, as protected files do in RMS.

:func:`validate_chain` raises a typed :class:`~rmslab.errors.TrustError` (or a digest
or signature error) that names the document's position — "the client licensor
certificate, 2nd in the chain" — and the reason. On success it returns a
:class:`ValidatedChain` of the verified documents, leaf first.

A server that is sent the same chains again and again — the publishing license of a
document every reader asks about, each reader's RAC chain, its own SLC chain — keeps what
it verified in a :class:`VerifiedChains`: the plCache of MS-RMPR 3.1.1.1.3 ("XML parsing,
validation, and signature verification can be expensive operations"), kept by the
chain's exact text rather than by its SIGNATURE element, and only for what does not
depend on the time.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from rmslab.crypto.rsa import DigestAlgorithm, PublicKey
from rmslab.errors import (ExpiredError, IssuedOutsideRangeError, IssuerKeyNotFoundError,
                           NotYetValidError, VerificationError, WeakAlgorithmError,
                           WrongKindError)
from rmslab.xrml.document import CERTIFICATE_KINDS, KIND_NAMES, XrmlDocument, ordinal
from rmslab.xrml.model import Validity
from rmslab.xrml.reader import CertifiedKeys, Chain, parse
from rmslab.xrml.verify import VerifiedDocument, verify_document

__all__ = ["ALLOWED_ISSUERS", "ValidatedChain", "find_issuer", "validate_chain",
           "check_time", "check_issued_within", "check_mode", "check_issuer_kind",
           "chain_position", "validity_time", "issuance_range", "issues_in",
           "VerifiedChains"]

_CA = "DRM-CA-Certificate"
_SLC = "Server-Licensor-Certificate"
_CLC = "Client-Licensor-Certificate"
_MACHINE = "Machine-Certificate"

#: Which kind of certificate may certify the issuer of which kind of document.
ALLOWED_ISSUERS: dict[str, frozenset[str]] = {
    _CA: frozenset({_CA}),
    _SLC: frozenset({_CA, _SLC}),
    _MACHINE: frozenset({_CA, _MACHINE, _SLC}),
    "Group-Identity-Credential": frozenset({_SLC}),
    _CLC: frozenset({_SLC}),
    "Content-License": frozenset({_SLC, _CLC}),
    "Microsoft Rights Label": frozenset({_SLC, _CLC}),
    "Microsoft Official Rights Template": frozenset({_SLC}),
    "Revocation-List": frozenset(CERTIFICATE_KINDS),
}


def chain_position(doc: XrmlDocument, depth: int) -> str:
    """Name a document by its place on a validated path (leaf = 1st)."""
    return f"the {doc.kind_name}, {ordinal(depth + 1)} in the chain"


def find_issuer(documents: Chain | Sequence[XrmlDocument],
                doc: XrmlDocument) -> XrmlDocument | None:
    """The certificate among ``documents`` whose issued principal holds ``doc``'s issuer
    key: the first one after ``doc``, else the nearest before it, else None.

    Given a :class:`Chain`, its index of certified keys answers (built once per chain:
    examining every document of a chain stays linear in its length); given documents,
    they are searched in turn. A certificate whose keys cannot be read raises when the
    search reaches it, either way."""
    key = doc.issuer_key
    if key is None:
        return None
    if isinstance(documents, Chain) and documents.certified_keys is not None:
        return _find_in_index(documents, documents.certified_keys, doc, key)
    after = next((d for d in documents if d.index > doc.index and d.certifies(key)), None)
    if after is not None:
        return after
    before = [d for d in documents if d.index < doc.index and d.certifies(key)]
    return before[-1] if before else None


def _find_in_index(chain: Chain, index: CertifiedKeys, doc: XrmlDocument,
                   key: PublicKey) -> XrmlDocument | None:
    holders = index.holders.get(key, ())
    unreadable = index.unreadable
    at = bisect.bisect_right(holders, doc.index)
    stop = holders[at] if at < len(holders) else len(chain)
    # the search after doc reads every certificate up to the holder it finds
    broken = bisect.bisect_right(unreadable, doc.index)
    if broken < len(unreadable) and unreadable[broken] < stop:
        raise index.errors[broken]
    if at < len(holders):
        return chain[holders[at]]
    # the search before doc reads every certificate before it
    if unreadable and unreadable[0] < doc.index:
        raise index.errors[0]
    before = bisect.bisect_left(holders, doc.index)
    return chain[holders[before - 1]] if before else None


def check_issuer_kind(doc: XrmlDocument, issuer: XrmlDocument, position: str | None) -> None:
    allowed = ALLOWED_ISSUERS.get(doc.kind)
    if allowed is not None and issuer.kind not in allowed:
        names = " or ".join(sorted(KIND_NAMES.get(k, k) for k in allowed))
        raise WrongKindError(
            f"its issuer is certified by a {issuer.kind_name}, but a {doc.kind_name} "
            f"must be issued under a {names}", position=position, index=doc.index)


def validity_time(doc: XrmlDocument) -> Validity | None:
    """``BODY/VALIDITYTIME``: outside it the document is invalid (MS-RMPR 2.2.9.1.2)."""
    if doc.element.find("BODY/VALIDITYTIME") is None:
        return None
    return doc.validity


def issuance_range(doc: XrmlDocument) -> Validity | None:
    """The RANGETIME of a certificate's ISSUE right: when it may issue (MS-RMPR 2.2.9.2)."""
    if doc.kind not in CERTIFICATE_KINDS:
        return None
    return next((r.validity for r in doc.rights if r.name == "ISSUE" and r.validity), None)


def issues_in(documents: Sequence[XrmlDocument], doc: XrmlDocument) -> bool:
    """Whether ``doc`` certifies the issuer key of another of ``documents`` (it is not the
    leaf of the chain)."""
    return doc.kind in CERTIFICATE_KINDS and any(
        other.index != doc.index and other.issuer_key is not None
        and doc.certifies(other.issuer_key) for other in documents)


def _window(window: Validity, at: datetime, doc: XrmlDocument, position: str | None) -> None:
    checked = f"(checked at {at:%Y-%m-%d %H:%M} UTC)"
    if window.not_before is not None and at < window.not_before:
        raise NotYetValidError(f"not valid before {window.not_before:%Y-%m-%d %H:%M} UTC "
                               f"{checked}", position=position, index=doc.index)
    if window.not_after is not None and at > window.not_after:
        raise ExpiredError(f"expired on {window.not_after:%Y-%m-%d %H:%M} UTC {checked}",
                           position=position, index=doc.index)


def check_time(doc: XrmlDocument, at: datetime, position: str | None, *,
               leaf: bool = True) -> None:
    """At the time checked ``at``: the document was issued, is within its VALIDITYTIME
    and — a certificate that issued nothing in the chain (``leaf``) — may still issue."""
    issued = doc.issued
    if issued is not None and at < issued:
        raise NotYetValidError(
            f"not valid before it was issued, {issued:%Y-%m-%d %H:%M} UTC "
            f"(checked at {at:%Y-%m-%d %H:%M} UTC)", position=position, index=doc.index)
    window = validity_time(doc)
    if window is not None:
        _window(window, at, doc, position)
    window = issuance_range(doc) if leaf else None
    if window is not None:
        _window(window, at, doc, position)


def check_issued_within(doc: XrmlDocument, issuer: XrmlDocument, position: str | None) -> None:
    """``doc`` was not issued after ``issuer`` — the certificate of its issuer's key —
    stopped being able to issue: its ISSUEDTIME is not past the end of the issuer's ISSUE
    range (MS-RMPR 2.2.9.2). The start is not held against it: a renewed certificate
    certifies the same key from its renewal on, and what that key issued before stays
    valid (S-6)."""
    window = issuance_range(issuer)
    issued = doc.issued
    if window is None or window.not_after is None or issued is None \
            or issued <= window.not_after:
        return
    raise IssuedOutsideRangeError(
        f"issued on {issued:%Y-%m-%d %H:%M} UTC, after the {issuer.kind_name} "
        f"(#{issuer.index}) that certifies its issuer's key could issue (until "
        f"{window.not_after:%Y-%m-%d %H:%M} UTC)", position=position, index=doc.index)


def check_mode(doc: XrmlDocument, required_mode: int, position: str | None) -> None:
    if required_mode < 2:
        return
    key = doc.issuer_key
    algorithm = doc.digest_algorithm
    weak = []
    if algorithm is not DigestAlgorithm.SHA256:
        weak.append(f"digest {algorithm.value if algorithm else '?'}")
    if key is not None and key.bits < 2048:
        weak.append(f"{key.bits}-bit RSA key")
    if weak:
        raise WeakAlgorithmError(
            f"signed in cryptographic mode 1 ({', '.join(weak)}) where mode 2 "
            "(RSA-2048 with SHA-256) is required", position=position, index=doc.index)


@dataclass(frozen=True)
class ValidatedChain:
    """A path from a leaf to the anchor whose every link was checked."""

    path: tuple[VerifiedDocument, ...]
    anchor: PublicKey

    @property
    def leaf(self) -> VerifiedDocument:
        return self.path[0]

    def describe(self) -> list[str]:
        return [f"{chain_position(v.document, i)}: {v.document.issuer.label if v.document.issuer else '?'}"
                for i, v in enumerate(self.path)]


def validate_chain(chain: Chain | Sequence[XrmlDocument], anchor: PublicKey, *,
                   leaf: int = 0, at: datetime | None = None,
                   required_mode: int = 1, recover_whitespace: bool = False,
                   max_length: int = 16) -> ValidatedChain:
    """Validate the path from ``chain[leaf]`` up to the pinned ``anchor`` key.

    Each document on the path must have a matching digest, a valid signature by its
    ISSUER key, an issuer certified by the next certificate (of an allowed kind) or by
    the anchor itself, and meet ``required_mode``; when ``at`` is given, each must be
    valid then, and issued while the certificate above it could issue (module docstring).
    """
    documents = tuple(chain)
    doc = documents[leaf]
    path: list[VerifiedDocument] = []
    seen: set[int] = set()
    while True:
        depth = len(path)
        try:
            if doc.index in seen or depth >= max_length:
                raise IssuerKeyNotFoundError(
                    "the chain loops back on itself without reaching the anchor",
                    index=doc.index)
            seen.add(doc.index)
            verified = verify_document(doc, recover_whitespace=recover_whitespace)
            if at is not None:
                check_time(doc, at, None, leaf=depth == 0)
            check_mode(doc, required_mode, None)
            path.append(verified)
            if verified.issuer_key == anchor:
                return ValidatedChain(tuple(path), anchor)
            issuer = find_issuer(chain if isinstance(chain, Chain) else documents, doc)
            if issuer is None:
                raise IssuerKeyNotFoundError(
                    f"no certificate in the chain holds its issuer's key "
                    f"({doc.issuer.label if doc.issuer else 'no ISSUER'}, key "
                    f"{verified.issuer_key.short_fingerprint}), and that key is not the "
                    f"pinned anchor {anchor.short_fingerprint}", index=doc.index)
            check_issuer_kind(doc, issuer, None)
            if at is not None:
                check_issued_within(doc, issuer, None)
        except VerificationError as exc:
            # positions are named only when something fails
            raise exc.at(chain_position(doc, depth), doc.index) from None
        doc = issuer


@dataclass
class _Verified:
    """A chain that validated: its documents, and the path found from each leaf to each
    anchor (by anchor, leaf and mode)."""

    chain: Chain
    paths: dict[tuple[PublicKey, int, int], ValidatedChain] = field(default_factory=dict)


class VerifiedChains:
    """Chains parsed and validated once, kept by their exact text: MS-RMPR 3.1.1.1.3's
    PLCacheEntry ("a parsed, validated, signature-checked publishing license") for every
    chain a server verifies per request — publishing license chains, RAC chains, the SLC
    chains it holds.

    A verified document is a value: what :func:`validate_chain` found of a text —
    digests, signatures, each issuer found in the chain and of an allowed kind, the
    cryptographic mode, each document issued while the certificate above it could issue
    — holds for that text and that anchor for ever. So an entry is kept under the whole
    text (not its SIGNATURE element, which MS-RMPR keys by: a BODY changed under a copied
    SIGNATURE is another text, verified afresh and refused) and, within it, by the anchor
    key, the leaf and the mode asked for. What does depend on the time — each document
    issued and within its VALIDITYTIME at the time checked, the leaf's ISSUE range — is
    checked again at every :meth:`validate`, in the order :func:`validate_chain` checks
    it, with the same errors. Only chains that validated are kept (a request that fails
    costs what it cost before, and cannot fill the cache with junk); at most ``entries``
    chains and ``characters`` characters of their text, the least recently used dropped
    first. Safe to share between threads: entries are read-only values."""

    def __init__(self, *, entries: int = 512, characters: int = 32 * 1024 * 1024) -> None:
        self.entries = entries
        self.characters = characters
        self._kept: OrderedDict[str, _Verified] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        #: Validations answered from the cache, and made in full (for tests and benches).
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)

    def parse(self, text: str, *, source: str = "<text>") -> Chain:
        """The chain of ``text``: the one kept when this exact text validated before,
        else read afresh (:func:`rmslab.xrml.reader.parse`; not kept until it validates)."""
        with self._lock:
            kept = self._kept.get(text)
        if kept is not None:
            return kept.chain
        return parse(text, source=source)

    def validate(self, chain: Chain, anchor: PublicKey, *, at: datetime, leaf: int = 0,
                 required_mode: int = 1) -> ValidatedChain:
        """:func:`validate_chain` of ``chain`` at ``at``: answered from the cache when
        ``chain`` is the one :meth:`parse` keeps for its text and it validated to
        ``anchor`` before (only the time is checked again), else validated in full and,
        when it validates, kept."""
        key = (anchor, leaf, required_mode)
        with self._lock:
            kept = self._kept.get(chain.text)
            if kept is not None:
                self._kept.move_to_end(chain.text)
        found = (kept.paths.get(key) if kept is not None
                 and kept.chain.documents is chain.documents else None)
        if found is not None:
            with self._lock:
                self.hits += 1
            for depth, verified in enumerate(found.path):
                document = verified.document
                try:
                    check_time(document, at, None, leaf=depth == 0)
                except VerificationError as exc:
                    raise exc.at(chain_position(document, depth), document.index) from None
            return found
        validated = validate_chain(chain, anchor, leaf=leaf, at=at,
                                   required_mode=required_mode)
        self._keep(chain, key, validated)
        return validated

    def _keep(self, chain: Chain, key: tuple[PublicKey, int, int],
              validated: ValidatedChain) -> None:
        with self._lock:
            self.misses += 1
            kept = self._kept.get(chain.text)
            if kept is None or kept.chain.documents is not chain.documents:
                if kept is not None:  # another thread kept its own reading of the text
                    self._size -= len(chain.text)
                kept = self._kept[chain.text] = _Verified(chain)
                self._size += len(chain.text)
            kept.paths[key] = validated
            self._kept.move_to_end(chain.text)
            while self._kept and (len(self._kept) > self.entries
                                  or self._size > self.characters):
                text, _ = self._kept.popitem(last=False)
                self._size -= len(text)
