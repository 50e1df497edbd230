"""Revocation lists: signed XrML naming what may no longer be used (SPEC R-1, R-2;
docs/wire-format.md "Revocation lists").

MS-RMPR fixes only the pointer to a list — the ``REFRESH`` revocation point of a
publishing or use license (2.2.9.7.9, 2.2.9.9.10, written by
:class:`rmslab.rights.RevocationRequirement` exactly as given there) — and says the list
is "a signed XrML document containing a REVOCATIONLIST element as specified in section
3.17 of [XRML]". The body below is **rmslab's reading of XrML 1.2 section 3.17**: no real
list was at hand to check it against, and ``rmslab inspect`` says so for every list.

A list is a ``LICENSE`` body with ``DESCRIPTOR/OBJECT/@type="Revocation-List"``, an
ISSUER (the signer, its key, and the list's URL) and a ``REVOCATIONLIST`` of ``REVOKE``
entries by ``category`` (license, issuer, content, user, application, machine) and
``type``: ``license-id``, ``license-hash``, ``issuer-key``, ``issuer-id``,
``content-id``, ``principal-id``, ``principal-key``.

:class:`RevocationIndex` answers "is this entity revoked?" in constant time whatever the
size of the list (hash sets per type, built once per list).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from lxml import etree

from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey
from rmslab.errors import InputError
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal, format_time, read_public_key
from rmslab.xrml.writer import Markup, element, object_xml, principal_xml, public_key_xml, sign

__all__ = ["ENTRY_TYPES", "Revoke", "RevocationIndex", "revocation_list_body",
           "issue_revocation_list", "normalise_id", "revocation_authorities"]

ENTRY_TYPES = ("license-id", "license-hash", "issuer-key", "issuer-id", "content-id",
               "principal-id", "principal-key")
_KEY_TYPES = ("issuer-key", "principal-key")


def normalise_id(value: str) -> str:
    """IDs compare without braces and case: ``{ab-…}`` and ``AB-…`` are the same GUID."""
    return value.strip().strip("{}").upper()


@dataclass(frozen=True)
class Revoke:
    """One entry to write: what kind of thing, how it is named, and the name (a GUID or a
    name, a base64 digest, or a public key)."""

    category: str
    type: str
    value: str | None = None
    key: PublicKey | None = None

    def __post_init__(self) -> None:
        if self.type not in ENTRY_TYPES:
            raise InputError(f"unknown revocation entry type {self.type!r}: "
                             f"{', '.join(ENTRY_TYPES)}")
        if (self.type in _KEY_TYPES) != (self.key is not None):
            raise InputError(f"a {self.type} entry needs "
                             f"{'a public key' if self.type in _KEY_TYPES else 'a value'}")

    def to_xml(self) -> Markup:
        attrs = (("category", self.category), ("type", self.type))
        if self.key is not None:
            return element("REVOKE", attrs, public_key_xml(self.key))
        assert self.value is not None
        if self.type == "license-hash":
            return element("REVOKE", attrs, element("VALUE", {"encoding": "base64"}, self.value))
        id_type = "MS-GUID" if self.value.startswith("{") else "Name"
        return element("REVOKE", attrs, object_xml(None, self.value, id_type=id_type))


def revocation_authorities(document: XrmlDocument) -> tuple[PublicKey, ...]:
    """The keys of the third-party revocation authorities an SLC names: the PUBLICKEYs of
    the ``Revocation`` distribution points of its ``CONDITIONLIST/REFRESH`` (MS-RMPR
    2.2.9.3.4, 2.2.9.3.5), except the first, which holds the key of the SLC's own issuer.
    Their lists apply to whatever that SLC's cluster issued (E-4, R-8). Empty for anything
    but a certificate, and for an SLC with standard revocation."""
    if not document.is_certificate:
        return ()
    points = document.element.findall(
        "BODY/CONDITIONLIST/REFRESH/DISTRIBUTIONPOINT[OBJECT]")
    keys = []
    for index, point in enumerate(points):
        obj = point.find("OBJECT")
        if obj is None or obj.get("type") != "Revocation":
            continue
        key = read_public_key(point.find("PUBLICKEY"), document.position)
        if key is None or (index == 0 and key == document.issuer_key):
            continue
        keys.append(key)
    return tuple(keys)


def revocation_list_body(*, id: str, issued: datetime, signer: Principal,
                         entries: Iterable[Revoke]) -> str:
    """The BODY of a revocation list. ``signer`` carries the list's URL as its ADDRESS."""
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), object_xml("Revocation-List", id)),
        principal_xml(signer, tag="ISSUER"),
        element("REVOCATIONLIST", (), *(e.to_xml() for e in entries)))


