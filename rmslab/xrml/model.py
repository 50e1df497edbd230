"""Typed, read-only values read out of XrML documents (XRML.md "Building blocks")."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import KeyFormatError, StructureError

__all__ = [
    "Principal", "Validity", "DistributionPoint", "Right", "SignatureBlock",
    "RevocationEntry", "parse_time", "format_time",
]

TIME_FORMAT = "%Y-%m-%dT%H:%M"


def parse_time(text: str | None, where: str) -> datetime | None:
    """XrML times: UTC, ``YYYY-MM-DDTHH:MM`` (seconds tolerated)."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    for fmt in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise StructureError(f"{where}: {value!r} is not an XrML time (YYYY-MM-DDTHH:MM)")


def format_time(moment: datetime) -> str:
    """Write a time the way XrML does (UTC, minutes)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(TIME_FORMAT)


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _child(element: etree._Element, tag: str) -> etree._Element | None:
    """``element.find(tag)`` for a plain tag name — the same first child, without
    ElementPath's per-call cost (the hot paths of reading a chain use these)."""
    for child in element.iterchildren(tag):
        return child
    return None


def _parameter_value(element: etree._Element, name: str) -> etree._Element | None:
    """``element.find(f"PARAMETER[@name='{name}']/VALUE")`` — the same first match,
    without ElementPath's per-call cost (every key read does two of these)."""
    for parameter in element.iterchildren("PARAMETER"):
        if parameter.get("name") == name:
            for value in parameter.iterchildren("VALUE"):
                return value
    return None


def read_public_key(element: etree._Element | None, where: str) -> PublicKey | None:
    """Read a ``PUBLICKEY`` element (modulus little-endian, XRML.md)."""
    if element is None:
        return None
    modulus = exponent = None
    for parameter in element.iterchildren("PARAMETER"):  # one pass for both values
        name = parameter.get("name")
        if name == "modulus" and modulus is None:
            modulus = _child(parameter, "VALUE")
        elif name == "public-exponent" and exponent is None:
            exponent = _child(parameter, "VALUE")
    if modulus is None or not (modulus.text or "").strip():
        raise StructureError(f"{where}: PUBLICKEY has no modulus")
    try:
        return PublicKey.from_xrml(modulus.text or "", (exponent.text if exponent is not None
                                                         and exponent.text else "65537"))
    except KeyFormatError as exc:
        raise KeyFormatError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Principal:
    """An ISSUER or an issued PRINCIPAL: who signs, or whom a document is about."""

    object_type: str | None
    id: str | None
    id_type: str | None
    name: str | None
    addresses: tuple[tuple[str, str], ...]
    public_key: PublicKey | None
    security_levels: tuple[tuple[str, str], ...] = ()
    internal_id: str | None = None
    has_enabling_bits: bool = False

    @classmethod
    def from_element(cls, element: etree._Element, where: str) -> "Principal":
        obj = _child(element, "OBJECT")
        id_el = _child(obj, "ID") if obj is not None else None
        addresses = tuple((a.get("type", ""), (a.text or "").strip())
                          for a in (obj.iterchildren("ADDRESS") if obj is not None else []))
        levels = tuple((s.get("name", ""), s.get("value", ""))
                       for s in element.iterchildren("SECURITYLEVEL"))
        return cls(
            object_type=obj.get("type") if obj is not None else None,
            id=_text(id_el),
            id_type=id_el.get("type") if id_el is not None else None,
            name=_text(_child(obj, "NAME")) if obj is not None else None,
            addresses=addresses,
            public_key=read_public_key(_child(element, "PUBLICKEY"), where),
            security_levels=levels,
            internal_id=element.get("internal-id"),
            has_enabling_bits=next(element.iterdescendants("ENABLINGBITS"), None) is not None,
        )

    @property
    def label(self) -> str:
        """``type:'name'`` — how the corpus manifest and rmslab's reports name a
        principal."""
        return f"{self.object_type or '?'}:'{self.name or self.id or ''}'"

    @property
    def url(self) -> str | None:
        for kind, value in self.addresses:
            if kind.upper() == "URL":
                return value
        return None


@dataclass(frozen=True)
class Validity:
    """A time window; either end may be open."""

    not_before: datetime | None
    not_after: datetime | None

    def contains(self, moment: datetime) -> bool:
        return ((self.not_before is None or self.not_before <= moment)
                and (self.not_after is None or moment <= self.not_after))


@dataclass(frozen=True)
class DistributionPoint:
    """A ``DISTRIBUTIONPOINT``: where to get licenses, activation, revocation lists…"""

    type: str
    id: str | None
    name: str | None
    address: str | None
    public_key: PublicKey | None = None


@dataclass(frozen=True)
class Right:
    """A right in ``WORK/RIGHTSGROUP/RIGHTSLIST`` with its conditions."""

    name: str
    principals: tuple[str, ...] = ()
    validity: Validity | None = None
    refresh_interval: str | None = None
    revocation_list: DistributionPoint | None = None


@dataclass(frozen=True)
class SignatureBlock:
    """What ``SIGNATURE`` states (XRML.md "Signature")."""

    algorithm: str | None
    digest_algorithm: str | None
    coding_type: str | None
    digest_value: bytes | None
    digest_size: str | None
    value: bytes | None
    value_size: str | None

    @classmethod
    def from_element(cls, element: etree._Element, where: str) -> "SignatureBlock":
        digest = _child(element, "DIGEST")
        digest_value = _child(digest, "VALUE") if digest is not None else None
        value = _child(element, "VALUE")
        return cls(
            algorithm=_text(_child(element, "ALGORITHM")),
            digest_algorithm=_text(_child(digest, "ALGORITHM")) if digest is not None else None,
            coding_type=(_text(_parameter_value(digest, "codingtype"))
                         if digest is not None else None),
            digest_value=_b64(digest_value, f"{where}: DIGEST/VALUE"),
            digest_size=digest_value.get("size") if digest_value is not None else None,
            value=_b64(value, f"{where}: SIGNATURE/VALUE"),
            value_size=value.get("size") if value is not None else None,
        )


def _b64(element: etree._Element | None, where: str) -> bytes | None:
    if element is None or element.text is None:
        return None
    try:
        return base64.b64decode("".join(element.text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise StructureError(f"{where} is not valid base64") from None


@dataclass(frozen=True)
class RevocationEntry:
    """A ``REVOKE`` entry of a revocation list (XRML.md "Revocation lists")."""

    category: str
    type: str
    value: str
    public_key: PublicKey | None = field(default=None)
