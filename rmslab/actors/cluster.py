"""Licensing clusters and their servers (SPEC E-1, E-2, E-7…E-9, S-1, S-6).

A cluster's first server generates the cluster key and enrolls; later servers join and
share the cluster's key and SLC without enrolling (E-2). The root certification
cluster certifies machines, accounts and clients and sub-enrolls licensing-only
clusters; each cluster keeps a logging database of every enrollment request (E-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rmslab.crypto.rsa import PrivateKey
from rmslab.lab import Lab
from rmslab.revocation import Revoke
from rmslab.store.logdb import LoggingDatabase
from rmslab.xrml.certificates import Revocation
from rmslab.xrml.document import ServerLicensorCertificate
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import Chain, parse

__all__ = ["Cluster", "Server", "ClusterResources", "ROOT", "LICENSING_ONLY"]

ROOT = "root certification"
LICENSING_ONLY = "licensing-only"
SKU = "rmslab-RMS-Server"
VERSION = "6.3.9600.0"


@dataclass
class Server:
    """A server of a cluster. ``administrators`` are the members of its local
    Administrators group (S-1)."""

    name: str
    cluster: "Cluster"
    administrators: set[str] = field(default_factory=set)
    connected: bool = True
    first: bool = False

    @property
    def renew_request_name(self) -> str:
        """The file the offline renewal exports (S-3)."""
        return f"{self.name}RenewRequest.xml"


@dataclass(frozen=True)
class ClusterResources:
    """What the administration pages show under "cluster resources" (S-6)."""

    cluster: str
    role: str
    url: str
    servers: tuple[str, ...]
    slc_id: str | None
    slc_issued: datetime | None
    slc_expires: datetime | None

    def __str__(self) -> str:
        expires = f"{self.slc_expires:%Y-%m-%d %H:%M} UTC" if self.slc_expires else "not enrolled"
        return (f"{self.cluster} ({self.role}, {self.url}); servers: {', '.join(self.servers)}; "
                f"SLC {self.slc_id or '-'} expires {expires}")


class Cluster:
    """A licensing cluster: one key and one SLC shared by its servers."""

    def __init__(self, lab: Lab, name: str, url: str, *, role: str,
                 revocation: Revocation | None = None) -> None:
        self.lab = lab
        self.name = name
        self.url = url.rstrip("/")
        self.role = role
        self.revocation = revocation or Revocation()
        self.sku = SKU
        self.version = VERSION
        self.servers: list[Server] = []
        self.log = LoggingDatabase()
        self._key: PrivateKey | None = None
        #: The SLC followed by the chain that grants its signing rights (E-5).
        self.slc_text: str | None = None
        self._slc_history: list[str] = []
        #: Keys of other clusters imported as trusted publishing domains (P-7), by name.
        self.trusted_domains: dict[str, PrivateKey] = {}
        #: Rights policy templates the cluster issued (signed text with the SLC chain).
        self.templates: dict[str, str] = {}
        #: What the cluster has revoked so far, and its current signed list (R-2).
        self.revocations: list[Revoke] = []
        self.revocation_list: str | None = None

    def __repr__(self) -> str:
        return f"<Cluster {self.name!r} {self.role} {self.url}>"

    # --- key and certificate --------------------------------------------------------------
    @property
    def key(self) -> PrivateKey:
        """The cluster key, generated on its first server (E-4: "generated on the server")."""
        if self._key is None:
            self._key = self.lab.key(f"cluster:{self.name}")
        return self._key

    @property
    def revocation_url(self) -> str:
        """Where the cluster publishes its revocation list (R-4)."""
        return f"{self.url}/revocation/list.xml"

    @property
    def enrolled(self) -> bool:
        return self.slc_text is not None

    @property
    def slc_chain(self) -> Chain:
        if self.slc_text is None:
            from rmslab.errors import NotEnrolledError
            raise NotEnrolledError(f"the cluster {self.name} has no SLC yet", spec_id="E-1")
        return parse(self.slc_text, source=f"SLC of {self.name}")

    @property
    def slc(self) -> ServerLicensorCertificate:
        document = self.slc_chain[0]
        assert isinstance(document, ServerLicensorCertificate)
        return document

    @property
    def principal(self) -> Principal:
        """The server principal its SLC certifies — copied as ISSUER into everything the
        cluster signs (XRML.md)."""
        subject = self.slc.subject
        assert subject is not None
        return subject.identity()

    def install_slc(self, response_text: str) -> None:
        if self.slc_text is not None:
            self._slc_history.append(self.slc_text)
        self.slc_text = response_text

    @property
    def previous_slcs(self) -> tuple[str, ...]:
        return tuple(self._slc_history)

    # --- servers ---------------------------------------------------------------------------
    def add_server(self, name: str, *, administrators: set[str] | None = None) -> Server:
        server = Server(name, self, set(administrators or ()), first=not self.servers)
        self.servers.append(server)
        return server

    def server(self, name: str) -> Server:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(f"no server {name!r} in cluster {self.name}")

    @property
    def first_server(self) -> Server:
        return self.servers[0]

    def resources(self) -> ClusterResources:
        """The cluster resources page (S-6)."""
        slc = self.slc if self.enrolled else None
        right = slc.validity if slc is not None else None
        return ClusterResources(self.name, self.role, self.url,
                                tuple(s.name for s in self.servers),
                                slc.id if slc else None, slc.issued if slc else None,
                                right.not_after if right else None)
