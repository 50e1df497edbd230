"""People and computers around a deployment: the directory's users and groups, and the
computers people carry request files to (SPEC S-1, S-3, S-4).

Groups with an e-mail address are what rights and the super-user group name (MS-RMPR
3.4.4.1, 3.1.1.1.1 superUserGroup). A licensing server asks the directory whether a user
is a member of one of some groups the way MS-RMPRS 3.5.4.1 IsPrincipalMemberOf answers:
true when the user is a member of at least one of them — directly or through nested
groups — and false when the user or none of the groups can be found.

Each user is a domain account as MS-RMPR 3.1.1.1.5 describes it (``DomainAccount``: the
name ``DOMAIN\\user`` and a SID): the domain has a SID ``S-1-5-21-a-b-c`` derived from the
lab's seed (:func:`domain_sid`), and each user a relative ID (RID) in it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Protocol

__all__ = ["User", "Group", "Directory", "GroupExpansion", "Computer", "DOMAIN_ADMINS",
           "LOCAL_ADMINISTRATORS", "MAX_GROUP_DEPTH", "domain_sid", "FIRST_RID"]

#: How deep nested groups are followed: MS-RMPRS 3.5.4.1 bounds group expansion (Windows
#: gives up after 10 cross-forest calls); the lab bounds nesting the same way.
MAX_GROUP_DEPTH = 10

DOMAIN_ADMINS = "Domain Admins"
LOCAL_ADMINISTRATORS = "Administrators"


@dataclass(frozen=True)
class User:
    """A domain user."""

    name: str
    domain: str
    groups: frozenset[str] = frozenset({"Domain Users"})
    #: The account's security identifier (MS-DTYP 2.4.2.1): the domain SID and the RID.
    sid: str = ""

    @property
    def email(self) -> str:
        return f"{self.name}@{self.domain}"

    @property
    def account(self) -> str:
        """``DOMAIN\\name`` as Windows shows it."""
        return f"{self.domain.split('.')[0].upper()}\\{self.name}"

    def __str__(self) -> str:
        return self.account


@dataclass
class Group:
    """A directory group with an e-mail address (a distribution or mail-enabled security
    group). ``members`` are user names, user e-mail addresses or the e-mail addresses of
    other groups (nesting)."""

    name: str
    email: str
    members: set[str] = field(default_factory=set)


class GroupExpansion(Protocol):
    """What a licensing server asks about group membership (MS-RMPRS 3.5.4.1)."""

    def is_principal_member_of(self, principal: str, groups: Iterable[str]) -> bool: ...


#: The RID of the first user a lab's directory creates (AD gives ordinary accounts RIDs
#: from 1000 up; 500 and below are well-known accounts).
FIRST_RID = 1101


def domain_sid(seed: int, domain: str) -> str:
    """The SID of the lab's domain: ``S-1-5-21-a-b-c``, the three sub-authorities derived
    from the lab's seed and the domain name (the same on every machine)."""
    digest = hashlib.sha256(f"rmslab domain SID\x00{seed}\x00{domain}".encode()).digest()
    a, b, c = (int.from_bytes(digest[i:i + 4], "big") for i in (0, 4, 8))
    return f"S-1-5-21-{a}-{b}-{c}"


class Directory:
    """The Active Directory domain of a deployment: its users and their groups. ``sid``
    is the domain's SID; each user added gets the next RID in it."""

    def __init__(self, domain: str, *, sid: str | None = None) -> None:
        self.domain = domain
        self.sid = sid or domain_sid(0, domain)
        self.users: dict[str, User] = {}
        #: Groups with e-mail addresses, by e-mail address (lower case).
        self.groups: dict[str, Group] = {}

    def add_user(self, name: str, *, groups: tuple[str, ...] = ("Domain Users",),
                 sid: str | None = None) -> User:
        if sid is None:
            taken = {int(u.sid.rsplit("-", 1)[1]) for u in self.users.values()
                     if u.sid.startswith(self.sid + "-")}
            sid = f"{self.sid}-{max(taken, default=FIRST_RID - 1) + 1}"
        user = User(name, self.domain, frozenset(groups), sid)
        self.users[name] = user
        return user

    def by_sid(self, sid: str) -> User | None:
        return next((u for u in self.users.values() if u.sid == sid), None)

    def user(self, name: str) -> User:
        try:
            return self.users[name]
        except KeyError:
            raise KeyError(f"no user {name!r} in {self.domain}") from None

    def is_domain_admin(self, user: User) -> bool:
        return DOMAIN_ADMINS in user.groups

    # --- groups with e-mail addresses (MS-RMPRS 3.5.4.1) ------------------------------------
    def add_group(self, name: str, *, email: str | None = None,
                  members: Iterable[str] = ()) -> Group:
        """A group whose e-mail address (``name@domain`` unless given) rights and the
        super-user group can name; ``members`` are user names, user e-mail addresses or
        group e-mail addresses."""
        address = (email or f"{name}@{self.domain}").strip()
        if "@" not in address:
            raise ValueError(f"a group's e-mail address needs an @: {address!r}")
        group = Group(name, address, {m.strip() for m in members})
        self.groups[address.lower()] = group
        return group

    def group(self, email: str) -> Group:
        try:
            return self.groups[email.strip().lower()]
        except KeyError:
            raise KeyError(f"no group with the e-mail address {email!r} in "
                           f"{self.domain}") from None

    def is_principal_member_of(self, principal: str, groups: Iterable[str]) -> bool:
        """IsPrincipalMemberOf (MS-RMPRS 3.5.4.1): is the user whose e-mail address is
        ``principal`` a member of at least one of ``groups`` (e-mail addresses), directly or
        through nested groups? False when the user or none of the groups can be found."""
        user = self._user_by_email(principal)
        if user is None:
            return False
        names = {user.name.lower(), user.email.lower()}
        return any(self._contains(g.strip().lower(), user, names, depth=0, seen=set())
                   for g in groups)

    def _user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def _contains(self, address: str, user: User, names: set[str], *, depth: int,
                  seen: set[str]) -> bool:
        group = self.groups.get(address)
        if group is None or address in seen or depth > MAX_GROUP_DEPTH:
            return False
        seen.add(address)
        if group.name in user.groups:  # the user's own list of groups names it
            return True
        members = {m.lower() for m in group.members}
        if members & names:
            return True
        return any(self._contains(m, user, names, depth=depth + 1, seen=seen)
                   for m in sorted(members) if m in self.groups)


@dataclass
class Computer:
    """A computer used to submit request files to the enrollment service (S-3, S-4).

    ``trusted_roots`` are the TLS root certificates in its trusted store;
    ``trusted_sites`` the sites its browser trusts.
    """

    name: str
    connected: bool = True
    trusted_roots: set[str] = field(default_factory=set)
    trusted_sites: set[str] = field(default_factory=set)
