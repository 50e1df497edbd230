"""Rights and conditions: what an author grants, and how the grants are written in the
rights data of a publishing license and in use licenses (docs/wire-format.md "Building blocks";
SPEC P-2, L-1, B-1).

Rights named as elements in XrML (``VIEW``, ``EDIT``, ``PRINT``, ``EXTRACT``,
``EXPORT``) and rights written as ``RIGHT name="…"`` (``OWNER``, ``VIEWRIGHTSDATA``,
``REPLY``, ``REPLYALL``, ``FORWARD``, ``DOCEDIT``, ``OBJMODEL``) are one vocabulary here.
``OWNER`` implies every right.

A grant names a user, ``ANYONE``, or a group by its e-mail address; who belongs to a group
is the directory's answer (MS-RMPRS 3.5.4.1), passed in as ``member_of``. A revocation
requirement's refresh interval is any number of days, hours, minutes and seconds (MS-RMPR
2.2.9.7.9 and 2.2.9.9.10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from lxml import etree

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError
from rmslab.xrml.model import (describe_interval, format_time, interval_attributes,
                               parse_interval, parse_time, read_public_key)
from rmslab.xrml.writer import Markup, element, object_xml, public_key_xml, rangetime_xml

__all__ = ["ELEMENT_RIGHTS", "NAMED_RIGHTS", "RIGHTS", "Grant", "RightsPolicy",
           "RevocationRequirement", "normalise_right", "ANYONE", "MemberOf"]

ELEMENT_RIGHTS = ("VIEW", "EDIT", "PRINT", "EXTRACT", "EXPORT")
NAMED_RIGHTS = ("OWNER", "VIEWRIGHTSDATA", "REPLY", "REPLYALL", "FORWARD", "DOCEDIT",
                "OBJMODEL")
RIGHTS = ELEMENT_RIGHTS + NAMED_RIGHTS
#: The principal name that stands for every authenticated user.
ANYONE = "ANYONE"
#: "Is the user a member of the group with this e-mail address?" — the directory's answer.
MemberOf = Callable[[str], bool]


def normalise_right(name: str) -> str:
    right = name.strip().upper()
    if right not in RIGHTS:
        raise InputError(f"unknown right {name!r}: rights are {', '.join(RIGHTS)}")
    return right


@dataclass(frozen=True)
class Grant:
    """Rights given to one user (an e-mail address) or to ``ANYONE``, with an optional
    validity window."""

    user: str
    rights: tuple[str, ...]
    not_before: datetime | None = None
    not_after: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rights", tuple(normalise_right(r) for r in self.rights))

    def allows(self, right: str) -> bool:
        return "OWNER" in self.rights or normalise_right(right) in self.rights

    def applies_to(self, user: str, member_of: MemberOf | None = None) -> bool:
        """Whether the grant is for ``user``: by name, as ``ANYONE``, or — with
        ``member_of`` — as a member of the group the grant names."""
        if self.user == ANYONE or self.user.lower() == user.lower():
            return True
        return member_of is not None and "@" in self.user and member_of(self.user)


@dataclass(frozen=True)
class RevocationRequirement:
    """A license's demand for a revocation list (R-3, R-6, R-7): where the list is, who
    may sign it, and how old it may be — ``interval``, any whole number of seconds, written
    as the days, hours, minutes and seconds of an INTERVALTIME (MS-RMPR 2.2.9.9.10)."""

    url: str
    list_id: str
    revoker_key: PublicKey
    interval: timedelta
    name: str | None = None

    def __post_init__(self) -> None:
        if self.interval < timedelta(0) or self.interval.microseconds:
            raise InputError(f"a refresh interval is a whole, non-negative number of seconds, "
                             f"not {self.interval}")

    @property
    def interval_text(self) -> str:
        """The interval for people: ``7 days``, ``1 day 12 hours``."""
        return describe_interval(self.interval)

    def to_xml(self) -> Markup:
        return element(
            "REFRESH", (),
            element("DISTRIBUTIONPOINT", (),
                    object_xml("Revocation", self.list_id or None, name=self.name,
                               addresses=[("URL", self.url)]),
                    public_key_xml(self.revoker_key)),
            element("INTERVALTIME", interval_attributes(self.interval)))

    @classmethod
    def from_element(cls, refresh: etree._Element, where: str) -> "RevocationRequirement":
        point = refresh.find("DISTRIBUTIONPOINT")
        key = read_public_key(point.find("PUBLICKEY") if point is not None else None, where)
        url = point.findtext("OBJECT/ADDRESS") if point is not None else None
        interval = refresh.find("INTERVALTIME")
        if point is None or key is None or not url or interval is None:
            raise InputError(f"{where}: a REFRESH condition needs the list's URL, its signer's "
                             "key and an interval")
        return cls(url.strip(), (point.findtext("OBJECT/ID") or "").strip(), key,
                   parse_interval(interval, f"{where}: REFRESH"),
                   point.findtext("OBJECT/NAME"))


@dataclass(frozen=True)
class RightsPolicy:
    """What the author states when protecting (P-2): grants, the content's expiry, and
    the license caching interval (days a use license may be used before it must be
    acquired again; 0 = every time)."""

    grants: tuple[Grant, ...]
    not_after: datetime | None = None
    caching_days: int | None = None
    #: Licenses made from this policy require this revocation list (R-6).
    revocation: RevocationRequirement | None = field(default=None)

    def for_user(self, user: str, member_of: MemberOf | None = None) -> tuple[Grant, ...]:
        """The grants that apply to ``user`` (with ``member_of``, also those to the groups
        the user belongs to)."""
        return tuple(g for g in self.grants if g.applies_to(user, member_of))

    def rights_of(self, user: str, member_of: MemberOf | None = None) -> tuple[str, ...]:
        found: list[str] = []
        for grant in self.for_user(user, member_of):
            for right in (RIGHTS if "OWNER" in grant.rights else grant.rights):
                if right not in found:
                    found.append(right)
        return tuple(found)

    # --- XrML ------------------------------------------------------------------------------
    def to_rights_list(self) -> Markup:
        """``RIGHTSLIST`` with one entry per (grant, right)."""
        entries = []
        for grant in self.grants:
            for right in grant.rights:
                conditions = element(
                    "CONDITIONLIST", (),
                    element("ACCESS", (), element(
                        "PRINCIPAL", (), object_xml("Group-Identity", None, name=grant.user))),
                    element("TIME", (), rangetime_xml(grant.not_before,
                                                      grant.not_after or self.not_after))
                    if grant.not_before or grant.not_after or self.not_after else None,
                    element("INTERVALTIME", {"days": str(self.caching_days)})
                    if self.caching_days is not None else None,
                    self.revocation.to_xml() if self.revocation is not None else None)
                entries.append(element(right, (), conditions) if right in ELEMENT_RIGHTS
                               else element("RIGHT", {"name": right}, conditions))
        return element("RIGHTSLIST", (), *entries)

    @classmethod
    def from_rights_list(cls, rights_list: etree._Element, where: str) -> "RightsPolicy":
        by_user: dict[tuple[str, str | None, str | None], list[str]] = {}
        caching: int | None = None
        expiry: datetime | None = None
        revocation: RevocationRequirement | None = None
        for entry in rights_list:
            if not isinstance(entry.tag, str):
                continue
            right = entry.get("name") if entry.tag == "RIGHT" else entry.tag
            conditions = entry.find("CONDITIONLIST")
            user = conditions.findtext("ACCESS/PRINCIPAL/OBJECT/NAME") if conditions is not None else None
            if not right or not user:
                raise InputError(f"{where}: a right without a principal")
            start = until = None
            if conditions is not None:
                start = conditions.findtext("TIME/RANGETIME/FROM")
                until = conditions.findtext("TIME/RANGETIME/UNTIL")
                interval = conditions.find("INTERVALTIME")
                if interval is not None and interval.get("days") is not None:
                    caching = int(interval.get("days", "0"))
                refresh = conditions.find("REFRESH")
                if refresh is not None:
                    revocation = RevocationRequirement.from_element(refresh, where)
            by_user.setdefault((user.strip(), start, until), []).append(right.strip())
        grants = []
        for (user, start, until), rights in by_user.items():
            not_after = parse_time(until, where)
            grants.append(Grant(user, tuple(rights), parse_time(start, where), not_after))
            if not_after and (expiry is None or not_after > expiry):
                expiry = not_after
        return cls(tuple(grants), None, caching, revocation)

    def describe(self) -> list[str]:
        lines = []
        for grant in self.grants:
            when = ""
            until = grant.not_after or self.not_after
            if until:
                when = f" until {format_time(until)}"
            lines.append(f"{grant.user}: {', '.join(grant.rights)}{when}")
        if self.caching_days is not None:
            lines.append(f"license caching interval: {self.caching_days} days")
        if self.revocation is not None:
            lines.append(f"requires the revocation list at {self.revocation.url}, no older "
                         f"than {self.revocation.interval_text}")
        return lines
