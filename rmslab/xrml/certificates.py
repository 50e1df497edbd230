"""The documents of enrollment and certification, written as XrML 1.2 BODY texts
(docs/wire-format.md; SPEC E-1…E-9, S-3).

Each function returns the BODY text to sign with :func:`rmslab.xrml.writer.sign`.
Certificates put their validity in the ISSUE right's RANGETIME, as real SLCs and CLCs
do; requests are signed by the key they ask to have certified (proof of possession).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime

from rmslab.crypto.rsa import PublicKey
from rmslab.xrml.model import Principal
from rmslab.xrml.writer import (Markup, RightSpec, distribution_point_xml, element,
                                license_body, object_xml, principal_xml, public_key_xml)

__all__ = [
    "ENROLLMENT_REQUEST", "RENEWAL_REQUEST", "Revocation", "enrollment_request_body",
    "certificate_body", "sealed_key_certificate_body",
]

ENROLLMENT_REQUEST = "Server-Enrollment-Request"
RENEWAL_REQUEST = "Server-Renewal-Request"


@dataclass(frozen=True)
class Revocation:
    """Who may revoke what this cluster issues (E-4): standard revocation, or a
    third-party revocation authority whose public key travels in the request and ends
    up in the SLC."""

    authority_name: str | None = None
    authority_key: PublicKey | None = None

    @property
    def third_party(self) -> bool:
        return self.authority_key is not None

    def to_xml(self) -> Markup:
        if not self.third_party:
            return element("REVOCATION", {"type": "standard"})
        assert self.authority_key is not None
        return element("REVOCATION", {"type": "third-party"},
                       element("PRINCIPAL", (),
                               object_xml("Revocation-Authority", None,
                                          name=self.authority_name),
                               public_key_xml(self.authority_key)))


def enrollment_request_body(*, kind: str, request_id: str, issued: datetime,
                            server_key: PublicKey, sku: str, version: str, base_url: str,
                            revocation: Revocation, slc_id: str | None = None) -> str:
    """An enrollment or renewal request: exactly E-4's fields — revocation information,
    the SLC public key, the product SKU, the version, the cluster's base URL — in an
    envelope that names the request (its ID and time; a renewal also names the SLC it
    renews)."""
    server = element(
        "ISSUER", (),
        object_xml("MS-DRM-Server", None, addresses=[("URL", base_url)]),
        public_key_xml(server_key),
        element("SECURITYLEVEL", (("name", "Server-SKU"), ("value", sku))),
        element("SECURITYLEVEL", (("name", "Server-Version"), ("value", version))))
    return element(
        "BODY", (("type", kind), ("version", "3.0")),
        element("ISSUEDTIME", (), _time(issued)),
        element("DESCRIPTOR", (), object_xml(kind, request_id)),
        server,
        revocation.to_xml(),
        element("RENEWS", (), object_xml("Server-Licensor-Certificate", slc_id))
        if slc_id else None)


def _time(moment: datetime) -> str:
    from rmslab.xrml.model import format_time
    return format_time(moment)


def certificate_body(*, kind: str, id: str, issued: datetime, issuer: Principal,
                     subject: Principal, not_before: datetime, not_after: datetime,
                     revoker: Principal | None = None,
                     distribution_points: tuple[Markup, ...] = ()) -> str:
    """A certificate: ``issuer`` certifies ``subject``'s key, with the ISSUE right valid
    from ``not_before`` to ``not_after``. With ``revoker``, a REVOKE right names the
    principal that may revoke what the subject issues (E-4's revocation information)."""
    principals = [subject] + ([revoker] if revoker is not None else [])
    rights = [RightSpec("ISSUE", "1", not_before, not_after)]
    if revoker is not None:
        rights.append(RightSpec("REVOKE", "2"))
    return license_body(kind=kind, id=id, issued=issued, issuer=issuer,
                        principals=principals, rights=rights,
                        distribution_points=distribution_points)


def sealed_key_certificate_body(*, kind: str, id: str, issued: datetime, issuer: Principal,
                                subject: Principal, sealed_key: bytes, not_before: datetime,
                                not_after: datetime,
                                distribution_points: tuple[Markup, ...] = (),
                                credential_type: str | None = None) -> str:
    """A certificate that also carries the subject's private key sealed for another
    principal (ENABLINGBITS): the RAC (account key → machine key) and the CLC (CLC key →
    account key)."""
    levels = subject.security_levels
    if credential_type:
        levels = levels + (("Group-Identity-Credential-Type", credential_type),)
    with_levels = replace(subject.identity(), security_levels=levels)
    issue = element(
        "RIGHT", {"name": "ISSUE"},
        element("CONDITIONLIST", (),
                element("TIME", (), element("RANGETIME", (),
                                            element("FROM", (), _time(not_before)),
                                            element("UNTIL", (), _time(not_after)))),
                element("ACCESS", (), element(
                    "PRINCIPAL", {"internal-id": "1"},
                    element("ENABLINGBITS", {"type": "sealed-key"},
                            element("VALUE", (("encoding", "base64"),
                                              ("size", str(len(sealed_key) * 8))),
                                    base64.b64encode(sealed_key).decode("ascii")))))))
    work = element("WORK", (), object_xml(kind, id),
                   element("RIGHTSGROUP", {"name": "Main-Rights"},
                           element("RIGHTSLIST", (), Markup(issue))))
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), _time(issued)),
        element("DESCRIPTOR", (), object_xml(kind, id)),
        principal_xml(issuer, tag="ISSUER"),
        *distribution_points,
        element("ISSUEDPRINCIPALS", (), principal_xml(with_levels, internal_id="1")),
        work)


__all__ += ["distribution_point_xml"]
