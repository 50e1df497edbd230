"""The enrollment service and the vendor's hierarchy it stands for: rmslab's stand-in for
Microsoft's root of trust (SPEC E-3…E-6, E-8, S-2…S-5; MS-RMPR 2.2.9.2, 2.2.9.3, 3.6,
3.8.3.1).

It holds, as MS-RMPR 2.2.9.2 draws them, two branches under one root key (the anchor
every chain ends at; it has no certificate of its own) and one CA:

* the server branch — CA certificate (root → CA), Enrollment CA certificate (CA →
  Server Enrollment CA), Enrollment Service certificate (Server Enrollment CA → the
  Enrollment Service, an ``MS-DRM-Server``) — under which it issues SLCs; and a second
  Enrollment Service certificate, the self-enrollment one, whose key a version 2.0 server
  installs to sign its own SLC (MS-RMPR 1.3.1, 2.2.9.2 note 6);
* the security processor branch — intermediate security processor CA certificate (CA →
  Machine Activation Server CA), security processor CA certificate (→ the Desktop
  Security Processor CA), SPC issuer certificate (→ the Desktop Security Processor
  Activation Certificate) — whose key and chain the RMS client ships with and signs its
  own SPC with (3.8.3.1, 3.8.4.1). Servers trust the security processor CA's key
  (``trustedSpcCAKeys``).

Every certificate has the shape of MS-RMPR 2.2.9.3 and the ID types of its tables, with
the lab's names (:data:`rmslab.xrml.certificates.LAB_HIERARCHY`) where the tables give
Microsoft's: the lab's root is not Microsoft's, and its certificates do not pretend to be.

The service answers the Enroll message of MS-RMPR 3.6.4 — the request is an
:class:`~rmslab.xrml.certificates.EnrollParameters` — without authentication (3.1.3.2),
refusing only a request without a Version (3.6.4.1.4.6), and answers four certificates:
the SLC, the Enrollment Service certificate, the Enrollment CA certificate and the CA
certificate (3.6.4.1.4.7). One rule is the documentation's and not MS-RMPR's (SPEC S-5):
a request submitted offline must show it is unchanged — see
:class:`~rmslab.xrml.certificates.EnrollParameters` for how. A renewal is the same Enroll
request for a server that has an SLC (it sends the GUID of its SLC, 3.6.4.2.4.1). The
service does no I/O: flows hand it request texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlsplit

from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import InputError, RefusedError, TamperedRequestError
from rmslab.lab import Lab
from rmslab.store.logdb import LoggingDatabase
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.certificates import (LAB_HIERARCHY, EnrollParameters,
                                      issuing_certificate_body)
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import sign

__all__ = ["EnrollmentService", "EnrollmentEndpoint", "IssuingKey", "SLC_LIFETIME",
           "HIERARCHY_LIFETIME", "SPC_CA_KEY_LABEL", "SELF_ENROLLMENT_KEY_LABEL",
           "trusted_spc_ca_key", "read_enroll_request"]

#: How long an SLC issued by the enrollment service may issue (renewal extends it).
SLC_LIFETIME = timedelta(days=365)
#: How long the hierarchy's own certificates may issue.
HIERARCHY_LIFETIME = timedelta(days=365 * 30)
#: The label of the security processor CA's key in the lab (servers trust it).
SPC_CA_KEY_LABEL = "spc-ca"
#: The label of the self-enrollment key in the lab (MS-RMPR 2.2.9.2 note 6).
SELF_ENROLLMENT_KEY_LABEL = "self-enrollment-service"

_CA = "DRM-Certificate-Authority"
_SLC = "Server-Licensor-Certificate"
_CA_CERT = "DRM-CA-Certificate"


def trusted_spc_ca_key(lab: Lab) -> PublicKey:
    """The key of the lab's security processor CA: what a server of the lab keeps in
    ``trustedSpcCAKeys`` (MS-RMPR 3.1.3.3: "public keys from SPC CA certificates that are
    trusted by this server to sign SPCs"; 3.3.4.1)."""
    return lab.key(SPC_CA_KEY_LABEL).public


@dataclass(frozen=True)
class IssuingKey:
    """A private key that issues, its principal (as its certificate issues it) and the
    chain of certificates above it, leaf first: the SPC issuer that a client signs its SPC
    with (MS-RMPR 3.8.3.1: "Trusted SPC Issuer private key and … chain"), or the
    self-enrollment key that a server signs its own SLC with."""

    key: PrivateKey
    principal: Principal
    chain_text: str


class EnrollmentEndpoint(Protocol):
    """What the flows need of the enrollment service: the service itself, in process, or
    a client of it over HTTP (:class:`rmslab.service.RemoteEnrollmentService`)."""

    name: str
    url: str
    tls_root: str

    @property
    def anchor(self) -> PublicKey: ...

    @property
    def host(self) -> str: ...

    def enroll(self, request_text: str, *, trace: Trace, channel: str) -> str: ...

    def renew(self, request_text: str, *, trace: Trace, channel: str) -> str: ...


class EnrollmentService:
    """The vendor's enrollment service and certificate hierarchy, made executable."""

    def __init__(self, lab: Lab, *, url: str = "https://enroll.rmslab.example/enroll",
                 tls_root: str = "rmslab Enrollment TLS Root",
                 chain_text: str | None = None, spc_chain_text: str | None = None,
                 self_enrollment_text: str | None = None) -> None:
        """A new service (its hierarchy's certificates issued now), or, with the texts of
        its chains, the service whose certificates those are (a lab read back from
        disk)."""
        self.lab = lab
        self.url = url
        self.tls_root = tls_root
        self.name = "rmslab Enrollment Service"
        names = LAB_HIERARCHY
        self._root_key = lab.key("enrollment-root")
        self._ca_key = lab.key("enrollment-ca")
        self._enrollment_ca_key = lab.key("enrollment-server-ca")
        self._service_key = lab.key("enrollment-service")
        self._self_enrollment_key = lab.key(SELF_ENROLLMENT_KEY_LABEL)
        self._activation_ca_key = lab.key("spc-intermediate-ca")
        self._spc_ca_key = lab.key(SPC_CA_KEY_LABEL)
        self._spc_issuer_key = lab.key("spc-issuer")
        self._issued: dict[PublicKey, str] = {}
        #: Every request the service received, accepted or refused (E-8).
        self.log = LoggingDatabase()

        def tag(name: str, key: PrivateKey) -> Principal:
            return Principal(_CA, name, "ascii-tag", name, (), key.public)
        self.root = tag(names.root, self._root_key)
        self.ca = tag(names.ca, self._ca_key)
        self.enrollment_ca = tag(names.enrollment_ca, self._enrollment_ca_key)
        self.activation_ca = tag(names.machine_activation_ca, self._activation_ca_key)
        if chain_text is not None:
            #: The Enrollment Service certificate, the Enrollment CA certificate and the CA
            #: certificate: what follows an SLC it issues (MS-RMPR 3.6.4.1.4.7).
            self.chain_text = chain_text
            self.service = self._read(chain_text, self._service_key, "enrollment service")
        else:
            ca_cert = self._certify(self.root, self._root_key, self.ca, _CA_CERT)
            enrollment_ca_cert = self._certify(self.ca, self._ca_key, self.enrollment_ca,
                                               _CA_CERT)
            self.service = Principal("MS-DRM-Server", lab.guid("enrollment"), "MS-GUID",
                                     names.enrollment_service, (), self._service_key.public)
            self.chain_text = (self._certify(self.enrollment_ca, self._enrollment_ca_key,
                                             self.service, _SLC)
                               + enrollment_ca_cert + ca_cert)
        chain = parse(self.chain_text, source="enrollment service chain")
        if (len(chain) != 3 or chain[2].issuer_key != self._root_key.public
                or not chain[1].certifies(self._enrollment_ca_key.public)):
            raise InputError("the enrollment service's certificates do not belong to this "
                             "lab's seed (or were made by an older rmslab: create the lab "
                             "again)")
        enrollment_ca_cert, ca_cert = chain[1].text, chain[2].text
        if self_enrollment_text is not None:
            self.self_enrollment_service = self._read(self_enrollment_text,
                                                      self._self_enrollment_key,
                                                      "self-enrollment certificate")
        else:
            self.self_enrollment_service = Principal(
                "MS-DRM-Server", lab.guid("enrollment"), "MS-GUID",
                names.self_enrollment_service, (), self._self_enrollment_key.public)
            self_enrollment_text = (self._certify(self.enrollment_ca, self._enrollment_ca_key,
                                                  self.self_enrollment_service, _SLC)
                                    + enrollment_ca_cert + ca_cert)
        #: The self-enrollment certificate and the chain above it (MS-RMPR 2.2.9.2 note 6).
        self.self_enrollment_text = self_enrollment_text
        if spc_chain_text is not None:
            self.spc_issuer = self._read(spc_chain_text, self._spc_issuer_key, "SPC issuer")
            spc_chain = parse(spc_chain_text, source="SPC issuer chain")
            if len(spc_chain) < 2 or not spc_chain[1].principals:
                raise InputError("the SPC issuer chain of the lab is incomplete")
            self.spc_ca = spc_chain[1].principals[0].identity()
        else:
            self.spc_ca = Principal("DRM-Desktop-Security-Processor-Certificate-Authority",
                                    lab.guid("enrollment"), "MS-GUID", names.spc_ca, (),
                                    self._spc_ca_key.public)
            self.spc_issuer = Principal("MS-DRM-Desktop-Security-Processor",
                                        lab.guid("enrollment"), "MS-GUID", names.spc_issuer, (),
                                        self._spc_issuer_key.public)
            spc_chain_text = (
                self._certify(self.spc_ca, self._spc_ca_key, self.spc_issuer, _SLC)
                + self._certify(self.activation_ca, self._activation_ca_key, self.spc_ca,
                                _CA_CERT)
                + self._certify(self.ca, self._ca_key, self.activation_ca, _CA_CERT)
                + ca_cert)
        #: The Trusted SPC Issuer chain (MS-RMPR 2.2.9.2, 3.8.3.1): SPC issuer certificate,
        #: security processor CA certificate, intermediate security processor CA
        #: certificate, CA certificate.
        self.spc_chain_text = spc_chain_text

    def _certify(self, issuer: Principal, key: PrivateKey, subject: Principal,
                 kind: str) -> str:
        now = self.lab.now()
        return sign(issuing_certificate_body(
            kind=kind, id=self.lab.guid("enrollment"), issued=now, issuer=issuer,
            subject=subject, not_before=now, not_after=now + HIERARCHY_LIFETIME),
            key, self.lab.digest_algorithm)

    def _read(self, text: str, key: PrivateKey, what: str) -> Principal:
        """The principal the first certificate of ``text`` issues, checked to be ``key``'s."""
        try:
            document = parse(text, source=what)[0]
        except InputError as exc:
            raise InputError(f"the lab's {what} cannot be read: {exc}") from None
        if not document.principals or document.principals[0].public_key != key.public:
            raise InputError(f"the lab's {what} certificate does not belong to this lab's "
                             "seed")
        return document.principals[0].identity()

    # --- what the vendor ships --------------------------------------------------------
    @property
    def spc_issuer_kit(self) -> IssuingKey:
        """The Trusted SPC Issuer private key and chain an RMS client ships with
        (MS-RMPR 3.8.3.1)."""
        return IssuingKey(self._spc_issuer_key, self.spc_issuer, self.spc_chain_text)

    @property
    def self_enrollment_kit(self) -> IssuingKey:
        """The self-enrollment key and certificate chain a version 2.0 server installs
        (MS-RMPR 2.2.9.2 note 6)."""
        return IssuingKey(self._self_enrollment_key, self.self_enrollment_service,
                          self.self_enrollment_text)

    @property
    def trusted_spc_ca_keys(self) -> tuple[PublicKey, ...]:
        """The security processor CA key servers trust (MS-RMPR 3.1.3.3)."""
        return (self._spc_ca_key.public,)

    @property
    def enrolled_servers(self) -> dict[PublicKey, str]:
        """Server keys this service issued SLCs for, with their base URLs."""
        return dict(self._issued)

    def remember(self, key: PublicKey, base_url: str) -> None:
        """Restore the memory of an enrolled server key (a lab read back from disk)."""
        self._issued[key] = base_url

    @property
    def anchor(self) -> PublicKey:
        """The root key to pin: every certificate of the hierarchy chains up to it."""
        return self._root_key.public

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    # --- answering requests ---------------------------------------------------------------
    def read_request(self, request_text: str, *, channel: str, trace: Trace) -> EnrollParameters:
        """The service's checks of a request (:func:`read_enroll_request`)."""
        return read_enroll_request(request_text, channel=channel, trace=trace)

    def _issue_slc(self, request: EnrollParameters) -> str:
        now = self.lab.now()
        levels = [("Server-Version", request.version or "")]
        if request.sku:
            levels.append(("Server-SKU", request.sku))
        server = Principal("MS-DRM-Server", request.guid, "MS-GUID", None,
                           (("URL", request.url),) if request.url else (), request.public_key,
                           tuple(levels))
        body = issuing_certificate_body(
            kind=_SLC, id=self.lab.guid("slc"), issued=now, issuer=self.service,
            subject=server, not_before=now, not_after=now + SLC_LIFETIME,
            revocation_authorities=request.authorities)
        return sign(body, self._service_key, self.lab.digest_algorithm)

    def enroll(self, request_text: str, *, trace: Trace, channel: str) -> str:
        """Answer an Enroll request (E-3…E-6; MS-RMPR 3.6.4): the SLC and the three
        certificates above it, as XML text. Every request is logged, accepted or refused
        (E-8)."""
        return self._answer("root-enrollment", request_text, trace, channel)

    def renew(self, request_text: str, *, trace: Trace, channel: str) -> str:
        """Answer the Enroll request of a server renewing its SLC (S-2, S-3, S-5): the same
        operation, logged as a renewal."""
        return self._answer("slc-renewal", request_text, trace, channel)

    def kind_of(self, request_text: str) -> str:
        """How to log a request that arrives over the wire, where renewal and enrollment
        are one operation: a renewal when the key was enrolled here before."""
        try:
            key = EnrollParameters.from_xml(request_text).public_key
        except InputError:
            return "root-enrollment"
        return "slc-renewal" if key in self._issued else "root-enrollment"

    def _answer(self, kind: str, request_text: str, trace: Trace, channel: str) -> str:
        what = "a renewal" if kind == "slc-renewal" else "an enrollment"
        trace.step(self.name, f"receives {what} request ({channel})",
                   documents=[DocumentRef("enrollment request", request_text,
                                          "EnrollParameters")])
        try:
            request = self.read_request(request_text, channel=channel, trace=trace)
        except RefusedError as exc:
            self.log.record(at=self.lab.now(), kind=kind, requester="(request)",
                            subject="(request)", channel=channel, accepted=False,
                            reason=exc.reason, spec_id=exc.spec_id)
            trace.check("E-8", f"the {kind} request is logged by {self.name}", True, "refused")
            raise
        response = self._issue_slc(request) + self.chain_text
        self._issued[request.public_key] = request.url or ""
        trace.step(self.name, "issues the server licensor certificate and returns it with "
                              "the certificates above it",
                   documents=[DocumentRef("enrollment response: SLC + chain", response,
                                          _SLC)],
                   keys=[f"signed with the Enrollment Service key "
                         f"{self._service_key.public.short_fingerprint}"])
        trace.check("E-5", "the response holds the SLC and the chain of signing rights", True,
                    "SLC, Enrollment Service certificate, Enrollment CA certificate, CA "
                    "certificate (MS-RMPR 3.6.4.1.4.7)")
        self.log.record(at=self.lab.now(), kind=kind, requester=request.url or request.guid,
                        subject=request.url or request.guid, channel=channel, accepted=True,
                        request_id=request.guid)
        trace.check("E-8", f"the {kind} request is logged by {self.name}", True, "accepted")
        return response


def read_enroll_request(request_text: str, *, channel: str, trace: Trace) -> EnrollParameters:
    """Read an Enroll request's parameters and apply the service's rules: the
    documentation's tamper rule for what was carried as a file (S-5), and MS-RMPR's
    one check, a Version (3.6.4.1.4.6). No authentication, no authorization (3.1.3.2):
    the key, the GUID, SKU, Name and URL are taken as sent."""
    try:
        request = EnrollParameters.from_xml(request_text)
    except InputError as exc:
        trace.check("E-4", "the request is an EnrollParameters (MS-RMPR 3.6.4.1.4.1)",
                    False, str(exc))
        raise RefusedError(f"the request cannot be read: {exc}", spec_id="E-4",
                           trace=trace) from None
    if request.proof is not None or channel == "offline":
        holds = request.proof_holds()
        reason = ("signed by the key it asks to have certified, over every field "
                  "(the documentation's rule S-5; MS-RMPR has the service ignore "
                  "SignedDataBase64Encoded)" if holds else
                  "the file carries no proof that it is unchanged" if request.proof is None
                  else "the request was changed after export: the proof in "
                       "SignedDataBase64Encoded no longer matches its fields")
        trace.check("S-5", "the request is unchanged since the server exported it",
                    holds, reason)
        if not holds:
            raise TamperedRequestError(
                f"the request was refused: {reason}", spec_id="S-5", trace=trace)
    fields = {"revocation": request.revocation_type,
              "slc_public_key": request.public_key.short_fingerprint,
              "sku": request.sku or "-", "version": request.version or "-",
              "base_url": request.url or "-"}
    if not request.version:
        trace.check("E-4", "the request names the server's Version", False,
                    "EnrolleeInformation has no Version (MS-RMPR 3.6.4.1.4.6)")
        raise RefusedError("the request has no Version in EnrolleeInformation: the one "
                           "field the enrollment service requires (MS-RMPR 3.6.4.1.4.6)",
                           spec_id="E-4", trace=trace)
    trace.check("E-4", "the request holds E-4's information", True,
                ", ".join(f"{k}={v}" for k, v in fields.items())
                + " (the service checks only the Version, MS-RMPR 3.6.4.1.4.6)")
    return request
