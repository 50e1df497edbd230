"""Per-document reports of a whole file, for people and for tools (SPEC A-1).

:func:`examine` runs every check rmslab knows on every document of a chain and records
each outcome and each failure's reason instead of stopping at the first: what an auditor
wants from ``rmslab verify``. The dictionaries returned by :meth:`ChainReport.to_json`
and :func:`inspect_json` are the stable JSON schemas documented in the README.

The verdict (:class:`Verdict`) is decided here and nowhere else; the command's text, its
JSON and exit status, the chain pictures and the chain viewer all read it. A chain is
*valid* only when every check holds at the time checked **and** every document's issuers
lead to a pinned root key: a chain whose signatures and links all hold but whose root
nobody pinned is *unanchored* — anyone can make such a chain with keys of their own, so
it is never called valid (MS-RMPR 2.2.9.2: every license and certificate leads back to a
CA certificate; 3.1.3.2: an SLC chain leads back to the common RMS root). The time
checked is a parameter: validity periods are always checked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import (ExpiredError, InputError, IssuerKeyNotFoundError, NotYetValidError,
                           RmslabError, VerificationError)
from rmslab.trust import (check_issued_within, check_issuer_kind, check_mode, check_time,
                          find_issuer, issues_in)
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal, format_time
from rmslab.xrml.reader import Chain
from rmslab.xrml.verify import check_digest, check_signature

__all__ = ["Verdict", "Finding", "DocumentReport", "ChainReport", "examine", "inspect_json",
           "VERIFY_SCHEMA_VERSION", "INSPECT_SCHEMA_VERSION", "TIME_CODES",
           "NOT_ANCHORED_LABEL"]

#: ``"schema"`` of ``rmslab verify --json`` (2: ``verdict`` added, ``chain_valid`` only
#: for a valid and anchored chain) and of ``rmslab inspect --json``.
VERIFY_SCHEMA_VERSION = 2
INSPECT_SCHEMA_VERSION = 1

#: The codes of the findings that concern the time checked, not the documents' integrity.
TIME_CODES = frozenset({ExpiredError.code, NotYetValidError.code})

#: What pictures and the chain viewer write beside a root that no pinned key vouches for.
NOT_ANCHORED_LABEL = "not anchored: no trusted root pinned"


class Verdict(str, enum.Enum):
    """What a chain (or one document of it) amounts to, in order of precedence: a failed
    check outweighs a time out of range, which outweighs a missing anchor."""

    INVALID = "invalid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    UNANCHORED = "unanchored"
    VALID = "valid"

    @property
    def headline(self) -> str:
        """The verdict in a few words, as every shell prints it."""
        return _HEADLINES[self]

    @property
    def tag(self) -> str:
        """The verdict of one document in the text report's margin."""
        return _TAGS[self]


_HEADLINES = {
    Verdict.VALID: "valid and anchored",
    Verdict.UNANCHORED: "consistent but NOT anchored",
    Verdict.EXPIRED: "EXPIRED",
    Verdict.NOT_YET_VALID: "NOT YET VALID",
    Verdict.INVALID: "NOT valid",
}
_TAGS = {
    Verdict.VALID: "ok", Verdict.UNANCHORED: "NOT ANCHORED", Verdict.EXPIRED: "EXPIRED",
    Verdict.NOT_YET_VALID: "NOT YET VALID", Verdict.INVALID: "BAD",
}


