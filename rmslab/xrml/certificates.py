"""The certificates of MS-RMPR 2.2.9.2–2.2.9.6 and the enrollment request of 3.6.4, written
exactly as the specification gives them (docs/wire-format.md; SPEC E-1…E-9, S-3, S-5).

Each ``*_body`` function returns the BODY text to sign with
:func:`rmslab.xrml.writer.sign`, its elements in the order of MS-RMPR's template (and of
the real documents):

* :func:`issuing_certificate_body` — every issuing certificate of 2.2.9.3: the SLC, the
  Enrollment Service, Enrollment CA and CA certificates, and the security processor
  hierarchy (SPC issuer, security processor CA, intermediate security processor CA). The
  ISSUER holds only the issuer's OBJECT (type, ID, NAME) and PUBLICKEY (2.2.9.3.2); an
  SLC with third-party revocation authorities carries the ``CONDITIONLIST/REFRESH`` of
  2.2.9.3.4.
* :func:`spc_body` — the security processor certificate (machine certificate) of
  2.2.9.4, which the client signs itself (3.8.4.1).
* :func:`rac_body` — the RMS account certificate of 2.2.9.5, the RAC private key in
  FEDERATIONPRINCIPALS sealed to the SPC key.
* :func:`clc_body` — the client licensor certificate of 2.2.9.6, the CLC private key in
  the ISSUE right's ACCESS/PRINCIPAL sealed to the RAC key.

The RAC's and the CLC's enabling bits are bound to the exact text of the certificate's own
ISSUER (MS-RMPR 2.2.9.1.13), so the writers take a ``seal`` function that is given that
text and returns the bits: the ISSUER is written first, then sealed to, then the rest.

The names of the lab's hierarchy (:class:`Hierarchy`) are the lab's own — "rmslab Lab
Root", not "Microsoft DRM Production Root" — in the ID types and at the places the tables
of 2.2.9.3.2/3 give the production and pre-production literals: a lab root is neither of
Microsoft's hierarchies, and its certificates say so.

:class:`EnrollParameters` is the enrollment request: the ``EnrollParameters`` of MS-RMPR
3.6.4.1.4.1 (namespace ``http://microsoft.com/DRM/EnrollmentService``), the same XML online
(in the Enroll message) and offline (the request file of 3.6.4.2.1.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

from lxml import etree

from rmslab.crypto.enabling_bits import EnablingBitsType
from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey
from rmslab.errors import BadSignatureError, InputError, KeyFormatError, StructureError
from rmslab.xrml.model import Principal, format_time
from rmslab.xrml.writer import (Markup, distribution_point_xml, element, object_xml,
                                principal_xml, public_key_xml)

__all__ = [
    "Revocation", "Hierarchy", "LAB_HIERARCHY", "issuer_xml", "issuing_certificate_body",
    "revocation_condition_xml", "spc_body", "rac_body", "clc_body", "enabling_bits_xml",
    "issuer_from_principal_text", "ACTIVATION_POINT_ID", "ACTIVATION_LOCATION",
    "EnrollParameters", "ENROLLMENT_NAMESPACE", "distribution_point_xml",
]

#: The ID of the SPC's Activation distribution point (MS-RMPR 2.2.9.4.3, a literal).
ACTIVATION_POINT_ID = "{99F48562-703E-4E7D-9175-DD69C66921B7}"
#: Where a version 1 SP1+ or version 2 client says it activated: itself (MS-RMPR 2.2.9.4.3
#: note 13 — what a Windows client writes).
ACTIVATION_LOCATION = "file:///rmactivate.exe"

ENROLLMENT_NAMESPACE = "http://microsoft.com/DRM/EnrollmentService"


@dataclass(frozen=True)
class Revocation:
    """Who may revoke the SLC a cluster is issued (E-4; MS-RMPR 3.6.4.1.4.3): standard
    revocation ("StandardRevocation": the SLC's issuer), or a third-party authority
    ("CustomRevocation") whose public key travels in the enrollment request and ends up in
    the SLC's ``CONDITIONLIST/REFRESH`` (2.2.9.3.4). ``authority_name`` is the lab's label
    for it: the request carries only the key."""

    authority_name: str | None = None
    authority_key: PublicKey | None = None

    @property
    def third_party(self) -> bool:
        return self.authority_key is not None

    @property
    def revocation_type(self) -> str:
        return "CustomRevocation" if self.third_party else "StandardRevocation"


@dataclass(frozen=True)
class Hierarchy:
    """The names of a certificate hierarchy at the places of MS-RMPR 2.2.9.3.2/3's tables
    (the production hierarchy writes "Microsoft DRM Production …" there)."""

    root: str
    ca: str
    enrollment_ca: str
    enrollment_service: str
    self_enrollment_service: str
    machine_activation_ca: str
    spc_ca: str
    spc_issuer: str


#: The lab's hierarchy: the production table's names with "Microsoft DRM Production"
#: (or "Microsoft DRM") replaced by "rmslab Lab" — not Microsoft's names, which would be a
#: lie in a lab.
LAB_HIERARCHY = Hierarchy(
    root="rmslab Lab Root",
    ca="rmslab Lab CA",
    enrollment_ca="rmslab Lab Server Enrollment CA",
    enrollment_service="rmslab Lab Server Enrollment Service",
    self_enrollment_service="rmslab Lab Server Self Enrollment Service",
    machine_activation_ca="rmslab Lab Machine Activation Server CA",
    spc_ca="rmslab Lab Machine Activation Desktop Security Processor CA",
    spc_issuer="rmslab Lab Desktop Security Processor Activation Certificate",
)


# --- issuing certificates (MS-RMPR 2.2.9.3) ------------------------------------------------


def issuer_xml(issuer: Principal) -> Markup:
    """The ISSUER of an issuing certificate (2.2.9.3.2): the OBJECT (type, ID, NAME) and
    the PUBLICKEY — no ADDRESS, no SECURITYLEVEL."""
    assert issuer.public_key is not None
    return element("ISSUER", (),
                   object_xml(issuer.object_type, issuer.id,
                              id_type=issuer.id_type or "MS-GUID", name=issuer.name),
                   public_key_xml(issuer.public_key))


def revocation_condition_xml(issuer_key: PublicKey,
                             authorities: Sequence[PublicKey]) -> Markup:
    """The CONDITIONLIST of an SLC issued with custom revocation authorities (2.2.9.3.4,
    2.2.9.3.5): a REFRESH whose first DISTRIBUTIONPOINT holds the key of the SLC's issuer,
    then one per third-party authority, and an empty INTERVALTIME."""
    def point(key: PublicKey) -> Markup:
        return element("DISTRIBUTIONPOINT", (),
                       object_xml("Revocation", "External revocation authority",
                                  id_type="ascii-tag"),
                       public_key_xml(key))
    return element("CONDITIONLIST", (),
                   element("REFRESH", (), point(issuer_key), *(point(k) for k in authorities),
                           element("INTERVALTIME")))


def _issue_right(not_before: datetime, not_after: datetime, *granted: Markup) -> Markup:
    """The ISSUE right of an issuing certificate (MS-RMPR 2.2.9.3) and of a CLC (2.2.9.6):
    the time range in which it may issue, and the principal it grants (internal-id 1) with
    what that principal carries (a CLC: its private key as enabling bits)."""
    return element(
        "RIGHT", {"name": "ISSUE"},
        element("CONDITIONLIST", (),
                element("TIME", (), element("RANGETIME", (),
                                            element("FROM", (), format_time(not_before)),
                                            element("UNTIL", (), format_time(not_after)))),
                element("ACCESS", (), element("PRINCIPAL", {"internal-id": "1"}, *granted))))


def issuing_certificate_body(*, kind: str, id: str, issued: datetime, issuer: Principal,
                             subject: Principal, not_before: datetime, not_after: datetime,
                             revocation_authorities: Sequence[PublicKey] = ()) -> str:
    """An issuing certificate (MS-RMPR 2.2.9.3): ``issuer`` certifies ``subject``'s key
    with the right to issue from ``not_before`` to ``not_after`` (the ISSUE right's
    RANGETIME). ``kind`` is the DESCRIPTOR type of table 2.2.9.3.1. ``subject`` is written
    as given: the SLC's principal carries an ADDRESS and Server-Version/Server-SKU
    SECURITYLEVELs, the others none (2.2.9.3.3). With ``revocation_authorities`` (SLC
    only), the CONDITIONLIST of 2.2.9.3.4 names them. No VALIDITYTIME: it is optional, and
    no real issuing certificate has one."""
    assert issuer.public_key is not None
    right = _issue_right(not_before, not_after)
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), object_xml(kind, id)),
        issuer_xml(issuer),
        element("ISSUEDPRINCIPALS", (), principal_xml(subject, internal_id="1")),
        element("WORK", (), object_xml(kind, id),
                element("RIGHTSGROUP", {"name": "Main-Rights"},
                        element("RIGHTSLIST", (), right))),
        revocation_condition_xml(issuer.public_key, revocation_authorities)
        if revocation_authorities else None)


# --- the security processor certificate (MS-RMPR 2.2.9.4) ---------------------------------


def spc_body(*, id: str, issued: datetime, issuer: Principal, machine_id: str,
             machine_key: PublicKey, hid_digest: bytes, digest_algorithm: DigestAlgorithm,
             platform: str, manufacturer: str, repository: str,
             activation_location: str = ACTIVATION_LOCATION) -> str:
    """The SPC (2.2.9.4): DESCRIPTOR "Microsoft Machine-Certificate"; ISSUER the SPC
    issuer's principal (OBJECT and PUBLICKEY, no cps: a version 2 client writes none); the
    Activation DISTRIBUTIONPOINT of a self-activating client; one PRINCIPAL (no internal
    ID) with the Machine-Unique-Identifier OBJECT, the SPC key, the DIGEST of the
    hardware ID and the Platform, Manufacturer and Repository SECURITYLEVELs. No
    VALIDITYTIME, no WORK."""
    assert issuer.public_key is not None
    digest = element(
        "DIGEST", (),
        element("ALGORITHM", (), digest_algorithm.value),
        element("PARAMETER", {"name": "codingtype"},
                element("VALUE", {"encoding": "string"}, "surface-coding")),
        element("VALUE", (("encoding", "base64"), ("size", str(len(hid_digest) * 8))),
                base64.b64encode(hid_digest).decode("ascii")))
    principal = element(
        "PRINCIPAL", (),
        object_xml("Machine-Unique-Identifier", machine_id, name="Machine"),
        public_key_xml(machine_key),
        digest,
        element("SECURITYLEVEL", (("name", "Platform"), ("value", platform))),
        element("SECURITYLEVEL", (("name", "Manufacturer"), ("value", manufacturer))),
        element("SECURITYLEVEL", (("name", "Repository"), ("value", repository))))
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), object_xml("Machine-Certificate", id,
                                             name="Microsoft Machine-Certificate")),
        element("ISSUER", (),
                object_xml(issuer.object_type, issuer.id, name=issuer.name),
                public_key_xml(issuer.public_key)),
        element("DISTRIBUTIONPOINT", (),
                object_xml("Activation", ACTIVATION_POINT_ID, name="Microsoft Activation",
                           addresses=[("URL", activation_location)])),
        element("ISSUEDPRINCIPALS", (), principal))


# --- the RAC and the CLC (MS-RMPR 2.2.9.5, 2.2.9.6) ---------------------------------------


#: Given the exact text of a certificate's ISSUER element, the raw enabling bits to write.
Sealer = Callable[[str], bytes]


def enabling_bits_xml(bits: bytes, bits_type: EnablingBitsType) -> Markup:
    """``ENABLINGBITS type=…`` with the raw bits in base64, ``size`` their bit length
    (MS-RMPR 2.2.9.1.13)."""
    return element("ENABLINGBITS", {"type": bits_type.value},
                   element("VALUE", (("encoding", "base64"), ("size", str(len(bits) * 8))),
                           base64.b64encode(bits).decode("ascii")))


def issuer_from_principal_text(principal_text: str) -> Markup:
    """An ISSUER whose contents are copied verbatim from the contents of a PRINCIPAL
    element (``principal_text``, its exact text): what a RAC, a CLC or a use license does
    with the PRINCIPAL of its server's SLC (MS-RMPR 2.2.9.5.2, 2.2.9.6.2)."""
    start = principal_text.find(">")
    end = principal_text.rfind("</PRINCIPAL")
    if not principal_text.startswith("<PRINCIPAL") or start < 0 or end < start:
        raise StructureError("not the text of a PRINCIPAL element with contents")
    return Markup("<ISSUER>" + principal_text[start + 1:end] + "</ISSUER>")


def rac_body(*, id: str, issued: datetime, not_before: datetime, not_after: datetime,
             issuer: str, activation: tuple[str, str],
             extranet_activation: tuple[str, str] | None, user: Principal,
             credential_type: str, machine_object: str, machine_levels: Sequence[str],
             seal: Sealer, bits_type: EnablingBitsType) -> str:
    """The RAC (MS-RMPR 2.2.9.5): ``issuer`` is the ISSUER's exact text (the SLC's
    principal, :func:`issuer_from_principal_text`); ``activation`` and
    ``extranet_activation`` are (GUID, URL) of the Activation and Extranet-Activation
    points; ``user`` the Group-Identity OBJECT (ID, NAME, ADDRESSes) and the RAC public
    key; ``machine_object`` and ``machine_levels`` the exact texts of the SPC principal's
    OBJECT and of its SECURITYLEVELs, copied verbatim into FEDERATIONPRINCIPALS in the
    order given; ``seal`` seals the RAC private key to the SPC key, bound to the ISSUER."""
    assert user.public_key is not None
    points = [distribution_point_xml("Activation", activation[0],
                                     name="Microsoft Identity Certification Server",
                                     address=activation[1])]
    if extranet_activation is not None:
        points.append(distribution_point_xml("Extranet-Activation", extranet_activation[0],
                                             name="Microsoft Identity Certification Server",
                                             address=extranet_activation[1]))
    principal = element(
        "PRINCIPAL", {"internal-id": "1"},
        object_xml("Group-Identity", user.id, id_type=user.id_type or "Windows",
                   name=user.name, addresses=user.addresses),
        public_key_xml(user.public_key),
        element("SECURITYLEVEL", (("name", "Group-Identity-Credential-Type"),
                                  ("value", credential_type))),
        element("SECURITYLEVEL", (("name", "Group-Identity-Type"), ("value", "Group"))),
        element("SECURITYLEVEL", (("name", "Group-Identity-Policy"),
                                  ("value", "Group-Identity-Credential"))))
    federation = element(
        "FEDERATIONPRINCIPALS", (),
        element("PRINCIPAL", (), Markup(machine_object),
                enabling_bits_xml(seal(issuer), bits_type),
                *(Markup(level) for level in machine_levels)))
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("VALIDITYTIME", (), element("FROM", (), format_time(not_before)),
                element("UNTIL", (), format_time(not_after))),
        element("DESCRIPTOR", (), object_xml("Group-Identity-Credential", id)),
        Markup(issuer),
        *points,
        element("ISSUEDPRINCIPALS", (), principal),
        federation)


