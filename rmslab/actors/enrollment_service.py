"""The enrollment service: rmslab's stand-in for the vendor's root of trust (SPEC E-3…E-6,
S-2…S-5).

Like the real "Production Root → CA → Server Enrollment CA" hierarchy, it holds a root
key (the anchor every chain ends at; it has no certificate of its own), a CA and a
server enrollment CA. It answers enrollment and renewal requests — online, or as files
carried from an offline server — with an SLC and the chain of certificates that grants
the signing rights. It does no I/O: flows hand it request texts.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Callable, Protocol
from datetime import timedelta
from urllib.parse import urlsplit

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, RefusedError, TamperedRequestError, VerificationError
from rmslab.lab import Lab
from rmslab.store.logdb import LoggingDatabase
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.certificates import (ENROLLMENT_REQUEST, RENEWAL_REQUEST, Revocation,
                                      certificate_body)
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.verify import verify_document
from rmslab.xrml.writer import sign

__all__ = ["EnrollmentService", "EnrollmentEndpoint", "EnrollmentRequest", "SLC_LIFETIME"]

#: How long an SLC issued by the enrollment service is valid (renewal extends it).
SLC_LIFETIME = timedelta(days=365)


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


class EnrollmentRequest:
    """A verified enrollment or renewal request: what E-4 says it holds."""

    def __init__(self, document: XrmlDocument) -> None:
        self.document = document
        body = document.element.find("BODY")
        assert body is not None
        issuer = document.issuer
        if issuer is None or issuer.public_key is None:
            raise RefusedError("the request carries no server public key", spec_id="E-4")
        levels = dict(issuer.security_levels)
        self.kind = document.body_type
        self.request_id = document.id or ""
        self.server_key: PublicKey = issuer.public_key
        self.base_url = issuer.url or ""
        self.sku = levels.get("Server-SKU", "")
        self.version = levels.get("Server-Version", "")
        revocation = body.find("REVOCATION")
        if revocation is None:
            raise RefusedError("the request carries no revocation information", spec_id="E-4")
        if revocation.get("type") == "third-party":
            from rmslab.xrml.model import read_public_key
            principal = revocation.find("PRINCIPAL")
            name = principal.findtext("OBJECT/NAME") if principal is not None else None
            key = read_public_key(principal.find("PUBLICKEY") if principal is not None else None,
                                  "REVOCATION")
            if key is None:
                raise RefusedError("third-party revocation names no authority key",
                                   spec_id="E-4")
            self.revocation = Revocation(name, key)
        else:
            self.revocation = Revocation()
        renews = body.find("RENEWS/OBJECT/ID")
        self.renews = renews.text if renews is not None else None
        missing = [name for name, value in (("SKU", self.sku), ("version", self.version),
                                            ("base URL", self.base_url)) if not value]
        if missing:
            raise RefusedError(f"the request lacks its {', '.join(missing)}", spec_id="E-4")

    @property
    def fields(self) -> dict[str, str]:
        """The information the request carries, E-4's list."""
        return {
            "revocation": ("third-party: " + (self.revocation.authority_name or "?"))
            if self.revocation.third_party else "standard",
            "slc_public_key": self.server_key.fingerprint,
            "sku": self.sku,
            "version": self.version,
            "base_url": self.base_url,
        }