@dataclass(frozen=True)
class Finding:
    """One failed check: a stable code and a sentence."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class DocumentReport:
    index: int
    kind: str
    kind_name: str
    id: str | None
    issuer: str | None
    digest_algorithm: str | None
    key_bits: int | None
    digest_matches: bool | None
    digest_matches_after_whitespace_recovery: bool | None
    signature_valid: bool | None
    issuer_index: int | None
    anchored: bool
    errors: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: its issuers, followed through the file, end at the pinned anchor
    reaches_anchor: bool = False

    @property
    def passed(self) -> bool:
        """Every check of the document itself holds, the time included."""
        return not self.errors

    @property
    def verdict(self) -> Verdict:
        """A failed check, else a time out of range, else whether it reaches the anchor."""
        codes = [e.code for e in self.errors]
        if any(code not in TIME_CODES for code in codes):
            return Verdict.INVALID
        if ExpiredError.code in codes:
            return Verdict.EXPIRED
        if NotYetValidError.code in codes:
            return Verdict.NOT_YET_VALID
        return Verdict.VALID if self.reaches_anchor else Verdict.UNANCHORED

    @property
    def valid(self) -> bool:
        """Valid and anchored: never true for a document no pinned root vouches for."""
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index, "kind": self.kind, "id": self.id, "issuer": self.issuer,
            "digest_algorithm": self.digest_algorithm, "key_bits": self.key_bits,
            "digest_matches": self.digest_matches,
            "digest_matches_after_whitespace_recovery":
                self.digest_matches_after_whitespace_recovery,
            "signature_valid": self.signature_valid, "issuer_index": self.issuer_index,
            "anchored": self.anchored, "reaches_anchor": self.reaches_anchor,
            "verdict": self.verdict.value, "valid": self.valid,
            "errors": [e.to_json() for e in self.errors], "notes": list(self.notes),
        }


@dataclass
class ChainReport:
    file: str
    documents: list[DocumentReport]
    anchor: PublicKey | None
    recover_whitespace: bool
    checked_at: datetime
    required_mode: int

    @property
    def verdict(self) -> Verdict:
        """The chain's verdict: the most severe of its documents' (an empty chain is
        invalid)."""
        if not self.documents:
            return Verdict.INVALID
        found = {d.verdict for d in self.documents}
        return next(v for v in Verdict if v in found)

    @property
    def anchored(self) -> bool:
        """Every document's issuers lead to the pinned anchor."""
        return bool(self.documents) and all(d.reaches_anchor for d in self.documents)

    @property
    def chain_valid(self) -> bool:
        """Valid and anchored (schema 2: false for an unanchored chain)."""
        return self.verdict is Verdict.VALID

    def summary(self) -> str:
        """The verdict in one sentence: what holds, what does not, and when."""
        verdict = self.verdict
        when = f"checked at {self.checked_at:%Y-%m-%d %H:%M} UTC"
        failed = [(d, e) for d in self.documents for e in d.errors if e.code not in TIME_CODES]
        timed = [(d, e) for d in self.documents for e in d.errors if e.code in TIME_CODES]
        unanchored = "" if self.anchored else self._why_not_anchored()
        if verdict is Verdict.INVALID:
            if not self.documents:
                return "the file holds no document"
            codes = ", ".join(f"#{d.index} {e.code}" for d, e in failed)
            return (f"{len(failed)} check{'' if len(failed) == 1 else 's'} failed "
                    f"({codes}); {when}")
        if verdict in (Verdict.EXPIRED, Verdict.NOT_YET_VALID):
            what = "; ".join(f"the {d.kind_name} (#{d.index}): {e.message}" for d, e in timed)
            also = f"; also {unanchored}" if unanchored else ""
            return f"every signature and link holds, but {what}{also}"
        if verdict is Verdict.UNANCHORED:
            return f"every digest, signature and link holds, but {unanchored}; {when}"
        assert self.anchor is not None
        return (f"every check holds and the chain ends at the pinned root "
                f"{self.anchor.short_fingerprint}; {when}")

    def _why_not_anchored(self) -> str:
        if self.anchor is None:
            return ("no trusted root is pinned (--anchor KEYFILE): nothing says who stands "
                    "behind the chain")
        return f"it does not end at the pinned root {self.anchor.short_fingerprint}"

    def to_text(self) -> str:
        """The report as ``rmslab verify`` prints it: the time checked and the root
        pinned, per document its verdict, digest, signature, issuer link, findings
        (✗ code: message) and notes, then the chain's verdict."""
        root = (f"root pinned {self.anchor.short_fingerprint}" if self.anchor else
                "no root pinned")
        lines = [self.file, f"  checked at {self.checked_at:%Y-%m-%d %H:%M} UTC; {root}"]
        for d in self.documents:
            checked = d.digest_matches is not None  # an unsigned document has nothing to check
            digest = ("-" if not checked else "matches" if d.digest_matches else
                      "matches after whitespace recovery"
                      if d.digest_matches_after_whitespace_recovery else "does not match")
            signature = ("valid" if d.signature_valid else
                         "INVALID" if d.signature_valid is False else "-")
            link = (f"#{d.issuer_index}" if d.issuer_index is not None else
                    "the pinned root" if d.anchored else
                    "(not in file)" if checked else "-")
            lines += [f"  [{d.verdict.tag}] #{d.index} {d.kind_name} {d.id or ''}",
                      f"        issuer {d.issuer}; {d.digest_algorithm or '-'} / "
                      f"RSA-{d.key_bits or '?'}",
                      f"        digest {digest}; signature {signature}; issuer certified by "
                      f"{link}"]
            lines += [f"        ✗ {e.code}: {e.message}" for e in d.errors]
            lines += [f"        · {n}" for n in d.notes]
        lines.append(f"chain {_CHAIN_WORDS[self.verdict]}: {self.summary()}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": VERIFY_SCHEMA_VERSION, "file": self.file,
            "verdict": self.verdict.value, "chain_valid": self.chain_valid,
            "anchored": self.anchored,
            "anchor": self.anchor.fingerprint if self.anchor else None,
            "summary": self.summary(),
            "recover_whitespace": self.recover_whitespace,
            "checked_at": format_time(self.checked_at),
            "required_mode": self.required_mode,
            "documents": [d.to_json() for d in self.documents],
        }


