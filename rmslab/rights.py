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
from rmslab.xrml.writer import Markup, element, public_key_xml, rangetime_xml

__all__ = ["ELEMENT_RIGHTS", "NAMED_RIGHTS", "RIGHTS", "Grant", "RightsPolicy",
           "RevocationRequirement", "normalise_right", "ANYONE", "OWNER_PRINCIPAL", "MemberOf"]

ELEMENT_RIGHTS = ("VIEW", "EDIT", "PRINT", "EXTRACT", "EXPORT")
NAMED_RIGHTS = ("OWNER", "VIEWRIGHTSDATA", "REPLY", "REPLYALL", "FORWARD", "DOCEDIT",
                "OBJMODEL")
RIGHTS = ELEMENT_RIGHTS + NAMED_RIGHTS
#: The principal name that stands for every authenticated user.
ANYONE = "ANYONE"
#: "Is the user a member of the group with this e-mail address?" — the directory's answer.
MemberOf = Callable[[str], bool]


#: The internal principal a template grants OWNER to: whoever owns content protected with
#: it (MS-RMPR 2.2.9.10.4).
OWNER_PRINCIPAL = "Owner"


def _access(user: str, domain: str | None, *, template: bool) -> Markup:
    """``ACCESS/PRINCIPAL/OBJECT`` naming ``user`` (see :meth:`RightsPolicy.to_rights_list`)."""
    if user == ANYONE or user == OWNER_PRINCIPAL:
        obj = element("OBJECT", (), element("ID", {"type": "Internal"},
                                            (ANYONE if template else "Anyone")
                                            if user == ANYONE else OWNER_PRINCIPAL))
    else:
        local = domain is not None and user.lower().endswith("@" + domain.lower())
        obj = element("OBJECT", (), element("ID", {"type": "Windows" if local and not template
                                                   else "Unspecified"}),
                      element("NAME", (), user))
    return element("ACCESS", (), element("PRINCIPAL", (), obj))


