"""People and computers around a deployment: the directory's users and groups, and the
computers people carry request files to (SPEC S-1, S-3, S-4)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["User", "Directory", "Computer", "DOMAIN_ADMINS", "LOCAL_ADMINISTRATORS"]

DOMAIN_ADMINS = "Domain Admins"
LOCAL_ADMINISTRATORS = "Administrators"


@dataclass(frozen=True)
class User:
    """A domain user."""

    name: str
    domain: str
    groups: frozenset[str] = frozenset({"Domain Users"})

    @property
    def email(self) -> str:
        return f"{self.name}@{self.domain}"

    @property
    def account(self) -> str:
        """``DOMAIN\\name`` as Windows shows it."""
        return f"{self.domain.split('.')[0].upper()}\\{self.name}"

    def __str__(self) -> str:
        return self.account


class Directory:
    """The Active Directory domain of a deployment: its users and their groups."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.users: dict[str, User] = {}

    def add_user(self, name: str, *, groups: tuple[str, ...] = ("Domain Users",)) -> User:
        user = User(name, self.domain, frozenset(groups))
        self.users[name] = user
        return user

    def user(self, name: str) -> User:
        try:
            return self.users[name]
        except KeyError:
            raise KeyError(f"no user {name!r} in {self.domain}") from None

    def is_domain_admin(self, user: User) -> bool:
        return DOMAIN_ADMINS in user.groups


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