_CHAIN_WORDS = {
    Verdict.VALID: "VALID AND ANCHORED", Verdict.UNANCHORED: "NOT ANCHORED",
    Verdict.EXPIRED: "EXPIRED", Verdict.NOT_YET_VALID: "NOT YET VALID",
    Verdict.INVALID: "NOT VALID",
}


def _record(report: DocumentReport, exc: RmslabError) -> None:
    code = exc.code if isinstance(exc, VerificationError) else "malformed"
    message = exc.reason if isinstance(exc, VerificationError) else str(exc)
    report.errors.append(Finding(code, message))


def _follow_issuers(reports: list[DocumentReport], anchor: PublicKey | None) -> None:
    """Set ``reaches_anchor`` on every document by following ``issuer_index`` through the
    file; with an anchor pinned, certificates whose issuers loop back on themselves are
    a failed link (``issuer-key-not-found``, as :func:`rmslab.trust.validate_chain` says)."""
    by_index = {r.index: r for r in reports}
    looped: set[int] = set()
    for report in reports:
        path: list[int] = []
        current: DocumentReport | None = report
        while current is not None and not current.anchored and current.index not in path:
            path.append(current.index)
            current = (by_index.get(current.issuer_index)
                       if current.issuer_index is not None else None)
        report.reaches_anchor = current is not None and current.anchored
        if current is not None and not current.anchored:  # back to a document already seen
            looped.update(path[path.index(current.index):])
    for index in sorted(looped):
        loop = " → ".join(f"#{i}" for i in _loop_from(by_index, index))
        if anchor is not None:
            by_index[index].errors.append(Finding(
                IssuerKeyNotFoundError.code,
                f"its issuers in the file loop back on themselves ({loop}) without reaching "
                f"the pinned anchor"))
        else:
            by_index[index].notes.append(f"its issuers in the file loop back on themselves "
                                         f"({loop}): no root ends the chain")


def _loop_from(by_index: dict[int, DocumentReport], start: int) -> list[int]:
    loop = [start]
    current = by_index[start].issuer_index
    while current is not None and current != start and current not in loop:
        loop.append(current)
        current = by_index[current].issuer_index
    return loop + [start]