def _principal_name(principal: etree._Element | None) -> str | None:
    """Who a rights list's PRINCIPAL names: its NAME, else its internal ID ("Anyone" →
    :data:`ANYONE`, "Owner" → :data:`OWNER_PRINCIPAL`), else its ``internal-id``."""
    if principal is None:
        return None
    name = (principal.findtext("OBJECT/NAME") or "").strip()
    if name:
        return name
    id_element = principal.find("OBJECT/ID")
    if id_element is not None and id_element.get("type") == "Internal":
        value = (id_element.text or "").strip().lower()
        if value == "anyone":
            return ANYONE
        if value == "owner":
            return OWNER_PRINCIPAL
    if id_element is not None and (id_element.text or "").strip():
        return (id_element.text or "").strip()
    return principal.get("internal-id")


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
    as the days, hours, minutes and seconds of an INTERVALTIME (MS-RMPR 2.2.9.9.10).

    Written exactly as MS-RMPR 2.2.9.7.9 and 2.2.9.9.10 give the revocation point:
    ``REFRESH/DISTRIBUTIONPOINT`` with ``OBJECT type="Revocation"`` (the ID of the list's
    issuer with its type — ``list_id`` and ``id_type`` —, an optional NAME, the ADDRESS
    of type URL) and the PUBLICKEY that signs the list, then the INTERVALTIME with the
    parts that are not zero. The list itself is another matter: its body is rmslab's
    reading of XrML 1.2 section 3.17 (:mod:`rmslab.revocation`)."""

    url: str
    list_id: str
    revoker_key: PublicKey
    interval: timedelta
    name: str | None = None
    id_type: str = "MS-GUID"

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
                    element("OBJECT", {"type": "Revocation"},
                            element("ID", {"type": self.id_type}, self.list_id),
                            element("NAME", (), self.name) if self.name else None,
                            element("ADDRESS", {"type": "URL"}, self.url)),
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
        id_element = point.find("OBJECT/ID")
        return cls(url.strip(), (point.findtext("OBJECT/ID") or "").strip(), key,
                   parse_interval(interval, f"{where}: REFRESH"),
                   point.findtext("OBJECT/NAME"),
                   (id_element.get("type") if id_element is not None else None) or "MS-GUID")


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
    def to_rights_list(self, *, domain: str | None = None, template: bool = False) -> Markup:
        """``RIGHTSLIST`` with one entry per (grant, right), as the rights data of a
        publishing license writes them (MS-RMPR 2.2.9.8.5.3) or, with ``template``, as a
        rights policy template does (2.2.9.10.4: the OWNER right of the internal principal
        "Owner" first). Each entry's CONDITIONLIST holds its time conditions first — TIME
        with a RANGETIME for a window, TIME with an INTERVALTIME ``days`` for the license
        caching interval — then ACCESS with the principal: ``ID type="Internal"`` for
        ANYONE, ``ID type="Windows"`` (no SID: the lab's client does not look it up, which
        2.2.9.8.5.3 allows) and NAME for a user of ``domain``, ``ID type="Unspecified"``
        and NAME for any other e-mail address."""
        entries: list[Markup] = []
        if template:
            entries.append(element("RIGHT", {"name": "OWNER"}, element(
                "CONDITIONLIST", (), _access(OWNER_PRINCIPAL, domain, template=True))))
        for grant in self.grants:
            for right in grant.rights:
                window = None
                if not template and (grant.not_before or grant.not_after or self.not_after):
                    window = element("TIME", (), rangetime_xml(
                        grant.not_before, grant.not_after or self.not_after))
                conditions = element(
                    "CONDITIONLIST", (), window,
                    element("TIME", (), element("INTERVALTIME",
                                                {"days": str(self.caching_days)}))
                    if self.caching_days is not None else None,
                    _access(grant.user, domain, template=template))
                entries.append(element(right, (), conditions) if right in ELEMENT_RIGHTS
                               else element("RIGHT", {"name": right}, conditions))
        return element("RIGHTSLIST", (), *entries)

    def preconditions_xml(self) -> Markup | None:
        """A template's ``PRECONDITIONLIST`` when the policy expires (MS-RMPR
        2.2.9.10.4.1, method 1)."""
        if self.not_after is None:
            return None
        return element("PRECONDITIONLIST", (), element("TIME", (),
                                                       rangetime_xml(None, self.not_after)))

    def revocation_xml(self) -> Markup | None:
        """``WORK/CONDITIONLIST`` with the revocation point, when the policy requires a
        list (MS-RMPR 2.2.9.7.9 in a publishing license, 2.2.9.9.10 in a use license)."""
        if self.revocation is None:
            return None
        return element("CONDITIONLIST", (), self.revocation.to_xml())

    @classmethod
    def from_work(cls, work: etree._Element, where: str) -> "RightsPolicy":
        """The policy of a ``WORK`` element: its rights list, its PRECONDITIONLIST expiry
        and its revocation point (``WORK/CONDITIONLIST/REFRESH``)."""
        rights_list = work.find("RIGHTSGROUP/RIGHTSLIST")
        if rights_list is None:
            raise InputError(f"{where}: no rights list")
        policy = cls.from_rights_list(rights_list, where)
        refresh = work.find("CONDITIONLIST/REFRESH")
        revocation = (RevocationRequirement.from_element(refresh, where)
                      if refresh is not None else None)
        until = parse_time(work.findtext("PRECONDITIONLIST/TIME/RANGETIME/UNTIL"), where)
        return cls(policy.grants, until or policy.not_after, policy.caching_days, revocation)

    @classmethod
    def from_rights_list(cls, rights_list: etree._Element, where: str) -> "RightsPolicy":
        """The grants of a rights list, as rights data, templates and use licenses write
        it: a principal is read from its NAME, else its internal ID ("Anyone" is
        :data:`ANYONE`; the template's OWNER right of the internal principal "Owner" is
        implied by every template and left out). A use license's principal
        ``internal-id="1"`` reads as the license's holder, ``"1"``."""
        by_user: dict[tuple[str, str | None, str | None], list[str]] = {}
        caching: int | None = None
        for entry in rights_list:
            if not isinstance(entry.tag, str):
                continue
            right = entry.get("name") if entry.tag == "RIGHT" else entry.tag
            conditions = entry.find("CONDITIONLIST")
            scope = conditions if conditions is not None else entry
            user = _principal_name(scope.find("ACCESS/PRINCIPAL"))
            if not right or not user:
                raise InputError(f"{where}: a right without a principal")
            if user == OWNER_PRINCIPAL:
                continue
            start = until = None
            if conditions is not None:
                start = conditions.findtext("TIME/RANGETIME/FROM")
                until = conditions.findtext("TIME/RANGETIME/UNTIL")
                interval = conditions.find("TIME/INTERVALTIME")
                if interval is not None and interval.get("days") is not None:
                    try:
                        caching = int(interval.get("days", "0"))
                    except ValueError:
                        raise InputError(f"{where}: INTERVALTIME days="
                                         f"{interval.get('days')!r} is not a number") from None
            by_user.setdefault((user.strip(), start, until), []).append(right.strip())
        grants = []
        for (user, start, until), rights in by_user.items():
            grants.append(Grant(user, tuple(rights), parse_time(start, where),
                                parse_time(until, where)))
        return cls(tuple(grants), None, caching, None)

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