def issue_revocation_list(*, signer: Principal, key: PrivateKey, list_id: str,
                          issued: datetime, entries: Iterable[Revoke],
                          algorithm: DigestAlgorithm) -> str:
    """Write and sign a revocation list (R-2)."""
    return sign(revocation_list_body(id=list_id, issued=issued, signer=signer,
                                     entries=entries), key, algorithm)


class RevocationIndex:
    """Constant-time lookups in one revocation list (R-3 step 4)."""

    def __init__(self, document: XrmlDocument) -> None:
        if document.kind != "Revocation-List":
            raise InputError(f"{document.position}: not a revocation list")
        self.document = document
        self._by_type: dict[str, set[str]] = {t: set() for t in ENTRY_TYPES}
        self._labels: dict[tuple[str, str], str] = {}
        revocation_list = document.element.find("BODY/REVOCATIONLIST")
        if revocation_list is None:
            raise InputError(f"{document.position}: no REVOCATIONLIST")
        for revoke in revocation_list.iterchildren("REVOKE"):
            kind = revoke.get("type", "")
            if kind not in self._by_type:
                continue
            value = _entry_value(revoke, kind)
            if value:
                self._by_type[kind].add(value)
                self._labels[(kind, value)] = revoke.get("category", "")

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_type.values())

    def describe(self, *, entries: int = 3) -> list[str]:
        """What this list is, for people: signer and key, issue time, the first
        ``entries`` entries."""
        document = self.document
        signer = document.issuer.label if document.issuer else "?"
        key = self.signer_key.short_fingerprint if self.signer_key else "?"
        issued = f"{self.issued:%Y-%m-%d %H:%M} UTC" if self.issued else "at an unknown time"
        revocation_list = document.element.find("BODY/REVOCATIONLIST")
        revokes = (list(revocation_list.iterchildren("REVOKE"))
                   if revocation_list is not None else [])
        lines = [f"signed by {signer}, key {key}",
                 f"issued {issued}; {len(revokes)} entr{'y' if len(revokes) == 1 else 'ies'}"]
        lines.extend(f"revokes {_entry_label(r, document.position)}" for r in revokes[:entries])
        if len(revokes) > entries:
            lines.append(f"… and {len(revokes) - entries} more")
        return lines

    def __repr__(self) -> str:
        count = len(self)
        return (f"<RevocationIndex {self.url or self.document.id}: "
                f"{count} entr{'y' if count == 1 else 'ies'}>")

    @property
    def issued(self) -> datetime | None:
        return self.document.issued

    @property
    def signer_key(self) -> PublicKey | None:
        return self.document.issuer_key

    @property
    def url(self) -> str | None:
        return self.document.issuer.url if self.document.issuer else None

    def fresh(self, now: datetime, interval: timedelta) -> bool:
        """Issued no longer than ``interval`` before ``now`` (R-7), and not after it."""
        issued = self.issued
        return issued is not None and issued <= now <= issued + interval

    def revokes_id(self, kind: str, value: str | None) -> bool:
        return bool(value) and normalise_id(value or "") in self._by_type[kind]

    def revokes_key(self, kind: str, key: PublicKey | None) -> bool:
        return key is not None and key.modulus_base64 in self._by_type[kind]

    def revokes_hash(self, digest: bytes | None) -> bool:
        return digest is not None and base64.b64encode(digest).decode() in self._by_type["license-hash"]

    def category(self, kind: str, value: str) -> str:
        return self._labels.get((kind, value), "")


def _entry_label(revoke: etree._Element, where: str) -> str:
    """One ``REVOKE`` entry as a reader names it: category, type, and the ID, name,
    digest or key fingerprint it revokes."""
    from rmslab.xrml.model import read_public_key
    category, kind = revoke.get("category", "?"), revoke.get("type", "?")
    key_element = revoke.find("PUBLICKEY")
    if key_element is not None:
        key = read_public_key(key_element, where)
        value = f"key {key.short_fingerprint}" if key is not None else "a key"
    else:
        value = "".join((revoke.findtext("OBJECT/ID") or revoke.findtext("VALUE") or "").split())
        if len(value) > 40:
            value = f"{value[:20]}…{value[-20:]} [{len(value)} characters]"
    return f"{category} {value} ({kind})"


def _entry_value(revoke: etree._Element, kind: str) -> str | None:
    if kind in _KEY_TYPES:
        modulus = revoke.find("PUBLICKEY/PARAMETER[@name='modulus']/VALUE")
        if modulus is None or not modulus.text:
            return None
        # keys compare by their XrML modulus text (whitespace removed)
        return "".join(modulus.text.split())
    if kind == "license-hash":
        text = revoke.findtext("VALUE")
        return "".join(text.split()) if text else None
    text = revoke.findtext("OBJECT/ID")
    return normalise_id(text) if text else None