def examine(chain: Chain, *, at: datetime, anchor: PublicKey | None = None,
            recover_whitespace: bool = False, required_mode: int = 1) -> ChainReport:
    """Check every document of ``chain`` at the time ``at`` (the time rules of
    :mod:`rmslab.trust`: issued by then, within its VALIDITYTIME, issued while its
    issuer's certificate could issue, and a leaf certificate still able to issue); never
    raises for a failed check. The time is the caller's: the command reads the clock,
    flows and notebooks pass the lab's."""
    reports = []
    for doc in chain:
        key = doc.issuer_key
        stated = doc.signature.digest_value if doc.signature else None
        report = DocumentReport(
            index=doc.index, kind=doc.kind, kind_name=doc.kind_name, id=doc.id,
            issuer=doc.issuer.label if doc.issuer else None,
            digest_algorithm=doc.digest_algorithm.value if doc.digest_algorithm else None,
            key_bits=key.bits if key else None,
            digest_matches=None, digest_matches_after_whitespace_recovery=None,
            signature_valid=None, issuer_index=None, anchored=False)
        reports.append(report)
        if not doc.is_signed:
            report.errors.append(Finding("unsigned", "the document has no SIGNATURE; "
                                                     "nothing vouches for it"))
            continue
        if doc.digest_algorithm is not None and stated is not None:
            report.digest_matches = doc.compute_digest() == stated
            report.digest_matches_after_whitespace_recovery = (
                doc.compute_digest(recover_whitespace=True) == stated)
        try:
            check_digest(doc, recover_whitespace=recover_whitespace)
            if not report.digest_matches:
                report.notes.append("digest matches only after whitespace recovery "
                                    "(the copy was reformatted after signing)")
        except RmslabError as exc:
            _record(report, exc)
        try:
            check_signature(doc)
            report.signature_valid = True
        except VerificationError as exc:
            report.signature_valid = False
            _record(report, exc)
        except InputError as exc:
            _record(report, exc)
        issuer = find_issuer(chain, doc)
        report.issuer_index = issuer.index if issuer else None
        report.anchored = anchor is not None and key == anchor
        try:
            if issuer is not None:
                check_issuer_kind(doc, issuer, doc.position)
            elif anchor is not None and not report.anchored:
                report.errors.append(Finding(
                    "issuer-key-not-found",
                    f"no certificate in the file holds its issuer's key "
                    f"({report.issuer}) and that key is not the pinned anchor"))
            elif anchor is None:
                report.notes.append("its issuer is not in the file and no root is pinned: "
                                    "pin the root with --anchor to check where the chain "
                                    "ends")
        except VerificationError as exc:
            _record(report, exc)
        try:
            if issuer is not None:
                check_issued_within(doc, issuer, doc.position)
        except VerificationError as exc:
            _record(report, exc)
        try:
            check_time(doc, at, doc.position, leaf=not issues_in(chain.documents, doc))
        except VerificationError as exc:
            _record(report, exc)
        try:
            check_mode(doc, required_mode, doc.position)
        except VerificationError as exc:
            _record(report, exc)
    _follow_issuers(reports, anchor)
    return ChainReport(chain.source, reports, anchor, recover_whitespace, at, required_mode)


def _principal_json(p: Principal | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "type": p.object_type, "name": p.name, "id": p.id, "id_type": p.id_type,
        "addresses": [{"type": t, "value": v} for t, v in p.addresses],
        "internal_id": p.internal_id,
        "key": ({"bits": p.public_key.bits, "fingerprint": p.public_key.fingerprint}
                if p.public_key else None),
        "security_levels": {name: value for name, value in p.security_levels},
    }


def _document_json(doc: XrmlDocument) -> dict[str, Any]:
    validity = doc.validity
    return {
        "index": doc.index, "kind": doc.kind, "kind_name": doc.kind_name,
        "body_type": doc.body_type, "id": doc.id,
        "issued": format_time(doc.issued) if doc.issued else None,
        "issuer": _principal_json(doc.issuer),
        "principals": [_principal_json(p) for p in doc.principals],
        "content_id": doc.content_id, "owner": doc.owner,
        "license_acquisition_urls": list(doc.license_acquisition_urls),
        "distribution_points": [
            {"type": d.type, "id": d.id, "name": d.name, "address": d.address}
            for d in doc.distribution_points],
        "validity": {
            "from": format_time(validity.not_before) if validity and validity.not_before else None,
            "until": format_time(validity.not_after) if validity and validity.not_after else None,
        },
        "rights": [
            {"name": r.name, "principals": list(r.principals),
             "from": format_time(r.validity.not_before) if r.validity and r.validity.not_before else None,
             "until": format_time(r.validity.not_after) if r.validity and r.validity.not_after else None}
            for r in doc.rights],
        "digest_algorithm": doc.digest_algorithm.value if doc.digest_algorithm else None,
        "mode": doc.mode,
        "signed": doc.is_signed,
    }


def inspect_json(chain: Chain) -> dict[str, Any]:
    """Everything readable in every document of a file (``rmslab inspect --json``)."""
    out: dict[str, Any] = {"schema": INSPECT_SCHEMA_VERSION, "file": chain.source,
                           "documents": [_document_json(d) for d in chain]}
    if chain.container is not None:
        c = chain.container
        out["container"] = {"version": c.version, "extension": c.extension,
                            "content_bytes": c.content_length,
                            "original_size": c.original_size,
                            "metadata_bytes": len(c.metadata)}
    return out
