"""Client machines: the security processor (machine key and certificate) and, per user,
the rights account certificate and the optional client licensor certificate (SPEC E-7,
E-9).

Private keys never leave their holder in clear: the account key travels sealed to the
machine key inside the RAC, and the CLC key sealed to the account key inside the CLC;
the client opens them with :meth:`Client.account_key` and :meth:`Client.clc_key`.
"""

from __future__ import annotations

import base64

from dataclasses import dataclass, field

from rmslab.crypto.rsa import PrivateKey
from rmslab.crypto.seal import SealError, unseal
from rmslab.discovery.registry import Registry
from rmslab.errors import NotEnrolledError
from rmslab.lab import Lab
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.reader import Chain, parse

__all__ = ["Client", "Account", "open_sealed_key"]


@dataclass
class Account:
    """A user's certificates on one machine."""

    user: str
    rac_text: str
    clc_text: str | None = None
    #: Owner and use licenses in the license store, by content ID (chain texts).
    licenses: dict[str, str] = field(default_factory=dict)
    #: Rights policy templates downloaded into the user's template archive, by name (D-3).
    templates: dict[str, str] = field(default_factory=dict)
    _parsed: dict[str, Chain] = field(default_factory=dict, repr=False, compare=False)

    def read(self, text: str, source: str = "license store") -> Chain:
        """A certificate or license of this store, parsed once (a running client keeps
        what it has read)."""
        chain = self._parsed.get(text)
        if chain is None:
            chain = self._parsed[text] = parse(text, source=source)
        return chain

    @property
    def rac(self) -> XrmlDocument:
        return self.read(self.rac_text, f"RAC of {self.user}")[0]

    @property
    def clc(self) -> XrmlDocument | None:
        return self.read(self.clc_text, f"CLC of {self.user}")[0] if self.clc_text else None


class Client:
    """A computer with the RMS client."""

    def __init__(self, lab: Lab, name: str, *, connected: bool = True,
                 machine_key: PrivateKey | None = None) -> None:
        """A new computer (its machine key derived from the lab's seed), or, with
        ``machine_key``, one whose key is already known (a lab read back from its store)."""
        self.lab = lab
        self.name = name
        self.connected = connected
        #: The machine's registry: where its RMS client finds its settings (D-4).
        self.registry = Registry()
        self.machine_key = machine_key or lab.key(f"machine:{name}")
        self.machine_certificate_text: str | None = None
        self.accounts: dict[str, Account] = {}
        #: Application sessions kept open across commands: name → the application and the
        #: revocation lists registered in it (URL → list text) (R-5).
        self.open_sessions: dict[str, tuple[str, str, dict[str, str]]] = {}
        #: Revocation lists an administrator placed on this computer, by URL (R-4).
        self.placed_revocation_lists: dict[str, str] = {}
        # Keys the client has unsealed, kept in memory as a running client does.
        self._opened: dict[tuple[str, str], PrivateKey] = {}

    def __repr__(self) -> str:
        return f"<Client {self.name!r} {'activated' if self.activated else 'not activated'}>"

    @property
    def activated(self) -> bool:
        return self.machine_certificate_text is not None

    def account(self, user: str) -> Account:
        try:
            return self.accounts[user]
        except KeyError:
            raise NotEnrolledError(f"{user} has no rights account certificate on {self.name}",
                                   spec_id="E-9") from None

    def account_key(self, user: str) -> PrivateKey:
        """Open the account key sealed to this machine's key in the user's RAC."""
        account = self.account(user)
        memo = ("account", account.rac_text)
        if memo not in self._opened:
            self._opened[memo] = open_sealed_key(account.rac, self.machine_key)
        return self._opened[memo]

    def clc_key(self, user: str) -> PrivateKey:
        """Open the CLC key sealed to the user's account key (E-7)."""
        clc = self.account(user).clc
        if clc is None:
            raise NotEnrolledError(f"{user} has no client licensor certificate on {self.name}",
                                   spec_id="P-1")
        memo = ("clc", clc.text)
        if memo not in self._opened:
            self._opened[memo] = open_sealed_key(clc, self.account_key(user))
        return self._opened[memo]


def open_sealed_key(document: XrmlDocument, opener: PrivateKey) -> PrivateKey:
    """The private key sealed inside ``document`` (the ``ENABLINGBITS type="sealed-key"`` of
    a rights account certificate or a client licensor certificate), opened with
    ``opener``: a RAC seals the account key to the machine key, a CLC the CLC key to the
    account key. Raises :class:`~rmslab.crypto.seal.SealError` when ``opener`` is not the
    key it was sealed to, or when ``document`` holds no sealed key."""
    value = document.element.find(".//ENABLINGBITS[@type='sealed-key']/VALUE")
    if value is None or not (value.text or "").strip():
        raise SealError(f"{document.position} holds no sealed key")
    # the seal's check value already proved the key intact: skip OpenSSL's slow re-check
    return PrivateKey.from_der(unseal(base64.b64decode(value.text or ""), opener),
                               validate=False)