class EnrollmentService:
    """The vendor's enrollment service, made executable."""

    def __init__(self, lab: Lab, *, url: str = "https://enroll.rmslab.example/enroll",
                 tls_root: str = "rmslab Enrollment TLS Root",
                 chain_text: str | None = None) -> None:
        """A new service (its CA certificates issued now), or, with ``chain_text``, the
        service whose certificates those are (a lab read back from disk)."""
        self.lab = lab
        self.url = url
        self.tls_root = tls_root
        self.name = "rmslab Enrollment Service"
        self._root_key = lab.key("enrollment-root")
        self._ca_key = lab.key("enrollment-ca")
        self._enrollment_ca_key = lab.key("enrollment-server-ca")
        self._issued: dict[PublicKey, str] = {}
        #: Every request the service received, accepted or refused (E-8).
        self.log = LoggingDatabase()
        if chain_text is not None:
            chain = parse(chain_text, source="enrollment service chain")
            enrollment_doc, ca_doc = chain[0], chain[1]
            assert enrollment_doc.principals and ca_doc.principals and ca_doc.issuer
            self.enrollment_ca, self.ca = enrollment_doc.principals[0], ca_doc.principals[0]
            self.root = ca_doc.issuer
            if (self.root.public_key != self._root_key.public
                    or self.enrollment_ca.public_key != self._enrollment_ca_key.public):
                raise InputError("the enrollment service's certificates do not belong to "
                                 "this lab's seed")
            self.chain_text = chain_text
            return
        now = lab.now()
        self.root = Principal("DRM-Certificate-Authority", lab.guid("enrollment"), "MS-GUID",
                              "rmslab Production Root", (), self._root_key.public)
        self.ca = Principal("DRM-Certificate-Authority", lab.guid("enrollment"), "MS-GUID",
                            "rmslab Production CA", (), self._ca_key.public)
        self.enrollment_ca = Principal("DRM-Certificate-Authority", lab.guid("enrollment"),
                                       "MS-GUID", "rmslab Production Server Enrollment CA", (),
                                       self._enrollment_ca_key.public)
        forever = now + timedelta(days=365 * 30)
        ca_cert = sign(certificate_body(kind="DRM-CA-Certificate", id=lab.guid("enrollment"),
                                        issued=now, issuer=self.root, subject=self.ca,
                                        not_before=now, not_after=forever),
                       self._root_key, lab.digest_algorithm)
        enrollment_cert = sign(certificate_body(
            kind="DRM-CA-Certificate", id=lab.guid("enrollment"), issued=now, issuer=self.ca,
            subject=self.enrollment_ca, not_before=now, not_after=forever),
            self._ca_key, lab.digest_algorithm)
        #: The chain that grants the enrollment CA its signing rights (E-5).
        self.chain_text = enrollment_cert + ca_cert

    @property
    def enrolled_servers(self) -> dict[PublicKey, str]:
        """Server keys this service issued SLCs for, with their base URLs."""
        return dict(self._issued)

    def remember(self, key: PublicKey, base_url: str) -> None:
        """Restore the memory of an enrolled server key (a lab read back from disk)."""
        self._issued[key] = base_url

    @property
    def anchor(self) -> PublicKey:
        """The root key to pin: every SLC it issues chains up to it."""
        return self._root_key.public

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    # --- answering requests ---------------------------------------------------------------
    def read_request(self, request_text: str, *, expected: str, spec_id: str,
                     trace: Trace) -> EnrollmentRequest:
        """Parse a request and check its proof of possession: it must be signed by the key
        it asks to have certified, over exactly the text received."""
        try:
            chain = parse(request_text, source="request")
            document = chain[0]
            verify_document(document)
        except (VerificationError, InputError) as exc:
            trace.check(spec_id, "the request is unchanged since the server signed it", False,
                        f"the request was changed after export ({exc})")
            raise TamperedRequestError(
                "the request file was changed after it was exported: its signature by the "
                "server key no longer holds", spec_id=spec_id, trace=trace) from None
        trace.check(spec_id, "the request is unchanged since the server signed it", True,
                    "signed by the key it asks to have certified (proof of possession)")
        if document.body_type != expected:
            trace.check("E-4", f"the request is a {expected}", False, document.body_type)
            raise RefusedError(f"expected a {expected}, got {document.body_type!r}",
                               spec_id="E-4", trace=trace)
        try:
            request = EnrollmentRequest(document)
        except RefusedError as exc:
            trace.check("E-4", "the request holds E-4's information", False, exc.reason)
            exc.trace = trace
            raise
        trace.check("E-4", "the request holds E-4's information", True,
                    ", ".join(f"{k}={v if k != 'slc_public_key' else v[:16]}"
                              for k, v in request.fields.items()))
        return request

    def _issue_slc(self, request: EnrollmentRequest) -> str:
        now = self.lab.now()
        host = urlsplit(request.base_url).hostname or request.base_url
        # The server's ID is derived from its key, so every SLC for this key names the same
        # server (renewal keeps the identity).
        server_id = "{" + str(uuid.UUID(bytes=hashlib.sha256(
            request.server_key.modulus_base64.encode()).digest()[:16], version=4)) + "}"
        server = Principal("MS-DRM-Server", server_id, "MS-GUID", host,
                           (("URL", request.base_url),), request.server_key,
                           (("Server-Version", request.version), ("Server-SKU", request.sku)))
        revoker = None
        if request.revocation.third_party:
            revoker = Principal("Revocation-Authority", None, None,
                                request.revocation.authority_name, (),
                                request.revocation.authority_key)
        body = certificate_body(kind="Server-Licensor-Certificate", id=self.lab.guid("slc"),
                                issued=now, issuer=self.enrollment_ca, subject=server,
                                not_before=now, not_after=now + SLC_LIFETIME, revoker=revoker)
        return sign(body, self._enrollment_ca_key, self.lab.digest_algorithm)

    def enroll(self, request_text: str, *, trace: Trace, channel: str) -> str:
        """Answer an enrollment request (E-3…E-6): the SLC and its chain, as XML text.
        Every request is logged, accepted or refused (E-8)."""
        return self._logged("root-enrollment", request_text, trace, channel, self._enroll)

    def renew(self, request_text: str, *, trace: Trace, channel: str) -> str:
        """Answer a renewal request (S-2, S-3, S-5): a new SLC for the same server key."""
        return self._logged("slc-renewal", request_text, trace, channel, self._renew)

    def _logged(self, kind: str, request_text: str, trace: Trace, channel: str,
                handler: Callable[[str, Trace, str], tuple[str, EnrollmentRequest]]) -> str:
        try:
            response, request = handler(request_text, trace, channel)
        except RefusedError as exc:
            self.log.record(at=self.lab.now(), kind=kind, requester="(request file)",
                            subject="(unverified request)", channel=channel, accepted=False,
                            reason=exc.reason, spec_id=exc.spec_id)
            trace.check("E-8", f"the {kind} request is logged by {self.name}", True, "refused")
            raise
        self.log.record(at=self.lab.now(), kind=kind, requester=request.base_url,
                        subject=request.base_url, channel=channel, accepted=True,
                        request_id=request.request_id)
        trace.check("E-8", f"the {kind} request is logged by {self.name}", True, "accepted")
        return response

    def _enroll(self, request_text: str, trace: Trace, channel: str) -> tuple[str, EnrollmentRequest]:
        trace.step(self.name, f"receives an enrollment request ({channel})",
                   documents=[DocumentRef("enrollment request", request_text, ENROLLMENT_REQUEST)])
        request = self.read_request(request_text, expected=ENROLLMENT_REQUEST, spec_id="E-4",
                                    trace=trace)
        slc = self._issue_slc(request)
        self._issued[request.server_key] = request.base_url
        response = slc + self.chain_text
        trace.step(self.name, "issues the server licensor certificate and returns it with "
                              "the chain that grants the signing rights",
                   documents=[DocumentRef("enrollment response: SLC + chain", response,
                                          "Server-Licensor-Certificate")],
                   keys=[f"signed with the server enrollment CA key "
                         f"{self._enrollment_ca_key.public.short_fingerprint}"])
        trace.check("E-5", "the response holds the SLC and the chain of signing rights", True,
                    "SLC, server enrollment CA certificate, CA certificate")
        return response, request

    def _renew(self, request_text: str, trace: Trace, channel: str) -> tuple[str, EnrollmentRequest]:
        trace.step(self.name, f"receives a renewal request ({channel})",
                   documents=[DocumentRef("renewal request", request_text, RENEWAL_REQUEST)])
        request = self.read_request(request_text, expected=RENEWAL_REQUEST, spec_id="S-5",
                                    trace=trace)
        known = request.server_key in self._issued
        trace.check("S-2", "the server key was enrolled here before", known,
                    "" if known else "no SLC was ever issued by this service for that key")
        if not known:
            raise RefusedError("this enrollment service never enrolled that server key",
                               spec_id="S-2", trace=trace)
        response = self._issue_slc(request) + self.chain_text
        trace.step(self.name, "issues a renewed SLC for the same server key",
                   documents=[DocumentRef("renewal response: new SLC + chain", response,
                                          "Server-Licensor-Certificate")])
        return response, request
