"""Typed, read-only values read out of XrML documents (docs/wire-format.md "Building blocks")."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml import etree

from rmslab.crypto.rsa import PublicKey, strict_b64decode
from rmslab.errors import KeyFormatError, StructureError

__all__ = [
    "Principal", "Validity", "DistributionPoint", "Right", "SignatureBlock",
    "parse_time", "format_time", "INTERVAL_UNITS", "parse_interval", "interval_attributes",
    "describe_interval",
]

TIME_FORMAT = "%Y-%m-%dT%H:%M"
_XRML_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z?", re.ASCII)


def parse_time(text: str | None, where: str) -> datetime | None:
    """XrML times: UTC, ``YYYY-MM-DDTHH:MM`` (seconds tolerated)."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if _XRML_TIME.fullmatch(value):  # the usual form: the fast, equally strict reader
        try:
            return datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=timezone.utc)
        except ValueError:
            pass  # a day or an hour out of range: refused below
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


#: The attributes of an INTERVALTIME, largest unit first (MS-RMPR 2.2.9.7.9, 2.2.9.9.10).
INTERVAL_UNITS = ("days", "hours", "minutes", "seconds")
_UNIT_SECONDS = {"days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)


def parse_interval(element: etree._Element, where: str) -> timedelta:
    """An ``INTERVALTIME``: its ``days``, ``hours``, ``minutes`` and ``seconds`` attributes
    added up (MS-RMPR 2.2.9.7.9 and 2.2.9.9.10 — each a whole number, each omitted when
    zero, so an INTERVALTIME with none of them is an interval of zero)."""
    total = 0
    for unit in INTERVAL_UNITS:
        raw = element.get(unit)
        if raw is None:
            continue
        if not _WHOLE_NUMBER.fullmatch(raw.strip()):
            raise StructureError(f"{where}: INTERVALTIME {unit}={raw!r} is not a whole number "
                                 "(at most nine digits)")
        total += int(raw.strip()) * _UNIT_SECONDS[unit]
    try:
        return timedelta(seconds=total)
    except OverflowError:
        raise StructureError(f"{where}: the INTERVALTIME is too long") from None


def _split_interval(interval: timedelta) -> list[tuple[str, int]]:
    if interval < timedelta(0) or interval.microseconds:
        raise ValueError(f"an interval is a whole, non-negative number of seconds: {interval}")
    rest = interval.days * 86_400 + interval.seconds
    parts = []
    for unit in INTERVAL_UNITS:
        count, rest = divmod(rest, _UNIT_SECONDS[unit])
        parts.append((unit, count))
    return parts


def interval_attributes(interval: timedelta) -> dict[str, str]:
    """The attributes of the ``INTERVALTIME`` that writes ``interval``: days, hours,
    minutes and seconds, each omitted when zero (MS-RMPR 2.2.9.7.9)."""
    return {unit: str(count) for unit, count in _split_interval(interval) if count}


def describe_interval(interval: timedelta) -> str:
    """``7 days``, ``1 day 12 hours``, ``90 seconds`` → ``1 minute 30 seconds``."""
    words = [f"{count} {unit if count != 1 else unit[:-1]}"
             for unit, count in _split_interval(interval) if count]
    return " ".join(words) if words else "0 seconds"


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def first_child(element: etree._Element, tag: str) -> etree._Element | None:
    """``element.find(tag)`` for a plain tag name — the same first child, without
    ElementPath's per-call cost (the hot paths of reading a chain use these)."""
    for child in element:  # a plain walk beats iterchildren(tag) on a few children
        if child.tag == tag:
            return child
    return None


def read_public_key(element: etree._Element | None, where: str) -> PublicKey | None:
    """Read a ``PUBLICKEY`` element (modulus little-endian, docs/wire-format.md)."""
    if element is None:
        return None
    modulus = exponent = None
    for parameter in element:  # one pass for both values
        if parameter.tag != "PARAMETER":
            continue
        name = parameter.get("name")
        if name == "modulus" and modulus is None:
            modulus = first_child(parameter, "VALUE")
        elif name == "public-exponent" and exponent is None:
            exponent = first_child(parameter, "VALUE")
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
    def from_element(cls, element: etree._Element, where: str,
                     public_key: "PublicKey | None | object" = ...) -> "Principal":
        """Read a principal; ``public_key``, when given, is its key already read."""
        # one pass over the children of PRINCIPAL and of its OBJECT (each lookup by tag
        # costs as much as walking a few children)
        obj = key_element = None
        levels: list[tuple[str, str]] = []
        for child in element:
            tag = child.tag
            if tag == "OBJECT" and obj is None:
                obj = child
            elif tag == "PUBLICKEY" and key_element is None:
                key_element = child
            elif tag == "SECURITYLEVEL":
                levels.append((child.get("name", ""), child.get("value", "")))
        id_el = name_el = None
        addresses: list[tuple[str, str]] = []
        if obj is not None:
            for child in obj:
                tag = child.tag
                if tag == "ID" and id_el is None:
                    id_el = child
                elif tag == "NAME" and name_el is None:
                    name_el = child
                elif tag == "ADDRESS":
                    addresses.append((child.get("type", ""), (child.text or "").strip()))
        return cls(
            object_type=obj.get("type") if obj is not None else None,
            id=_text(id_el),
            id_type=id_el.get("type") if id_el is not None else None,
            name=_text(name_el),
            addresses=tuple(addresses),
            public_key=(read_public_key(key_element, where) if public_key is ...
                        else public_key),  # type: ignore[arg-type]
            security_levels=tuple(levels),
            internal_id=element.get("internal-id"),
            has_enabling_bits=next(element.iterdescendants("ENABLINGBITS"), None) is not None,
        )

    def identity(self, *, with_levels: bool = True) -> "Principal":
        """The principal as an ISSUER or a new PRINCIPAL names it: object and key (and its
        security levels), without one document's internal ID or sealed keys."""
        return replace(self, internal_id=None, has_enabling_bits=False,
                       security_levels=self.security_levels if with_levels else ())

    @property
    def label(self) -> str:
        """``type:'name'`` — how the corpus manifest and rmslab's reports name a
        principal. One without a NAME — the server of an SLC the enrollment service
        issued (MS-RMPR 2.2.9.3.3), and everything that copies it — is named by the host of
        its URL, else by its ID."""
        url = self.url
        host = (urlsplit(url).hostname if url else None) or None
        return f"{self.object_type or '?'}:'{self.name or host or self.id or ''}'"

    @property
    def url(self) -> str | None:
        for kind, value in self.addresses:
            if kind.upper() == "URL":
                return value
        return None


class Validity(NamedTuple):
    """A time window; either end may be open. (A named tuple: chains build many and
    read them once.)"""

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


class SignatureBlock(NamedTuple):
    """What ``SIGNATURE`` states (docs/wire-format.md "Signature"). (A named tuple: every verified
    document builds one.)"""

    algorithm: str | None
    digest_algorithm: str | None
    coding_type: str | None
    digest_value: bytes | None
    digest_size: str | None
    value: bytes | None
    value_size: str | None

    @classmethod
    def from_element(cls, element: etree._Element, where: str) -> "SignatureBlock":
        algorithm = digest = value = None
        for child in element:
            tag = child.tag
            if tag == "ALGORITHM" and algorithm is None:
                algorithm = child
            elif tag == "DIGEST" and digest is None:
                digest = child
            elif tag == "VALUE" and value is None:
                value = child
        digest_algorithm = digest_value = coding = None
        if digest is not None:
            for child in digest:
                tag = child.tag
                if tag == "ALGORITHM" and digest_algorithm is None:
                    digest_algorithm = child
                elif tag == "VALUE" and digest_value is None:
                    digest_value = child
                elif tag == "PARAMETER" and coding is None and child.get("name") == "codingtype":
                    coding = first_child(child, "VALUE")
        return cls(
            algorithm=_text(algorithm),
            digest_algorithm=_text(digest_algorithm),
            coding_type=_text(coding),
            digest_value=_b64(digest_value, f"{where}: DIGEST/VALUE"),
            digest_size=digest_value.get("size") if digest_value is not None else None,
            value=_b64(value, f"{where}: SIGNATURE/VALUE"),
            value_size=value.get("size") if value is not None else None,
        )


def _b64(element: etree._Element | None, where: str) -> bytes | None:
    if element is None or element.text is None:
        return None
    try:
        return strict_b64decode(element.text)
    except (binascii.Error, ValueError):
        raise StructureError(f"{where} is not valid base64") from None
