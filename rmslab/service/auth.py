"""Who is asking: the request context of MS-RMPR 3.1.1.1.8 and 3.1.4.3.

Real AD RMS servers authenticate users with Negotiate (Kerberos or NTLM) and read the
account's name (``DOMAIN\\user``) and SID from the security context. The lab stands in
for that with HTTP Basic on loopback and a password per user that the lab gives them:
``HMAC-SHA256`` over the account name with a secret derived from the lab's seed
(:meth:`rmslab.lab.Lab.secret`), so the same lab gives the same passwords and no file
of the lab holds them in clear. The server maps a verified login to the
``DomainAccount`` of MS-RMPR 3.1.1.1.5 (name and SID).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from hashlib import sha256

from rmslab.actors.people import Directory, User
from rmslab.lab import Lab

__all__ = ["DomainAccount", "RequestContext", "password_for", "authenticate",
           "basic_authorization", "ANONYMOUS"]


@dataclass(frozen=True)
class DomainAccount:
    """MS-RMPR 3.1.1.1.5: a domain account — ``DOMAIN\\user`` and its SID."""

    name: str
    sid: str


@dataclass(frozen=True)
class RequestContext:
    """MS-RMPR 3.1.1.1.8: what the HTTP server tells the RMS server about a request —
    whether it was authenticated, how, and as which account (and the lab's user)."""

    is_authenticated: bool
    authentication_type: str | None = None
    account: DomainAccount | None = None
    user: User | None = None
    #: Why authentication failed, when credentials were sent and refused.
    failure: str | None = None

    def __str__(self) -> str:
        return self.account.name if self.account else "an anonymous caller"


ANONYMOUS = RequestContext(False)


def password_for(lab: Lab, user: User) -> str:
    """The password the lab gives ``user``: 20 characters of an HMAC-SHA256 over the
    account name, keyed with the lab's password secret."""
    mac = hmac.new(lab.secret("user passwords"), user.account.lower().encode("utf-8"),
                   sha256).digest()
    letters = base64.b32encode(mac).decode("ascii").lower()[:20]
    return "-".join(letters[i:i + 5] for i in range(0, 20, 5))


def basic_authorization(login: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic (RFC 7617)."""
    token = base64.b64encode(f"{login}:{password}".encode("utf-8")).decode("ascii")
    return f"Basic {token}"


def _user_named(directory: Directory, login: str) -> User | None:
    """``bob``, ``CONTOSO\\bob`` or ``bob@contoso.example``: the directory's user, if any."""
    name = login
    if "\\" in login:
        domain, name = login.split("\\", 1)
        if domain.lower() != directory.domain.split(".")[0].lower():
            return None
    elif "@" in login:
        name, domain = login.rsplit("@", 1)
        if domain.lower() != directory.domain.lower():
            return None
    return directory.users.get(name)


def authenticate(header: str | None, directory: Directory | None, lab: Lab) -> RequestContext:
    """The request context for an ``Authorization`` header (MS-RMPR 3.1.4.3). No header,
    another scheme, an unknown account or a wrong password: not authenticated (the
    operation decides whether that matters)."""
    if not header:
        return ANONYMOUS
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or directory is None:
        return RequestContext(False, failure=f"the {scheme or 'empty'} scheme is not offered")
    try:
        login, separator, password = base64.b64decode(token.strip(), validate=True) \
            .decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return RequestContext(False, failure="the Basic credentials cannot be read")
    user = _user_named(directory, login) if separator else None
    if user is None or not hmac.compare_digest(password.encode("utf-8"),
                                               password_for(lab, user).encode("utf-8")):
        return RequestContext(False, failure="unknown account or wrong password")
    return RequestContext(True, "Basic", DomainAccount(user.account, user.sid), user)