def clc_body(*, id: str, issued: datetime, not_before: datetime, not_after: datetime,
             issuer: str, licensing: tuple[str, str],
             extranet_licensing: tuple[str, str] | None, user_object: str,
             clc_key: PublicKey, seal: Sealer, bits_type: EnablingBitsType) -> str:
    """The CLC (MS-RMPR 2.2.9.6): ``issuer`` is the ISSUER's exact text (the SLC's
    principal); ``licensing`` and ``extranet_licensing`` (GUID, URL) the
    License-Acquisition-URL and Extranet-License-Acquisition-URL points; ``user_object``
    the exact text of the RAC principal's OBJECT, copied verbatim; the ISSUE right's
    RANGETIME is ``not_before``–``not_after`` (the RAC's VALIDITYTIME, 3.5.4.2); ``seal``
    seals the CLC private key to the RAC key, bound to the ISSUER. No VALIDITYTIME."""
    points = [distribution_point_xml("License-Acquisition-URL", licensing[0],
                                     name="DRM Server Cluster", address=licensing[1])]
    if extranet_licensing is not None:
        points.append(distribution_point_xml("Extranet-License-Acquisition-URL",
                                             extranet_licensing[0], name="DRM Server Cluster",
                                             address=extranet_licensing[1]))
    right = _issue_right(not_before, not_after, enabling_bits_xml(seal(issuer), bits_type))
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), object_xml("Client-Licensor-Certificate", id)),
        Markup(issuer),
        *points,
        element("ISSUEDPRINCIPALS", (), element("PRINCIPAL", {"internal-id": "1"},
                                                Markup(user_object), public_key_xml(clc_key))),
        element("WORK", (), object_xml("Client-Licensor-Certificate", id),
                element("RIGHTSGROUP", {"name": "Main-Rights"},
                        element("RIGHTSLIST", (), right))))


