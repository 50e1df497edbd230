"""Client machines: the security processor (machine key and SPC chain) and, per user,
the rights account certificate and the optional client licensor certificate (SPEC E-7,
E-9; MS-RMPR 3.8.3, 3.8.4.1).

The RMS client ships with a Trusted SPC Issuer private key and chain (MS-RMPR 3.8.3.1,
:attr:`Client.spc_issuer`) and activates itself with them (3.8.4.1,
:func:`rmslab.flows.certification.activate_machine`). Private keys never leave their
holder in clear: the RAC private key travels sealed to the SPC key inside the RAC's
FEDERATIONPRINCIPALS, the CLC private key sealed to the RAC key inside the CLC's ISSUE
right — both as the ENABLINGBITS of MS-RMPR 2.2.9.1.13, bound to the certificate's ISSUER
(:mod:`rmslab.crypto.enabling_bits`); the client opens them with
:meth:`Client.account_key` and :meth:`Client.clc_key`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rmslab.crypto.enabling_bits import EnablingBitsType, open_private_key
from rmslab.crypto.rsa import PrivateKey
from rmslab.errors import SealError
from rmslab.discovery.registry import Registry
from rmslab.errors import NotEnrolledError
from rmslab.lab import Lab
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.reader import Chain, parse

if TYPE_CHECKING:
    from rmslab.actors.enrollment_service import IssuingKey

__all__ = ["Client", "Account", "open_sealed_key", "SEALED_KEY_PATHS"]

#: Where each certificate kind carries its sealed private key (MS-RMPR 2.2.9.5.5,
#: 2.2.9.6), as an ElementPath from ``XrML``.
SEALED_KEY_PATHS: dict[str, str] = {
    "Group-Identity-Credential": "BODY/FEDERATIONPRINCIPALS/PRINCIPAL/ENABLINGBITS",
    "Client-Licensor-Certificate":
        "BODY/WORK/RIGHTSGROUP/RIGHTSLIST/RIGHT/CONDITIONLIST/ACCESS/PRINCIPAL/ENABLINGBITS",
}


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
                 machine_key: PrivateKey | None = None,
                 spc_issuer: "IssuingKey | None" = None) -> None:
        """A new computer (its machine key derived from the lab's seed), or, with
        ``machine_key``, one whose key is already known (a lab read back from its store).
        ``spc_issuer`` is the Trusted SPC Issuer key and chain its RMS client ships with
        (MS-RMPR 3.8.3.1)."""
        self.lab = lab
        self.spc_issuer = spc_issuer
        self.name = name
        self.connected = connected
        #: The machine's registry: where its RMS client finds its settings (D-4).
        self.registry = Registry()
        #: The SPC private key (MS-RMPR 3.8.4.1 "SPC private key").
        self.machine_key = machine_key or lab.key(f"machine:{name}")
        #: The SPC chain: the SPC followed by the Trusted SPC Issuer chain (3.8.4.1).
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
    """The private key sealed inside ``document`` — a RAC's (in FEDERATIONPRINCIPALS,
    sealed to the SPC key) or a CLC's (in the ISSUE right's ACCESS/PRINCIPAL, sealed to the
    RAC key), MS-RMPR 2.2.9.5.5, 2.2.9.6 — opened with ``opener`` as MS-RMPR 2.2.9.1.13
    says: the bits' type gives the padding and hash, their hash must be that of the
    certificate's ISSUER as written, and the key inside must be the private half of the
    key the certificate issues. Raises :class:`~rmslab.errors.SealError` (an
    :class:`~rmslab.crypto.enabling_bits.EnablingBitsError`) when ``opener`` is not the
    key they were sealed to, when the bits were moved or changed, or when ``document``
    holds no sealed key."""
    path = SEALED_KEY_PATHS.get(document.kind)
    bits_element = document.element.find(path) if path is not None else None
    value = bits_element.find("VALUE") if bits_element is not None else None
    if bits_element is None or value is None or not (value.text or "").strip():
        raise SealError(f"{document.position} holds no sealed key")
    try:
        bits = base64.b64decode(value.text or "", validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"{document.position}: its ENABLINGBITS are not base64") from None
    holder = document.principals[0].public_key if document.principals else None
    return open_private_key(
        bits, opener, bound_to=document.element_text("BODY/ISSUER"),
        bits_type=EnablingBitsType.from_attribute(bits_element.get("type", "")),
        expected=holder)
