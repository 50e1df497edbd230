"""Per-document reports of a whole file, for people and for tools (SPEC A-1).

:func:`examine` runs every check rmslab knows on every document of a chain and records
each outcome and each failure's reason instead of stopping at the first: what an auditor
wants from ``rmslab verify``. The dictionaries returned by :meth:`ChainReport.to_json`
and :func:`inspect_json` are the stable JSON schema documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, RmslabError, VerificationError
from rmslab.trust import check_issuer_kind, check_mode, check_time, find_issuer
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal, format_time
from rmslab.xrml.reader import Chain
from rmslab.xrml.verify import check_digest, check_signature

__all__ = ["Finding", "DocumentReport", "ChainReport", "examine", "inspect_json"]

SCHEMA_VERSION = 1


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

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index, "kind": self.kind, "id": self.id, "issuer": self.issuer,
            "digest_algorithm": self.digest_algorithm, "key_bits": self.key_bits,
            "digest_matches": self.digest_matches,
            "digest_matches_after_whitespace_recovery":
                self.digest_matches_after_whitespace_recovery,
            "signature_valid": self.signature_valid, "issuer_index": self.issuer_index,
            "anchored": self.anchored, "valid": self.valid,
            "errors": [e.to_json() for e in self.errors], "notes": list(self.notes),
        }


@dataclass
class ChainReport:
    file: str
    documents: list[DocumentReport]
    anchor: PublicKey | None
    recover_whitespace: bool
    checked_at: datetime | None
    required_mode: int

    @property
    def chain_valid(self) -> bool:
        return bool(self.documents) and all(d.valid for d in self.documents)

    def to_text(self) -> str:
        """The report as ``rmslab verify`` prints it: per document its verdict, digest,
        signature, issuer link, findings (✗ code: message) and notes, then the chain's."""
        lines = [self.file]
        for d in self.documents:
            checked = d.digest_matches is not None  # an unsigned document has nothing to check
            digest = ("-" if not checked else "matches" if d.digest_matches else
                      "matches after whitespace recovery"
                      if d.digest_matches_after_whitespace_recovery else "does not match")
            signature = ("valid" if d.signature_valid else
                         "INVALID" if d.signature_valid is False else "-")
            link = (f"#{d.issuer_index}" if d.issuer_index is not None else
                    "the anchor" if d.anchored else
                    "(not in file)" if checked else "-")
            lines += [f"  [{'ok ' if d.valid else 'BAD'}] #{d.index} {d.kind_name} {d.id or ''}",
                      f"        issuer {d.issuer}; {d.digest_algorithm or '-'} / "
                      f"RSA-{d.key_bits or '?'}",
                      f"        digest {digest}; signature {signature}; issuer certified by "
                      f"{link}"]
            lines += [f"        ✗ {e.code}: {e.message}" for e in d.errors]
            lines += [f"        · {n}" for n in d.notes]
        lines.append(f"chain {'VALID' if self.chain_valid else 'NOT VALID'}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION, "file": self.file, "chain_valid": self.chain_valid,
            "anchor": self.anchor.fingerprint if self.anchor else None,
            "recover_whitespace": self.recover_whitespace,
            "checked_at": format_time(self.checked_at) if self.checked_at else None,
            "required_mode": self.required_mode,
            "documents": [d.to_json() for d in self.documents],
        }


def _record(report: DocumentReport, exc: RmslabError) -> None:
    code = exc.code if isinstance(exc, VerificationError) else "malformed"
    message = exc.reason if isinstance(exc, VerificationError) else str(exc)
    report.errors.append(Finding(code, message))


def examine(chain: Chain, *, anchor: PublicKey | None = None,
            recover_whitespace: bool = False, at: datetime | None = None,
            required_mode: int = 1) -> ChainReport:
    """Check every document of ``chain``; never raises for a failed check."""
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
        issuer = find_issuer(chain.documents, doc)
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
                report.notes.append("its issuer is not in the file; pin the root with "
                                    "--anchor to check where the chain ends")
            if at is not None:
                check_time(doc, at, doc.position)
            check_mode(doc, required_mode, doc.position)
        except VerificationError as exc:
            _record(report, exc)
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
    out: dict[str, Any] = {"schema": SCHEMA_VERSION, "file": chain.source,
                           "documents": [_document_json(d) for d in chain]}
    if chain.container is not None:
        c = chain.container
        out["container"] = {"version": c.version, "extension": c.extension,
                            "content_bytes": len(c.content),
                            "original_size": c.original_size,
                            "metadata_bytes": len(c.metadata)}
    return out
