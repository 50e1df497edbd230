"""Licensing clusters and their servers (SPEC E-1, E-2, E-7…E-9, S-1, S-6, P-7).

A cluster's first server generates the cluster key and enrolls (or enrolls itself, MS-RMPR
1.3.1); later servers join and share the cluster's key and SLC without enrolling (E-2).
The root certification cluster certifies accounts (RACs) and sub-enrolls licensing-only
clusters; every cluster enrolls clients (CLCs, MS-RMPR 3.5.4.2) — machines activate
themselves (3.8.4.1). Each cluster keeps a logging database of every enrollment request
(E-8).

A cluster's policies are the fields of MS-RMPR 3.1.1.1.1 ServerConfiguration that decide
who is licensed (:meth:`Cluster.configuration` shows them): trustedRacIssuers (its own
SLC key, for a licensing-only cluster also the key of the root certification cluster that
sub-enrolled it, plus the trusted user domains an administrator imported),
trustedLicensingServers (the trusted publishing domains, P-7), superUserEnabled and
superUserGroup, racExclusionPolicy, applicationExclusionPolicy, publishedTemplates and
archivedTemplates, creationTimeTolerance; and the two switches of its ServerState,
serverDecommissioned and onlinePublishingEnabled. Defaults as MS-RMPR 3.1.3.3 gives them
(not decommissioned, online publishing enabled, a tolerance of 15 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from rmslab.actors.enrollment_service import (SELF_ENROLLMENT_KEY_LABEL, IssuingKey,
                                              trusted_spc_ca_key)
from rmslab.actors.people import GroupExpansion
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.lab import Lab
from rmslab.revocation import Revoke
from rmslab.store.logdb import LoggingDatabase
from rmslab.xrml.certificates import Revocation
from rmslab.xrml.document import ServerLicensorCertificate
from rmslab.xrml.model import Principal, Validity
from rmslab.xrml.reader import Chain, parse

__all__ = ["Cluster", "Server", "ClusterResources", "ServerConfiguration",
           "ApplicationExclusion", "TrustedIssuer", "ROOT", "LICENSING_ONLY"]

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


@dataclass(frozen=True)
class ApplicationExclusion:
    """One entry of applicationExclusionPolicy (MS-RMPR 3.1.1.1.4): an application
    executable, and the span of its versions that use licenses exclude (a POLICY element
    of a POLICYLIST of type "exclusion" in every use license, 2.2.9.9.8)."""

    filename: str
    minimum_version: str
    maximum_version: str

    def __post_init__(self) -> None:
        for value, what in ((self.filename, "file name"), (self.minimum_version, "minimum version"),
                            (self.maximum_version, "maximum version")):
            if not value or not value.strip():
                raise ValueError(f"an application exclusion needs a {what}")
        for version in (self.minimum_version, self.maximum_version):
            parts = version.split(".")
            if not all(p.isdigit() for p in parts) or len(parts) > 4:
                raise ValueError(f"{version!r} is not a version (up to four numbers "
                                 "separated by dots)")

    def __str__(self) -> str:
        return f"{self.filename} {self.minimum_version}–{self.maximum_version}"


@dataclass(frozen=True)
class TrustedIssuer:
    """A key in trustedRacIssuers or trustedLicensingServers, and why it is there."""

    key: PublicKey
    source: str

    def __str__(self) -> str:
        return f"{self.source} (key {self.key.short_fingerprint})"


@dataclass(frozen=True)
class ServerConfiguration:
    """The policies of a cluster that decide licensing, as MS-RMPR 3.1.1.1.1 names them."""

    cluster: str
    trusted_rac_issuers: tuple[TrustedIssuer, ...]
    trusted_licensing_servers: tuple[TrustedIssuer, ...]
    super_user_enabled: bool
    super_user_group: str | None
    rac_exclusion_policy: tuple[PublicKey, ...]
    application_exclusion_policy: tuple[ApplicationExclusion, ...]
    published_templates: tuple[str, ...]
    archived_templates: tuple[str, ...]
    server_decommissioned: bool = False
    online_publishing_enabled: bool = True
    creation_time_tolerance: timedelta = timedelta(days=15)

    def describe(self) -> list[str]:
        def listed(items: tuple[object, ...]) -> str:
            return "; ".join(str(i) for i in items) if items else "(none)"
        return [
            f"trustedRacIssuers: {listed(self.trusted_rac_issuers)}",
            f"trustedLicensingServers: {listed(self.trusted_licensing_servers)}",
            f"superUserEnabled: {self.super_user_enabled}; superUserGroup: "
            f"{self.super_user_group or '(none)'}",
            "racExclusionPolicy: " + listed(tuple(f"key {k.short_fingerprint}"
                                                  for k in self.rac_exclusion_policy)),
            f"applicationExclusionPolicy: {listed(self.application_exclusion_policy)}",
            f"publishedTemplates: {listed(self.published_templates)}",
            f"archivedTemplates: {listed(self.archived_templates)}",
            f"creationTimeTolerance: {self.creation_time_tolerance.days} days",
            f"serverDecommissioned: {self.server_decommissioned}; onlinePublishingEnabled: "
            f"{self.online_publishing_enabled}",
        ]

    def __str__(self) -> str:
        return "\n".join([f"{self.cluster}:"] + [f"  {line}" for line in self.describe()])


class Cluster:
    """A licensing cluster: one key and one SLC shared by its servers."""

    def __init__(self, lab: Lab, name: str, url: str, *, role: str,
                 revocation: Revocation | None = None,
                 directory: GroupExpansion | None = None,
                 external_url: str | None = None) -> None:
        self.lab = lab
        self.name = name
        self.url = url.rstrip("/")
        #: The base URL reachable from the extranet (MS-RMPR 3.1.1.1.1
        #: externalLicensingUrl is this + "/licensing"). A lab cluster's is its own FQDN
        #: (the lab's host names resolve only inside the lab), as many real deployments
        #: publish one name inside and outside.
        self.external_url = (external_url or url).rstrip("/")
        #: externalCertificationUrl (MS-RMPR 3.1.1.1.1): NULL by default (3.1.3.3), so a
        #: RAC carries no Extranet-Activation point.
        self.external_certification_url: str | None = None
        #: certificateValidityTimeTolerance, racValidityTime, tempRacValidityTime
        #: (MS-RMPR 3.1.1.1.1; defaults of 3.1.3.3).
        self.certificate_validity_tolerance = timedelta(minutes=15)
        self.rac_validity = timedelta(days=365)
        self.temporary_rac_validity = timedelta(minutes=15)
        #: The self-enrollment key and certificate a version 2.0 server installs, when
        #: the cluster enrolled itself (MS-RMPR 2.2.9.2 note 6); None otherwise.
        self.self_enrollment: IssuingKey | None = None
        self._guid: str | None = None
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
        #: Where the cluster asks about group membership (MS-RMPRS 3.5.4.1).
        self.directory = directory
        #: Trusted user domains an administrator imported: the SLC chain of another
        #: cluster, whose RACs this cluster then licenses (MS-RMPR trustedRacIssuers).
        self.trusted_user_domains: dict[str, str] = {}
        #: superUserEnabled and superUserGroup (the e-mail address of a group).
        self.super_user_enabled = False
        self.super_user_group: str | None = None
        #: racExclusionPolicy: RAC keys this cluster licenses no more.
        self.rac_exclusions: list[PublicKey] = []
        #: applicationExclusionPolicy: written into every use license.
        self.application_exclusions: list[ApplicationExclusion] = []
        #: Templates withdrawn from distribution, still used to evaluate publishing
        #: licenses (archivedTemplates).
        self.archived_templates: dict[str, str] = {}
        #: The machine each RAC it issued was sealed to, by RAC ID — what the server
        #: keeps of the RACs it issues (MS-RMPR 3.3.4.1, persistRac), so that a
        #: GetClientLicensorCert request, which carries only the RAC, finds it.
        self.rac_machines: dict[str, str] = {}
        #: serverDecommissioned (MS-RMPR 3.1.1.1.1): the cluster answers only MS-RMSI's
        #: AcquireContentKey (:func:`rmslab.flows.decommission_cluster`).
        self.decommissioned = False
        #: onlinePublishingEnabled: AcquireIssuanceLicense is answered (3.5.4.1).
        self.online_publishing_enabled = True
        #: creationTimeTolerance: how much later than a publishing license's ISSUEDTIME a
        #: RAC's Credential-Creation-Time may be (3.4.4.1).
        self.creation_time_tolerance = timedelta(days=15)
        #: The chains of the texts above (its SLC, trusted user domains), each read once.
        self._chains: dict[str, Chain] = {}

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
    def guid(self) -> str:
        """The server's GUID (MS-RMPR 3.6.4.2.4.1): the one in its SLC's principal once it
        has an SLC, a new one before."""
        if self.enrolled:
            subject = self.slc.subject
            if subject is not None and subject.id:
                return subject.id
        if self._guid is None:
            self._guid = self.lab.guid("server")
        return self._guid

    @property
    def host(self) -> str:
        """The host name of the cluster's URL (the server name its SLC may carry)."""
        return urlsplit(self.url).hostname or self.url

    @property
    def licensing_url(self) -> str:
        """licensingUrl (MS-RMPR 3.1.1.1.1)."""
        return f"{self.url}/licensing"

    @property
    def external_licensing_url(self) -> str:
        """externalLicensingUrl (MS-RMPR 3.1.1.1.1): every real CLC and PL names one."""
        return f"{self.external_url}/licensing"

    @property
    def certification_url(self) -> str:
        """baseUrl + "/certification", the RAC's Activation point (MS-RMPR 3.3.4.1)."""
        return f"{self.url}/certification"

    @property
    def self_enrolled(self) -> bool:
        """Whether the cluster's SLC was signed with the self-enrollment key (MS-RMPR
        1.3.1, 2.2.9.2 note 6) rather than by the enrollment service."""
        return (self.enrolled
                and self.slc.issuer_key == self.lab.key(SELF_ENROLLMENT_KEY_LABEL).public)

    @property
    def trusted_spc_ca_keys(self) -> tuple[PublicKey, ...]:
        """trustedSpcCAKeys (MS-RMPR 3.1.1.1.1, 3.1.3.3): the security processor CA keys
        this server trusts to sign SPCs — the lab's security processor CA."""
        return (trusted_spc_ca_key(self.lab),)

    @property
    def slc_principal_text(self) -> str:
        """The exact text of the PRINCIPAL its SLC issues — what RACs, CLCs and use
        licenses copy into their ISSUER (MS-RMPR 2.2.9.5.2, 2.2.9.6.2)."""
        return self.slc.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL")

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
        return self._chain(self.slc_text, f"SLC of {self.name}")

    def _chain(self, text: str, source: str) -> Chain:
        """The chain of ``text`` — a certificate chain the cluster holds — read once and
        kept while the cluster holds it: a parsed document is a read-only value, and a
        server reads its own SLC for every license it issues."""
        chain = self._chains.get(text)
        if chain is None:
            if len(self._chains) >= 32:  # texts the cluster no longer holds
                self._chains.clear()
            chain = self._chains[text] = parse(text, source=source)
        return chain

    @property
    def slc(self) -> ServerLicensorCertificate:
        document = self.slc_chain[0]
        assert isinstance(document, ServerLicensorCertificate)
        return document

    @property
    def principal(self) -> Principal:
        """The server principal its SLC certifies — copied as ISSUER into everything the
        cluster signs (docs/wire-format.md)."""
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

    @property
    def issue_window(self) -> Validity | None:
        """When the SLC lets this cluster issue: the RANGETIME of its ISSUE right
        (MS-RMPR 3.1.6.2), or its validity when it states no such right. None before
        enrollment."""
        if not self.enrolled:
            return None
        slc = self.slc
        issue = next((r for r in slc.rights if r.name == "ISSUE" and r.validity), None)
        return issue.validity if issue is not None else slc.validity

    # --- policies (MS-RMPR 3.1.1.1.1) ------------------------------------------------------
    @property
    def trusted_rac_issuers(self) -> tuple[TrustedIssuer, ...]:
        """trustedRacIssuers: whose RACs this cluster licenses. Its own SLC key (the
        default of MS-RMPR 3.1.3.3); for a licensing-only cluster also the key of the root
        certification cluster that sub-enrolled it, which certifies the accounts of the
        same forest; and the SLC key of each trusted user domain."""
        found = [TrustedIssuer(self.key.public, f"{self.name} (its own SLC)")]
        if self.role == LICENSING_ONLY and self.enrolled:
            parent = self.slc.issuer_key
            if parent is not None and parent != self.key.public:
                label = self.slc.issuer.name if self.slc.issuer and self.slc.issuer.name else "?"
                found.append(TrustedIssuer(parent, f"{label} (the root certification "
                                                   "cluster that sub-enrolled it)"))
        for name, text in sorted(self.trusted_user_domains.items()):
            slc = self._chain(text, f"trusted user domain {name}")[0]
            for key in slc.principal_keys[:1]:
                found.append(TrustedIssuer(key, f"trusted user domain {name}"))
        return tuple(found)

    @property
    def trusted_licensing_servers(self) -> tuple[TrustedIssuer, ...]:
        """trustedLicensingServers: the servers on whose behalf this cluster issues use
        licenses — the trusted publishing domains it imported (P-7)."""
        return tuple(TrustedIssuer(key.public, f"trusted publishing domain {name}")
                     for name, key in sorted(self.trusted_domains.items()))

    def configuration(self) -> ServerConfiguration:
        """The cluster's licensing policies, as MS-RMPR 3.1.1.1.1 names them."""
        return ServerConfiguration(
            self.name, self.trusted_rac_issuers, self.trusted_licensing_servers,
            self.super_user_enabled, self.super_user_group, tuple(self.rac_exclusions),
            tuple(self.application_exclusions), tuple(sorted(self.templates)),
            tuple(sorted(self.archived_templates)), self.decommissioned,
            self.online_publishing_enabled, self.creation_time_tolerance)

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