# --- the enrollment request (MS-RMPR 3.6.4.1.4.1, 3.6.4.2.1.1) ----------------------------


_NS = "{" + ENROLLMENT_NAMESPACE + "}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_comments=True, huge_tree=False)


@dataclass(frozen=True)
class EnrollParameters:
    """An Enroll request's ``EnrollParameters`` (MS-RMPR 3.6.4.1.4.1): the server's public
    key and GUID (CertificatePublicKey), its revocation arrangement (RevocationInformation:
    "StandardRevocation", or "CustomRevocation" with the authorities' keys), and
    EnrolleeInformation — SKU, Version, Name, URL, of which the service requires only the
    Version (3.6.4.1.4.6).

    ``guid`` is written with braces, as XrML IDs are (3.6.4.2.4.1); on the wire the
    schema's ``s1:guid`` type takes it without them.

    ``proof`` is what AuthorizationInformation/SignedDataBase64Encoded carries: an
    X509Information that MS-RMPR says the service ignores (3.6.4.1.4.2). rmslab puts
    there the proof that lets the documentation's offline rule hold — "an exported request
    must reach the enrollment service unchanged; a changed request is refused" (SPEC S-5,
    not MS-RMPR): an RSA PKCS#1 v1.5 signature, with SHA-256, by the key being enrolled,
    over :meth:`signed_text` — every field of the request, one ``name=value`` line each in
    the schema's order. Any change to a field's value breaks it; re-indenting the file
    does not."""

    public_key: PublicKey
    guid: str
    version: str | None
    sku: str | None = None
    name: str | None = None
    url: str | None = None
    revocation_type: str = "StandardRevocation"
    authorities: tuple[PublicKey, ...] = ()
    proof: bytes | None = None

    def signed_text(self) -> bytes:
        """The bytes the proof signs (UTF-8)."""
        lines = [f"RevocationType={self.revocation_type}"]
        lines += [f"aRevocationAuthorityPublicKey={_b64(k.to_pkcs1_der())}"
                  for k in self.authorities]
        lines += [f"aPublicKeyBytes={_b64(self.public_key.to_pkcs1_der())}",
                  f"Guid={self.guid}", f"SKU={self.sku or ''}", f"Version={self.version or ''}",
                  f"Name={self.name or ''}", f"URL={self.url or ''}"]
        return "\n".join(lines).encode("utf-8")

    def signed_by(self, key: PrivateKey) -> "EnrollParameters":
        """These parameters with the proof made by ``key`` (the key being enrolled)."""
        digest = hashlib.sha256(self.signed_text()).digest()
        return EnrollParameters(self.public_key, self.guid, self.version, self.sku, self.name,
                                self.url, self.revocation_type, self.authorities,
                                key.sign_digest(digest, DigestAlgorithm.SHA256))

    def proof_holds(self) -> bool:
        """Whether the proof is a signature by the request's own key over its fields."""
        if self.proof is None:
            return False
        try:
            self.public_key.verify_digest(self.proof, hashlib.sha256(self.signed_text()).digest(),
                                          DigestAlgorithm.SHA256)
        except BadSignatureError:
            return False
        return True

    def children(self, prefix: str) -> str:
        """The four child elements, with ``prefix`` on every name (``""``: none)."""
        def el(name: str, *inner: str | None) -> str:
            tag = f"{prefix}:{name}" if prefix else name
            body = "".join(i for i in inner if i is not None)
            return f"<{tag}>{body}</{tag}>"

        def text(name: str, value: str | None) -> str | None:
            return None if value is None else el(name, _escape(value))
        authorities = (el("aRevocationAuthorities", *(
            el("RevocationAuthorityInformation",
               el("aRevocationAuthorityPublicKey", _b64(k.to_pkcs1_der())))
            for k in self.authorities)) if self.revocation_type == "CustomRevocation" else None)
        return "".join((
            el("AuthorizationInformation",
               text("SignedDataBase64Encoded", _b64(self.proof) if self.proof else None)),
            el("RevocationInformation", el("RevocationType", self.revocation_type),
               authorities),
            el("CertificatePublicKey", el("aPublicKeyBytes", _b64(self.public_key.to_pkcs1_der())),
               el("Guid", self.guid.strip("{}"))),
            el("EnrolleeInformation", text("SKU", self.sku), text("Version", self.version),
               text("Name", self.name), text("URL", self.url))))

    def to_xml(self) -> str:
        """The request file (MS-RMPR 3.6.4.2.1.1): an ASCII ``EnrollParameters`` document
        in the enrollment service's namespace."""
        return (f'<?xml version="1.0"?>\n<EnrollParameters xmlns="{ENROLLMENT_NAMESPACE}">'
                f"{self.children('')}</EnrollParameters>\n")

    @classmethod
    def from_element(cls, element: etree._Element) -> "EnrollParameters":
        """Read EnrollParameters (or an Enroll message's ``oInput``, the same type).
        Raises :class:`~rmslab.errors.StructureError` naming what cannot be read — a
        missing Version is the service's to refuse, not the reader's."""
        def find(parent: etree._Element | None, name: str) -> etree._Element | None:
            return parent.find(_NS + name) if parent is not None else None

        def text(parent: etree._Element | None, name: str) -> str | None:
            found = find(parent, name)
            if found is None or found.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
                return None
            return (found.text or "").strip()

        def key(value: str | None, what: str) -> PublicKey:
            try:
                return PublicKey.from_pem(base64.b64decode(value or "", validate=True))
            except (binascii.Error, ValueError, KeyFormatError):
                raise StructureError(f"{what} is not a base64 RSA PKCS#1 public key") from None

        revocation = find(element, "RevocationInformation")
        certificate = find(element, "CertificatePublicKey")
        enrollee = find(element, "EnrolleeInformation")
        if revocation is None or certificate is None:
            raise StructureError("EnrollParameters lacks RevocationInformation or "
                                 "CertificatePublicKey (MS-RMPR 3.6.4.1.4.1)")
        revocation_type = text(revocation, "RevocationType") or ""
        if revocation_type not in ("StandardRevocation", "CustomRevocation"):
            raise StructureError(f"RevocationType {revocation_type[:40]!r} is neither "
                                 "StandardRevocation nor CustomRevocation (MS-RMPR 3.6.4.1.4.3)")
        holders = find(revocation, "aRevocationAuthorities")
        authorities = tuple(
            key(text(info, "aRevocationAuthorityPublicKey"), "aRevocationAuthorityPublicKey")
            for info in (holders.findall(_NS + "RevocationAuthorityInformation")
                         if holders is not None else ()))
        if revocation_type == "CustomRevocation" and not authorities:
            raise StructureError("CustomRevocation names no revocation authority "
                                 "(MS-RMPR 3.6.4.1.3.2)")
        if revocation_type == "StandardRevocation" and authorities:
            raise StructureError("aRevocationAuthorities MUST be empty with "
                                 "StandardRevocation (MS-RMPR 3.6.4.1.4.3)")
        guid = (text(certificate, "Guid") or "").strip("{}")
        if not guid:
            raise StructureError("CertificatePublicKey has no Guid (MS-RMPR 3.6.4.2.4.1)")
        guid = "{" + guid + "}"  # the wire's s1:guid has no braces; XrML IDs have them
        signed = text(find(element, "AuthorizationInformation"), "SignedDataBase64Encoded")
        proof = None
        if signed:
            try:
                proof = base64.b64decode(signed, validate=True)
            except (binascii.Error, ValueError):
                proof = b""  # present but unreadable: cannot hold
        return cls(key(text(certificate, "aPublicKeyBytes"), "aPublicKeyBytes"), guid,
                   text(enrollee, "Version"), text(enrollee, "SKU"), text(enrollee, "Name"),
                   text(enrollee, "URL"), revocation_type, authorities, proof)

    @classmethod
    def from_xml(cls, text: str) -> "EnrollParameters":
        """Read a request file. Raises :class:`~rmslab.errors.InputError` for what is not
        one (not XML, a DTD, another element)."""
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise InputError("the request file declares a DTD or entities, which an "
                             "EnrollParameters file never has")
        body = text.lstrip("\ufeff")
        if body.startswith("<?xml"):
            body = body[body.find("?>") + 2:]
        try:
            root = etree.fromstring(body.strip().encode("utf-8"), _PARSER)
        except etree.XMLSyntaxError as exc:
            raise InputError(f"the request is not XML ({exc})") from None
        if root.tag != _NS + "EnrollParameters":
            raise InputError(f"the request is a {etree.QName(root).localname}, not an "
                             f"EnrollParameters of {ENROLLMENT_NAMESPACE} (MS-RMPR 3.6.4.2.1.1)")
        return cls.from_element(root)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
