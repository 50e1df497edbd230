"""Publishing: offline with a CLC (P-1…P-6; MS-RMPR 3.8.4.4) and online through
AcquireIssuanceLicense (P-8; MS-RMPR 3.8.4.3, 3.5.4.1), and rights policy templates.

Both start on the author's computer: a fresh content key in a KeyHeader that names the
content cipher — ECB or CBC4K, by default the mode's (ECB in mode 1, CBC4K in mode 2),
either one in either mode (2.2.9.1.13.1) —; the rights data (2.2.9.8) written as an XrML
document of its own and encrypted with the content key; and a publishing license shaped
as MS-RMPR 2.2.9.7 says, whose one issued principal is the licensing server holding the
content key in ENABLINGBITS (2.2.9.1.13) bound to that ISSUEDPRINCIPALS element.

* Offline (3.8.4.4): the CLC must exist (P-1); the server's principal, key and URLs come
  from the CLC (P-4); the computer signs the publishing license with the CLC key (P-3)
  and makes the author's owner license, signed with the CLC key too (P-5). MS-RMPR allows
  the publishing license exactly one principal (2.2.9.1.11), so the author's copy of the
  content key is not a second principal of it (as the documentation's P-4 has it) but
  the owner license's ENABLINGBITS, sealed to the author's RAC key (docs/rules.md, P-4).
* Online (3.8.4.3): the client needs no RAC; it takes the server's principal from the
  SLC chain (GetLicensorCertificate) and sends the unsigned license to
  AcquireIssuanceLicense. The server (:func:`sign_issuance_license`, 3.5.4.1) checks that
  the principal is its own (OBJECT ID and modulus) or a trusted publishing domain's, that
  the enabling bits open and their hash holds, that an official template's signature
  holds; then it regenerates the hash for the ISSUEDPRINCIPALS it writes, sets
  ISSUEDTIME and its License-Acquisition points, signs, and returns the signed chain —
  no owner license: the author licenses the content like anyone, and gets OWNER
  (3.4.4.1).

A template-based license carries the template itself as its rights data, verbatim and
signed, and the template's DESCRIPTOR (2.2.9.8, 3.8.4.3). A server issues publishing
licenses and templates only while its SLC lets it (MS-RMPR 3.1.6.2). Clients keep their
template archive in step with the server: templates the server no longer publishes are
deleted at the next download (MS-RMPR 1.3.3).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from rmslab.actors.client import Client
from rmslab.actors.cluster import Cluster
from rmslab.actors.people import User
from rmslab.crypto.content import ContentCipher, rights_data_cipher
from rmslab.crypto.enabling_bits import (CipherMode, ContentKey, EnablingBitsError,
                                         EnablingBitsHashMismatchError, EnablingBitsType, KeyHeader, open_content_key,
                                         open_enabling_bits, publishing_license_binding,
                                         rebind, seal_content_key)
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import (InputError, NotConnectedError, NotEnrolledError,
                           OnlinePublishingDisabledError, RefusedError, RmslabError,
                           VerificationError)
from rmslab.flows._common import (SERVER_STATE_RULE, InProcessService,
                                  require_not_decommissioned, require_slc_in_force)
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.licenses import (CONTENT_LICENSE_ROOT, UseLicenseRight, descriptor_xml,
                                  encrypted_rights_xml, license_points_xml,
                                  owner_metadata_xml, pl_issued_principals, pl_work_xml,
                                  publishing_license_body, referral_xml, rights_data_text,
                                  template_body, use_license_body, use_license_right)
from rmslab.xrml.model import Principal
from rmslab.xrml.pfile import container_header
from rmslab.xrml.reader import parse
from rmslab.xrml.verify import verify_document
from rmslab.trust import validate_chain
from rmslab.xrml.writer import Markup, element, principal_xml, sign

__all__ = ["Protected", "publish_offline", "publish_online", "OnlineDraft", "draft_online",
           "complete_online", "issue_template",
           "archive_template", "remove_template", "policy_from_template", "download_templates",
           "build_unsigned_license", "sign_issuance_license", "PublishingEndpoint",
           "LocalPublishing", "new_content_key", "seal_to_server", "publishing_license_text", "default_cipher", "licensing_urls",
           "TEMPLATE_REMOVAL_RULE", "ISSUANCE_RULE"]

#: Templates removed on the server are removed from clients (no SPEC ID covers it).
TEMPLATE_REMOVAL_RULE = "MS-RMPR 1.3.3"
#: The rules of AcquireIssuanceLicense docs/rules.md gives no ID of its own (it has P-8).
ISSUANCE_RULE = "MS-RMPR 3.5.4.1"

_LICENSING = "Microsoft.DigitalRightsManagement.Licensing."
_UNSPECIFIED = "Microsoft.DigitalRightsManagement.Utilities.UnspecifiedErrorException"
_NO_MATCHING = _LICENSING + "UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException"
_BAD_TEMPLATE = _LICENSING + "InvalidOfficialRightsTemplateException"
_OFFICIAL = "Microsoft Official Rights Template"


@dataclass(frozen=True)
class Protected:
    """The outcome of protecting content: the license chain attached to the file, the
    owner license kept in the author's store (offline; online there is none: ""), and the
    content ID."""

    publishing_license: str
    owner_license: str
    content_id: str
    trace: Trace


def default_cipher(mode: int) -> CipherMode:
    """The content cipher rmslab writes by default: ECB in mode 1, CBC4K in mode 2 (the
    KeyHeader says which, so readers never infer it from the mode)."""
    return CipherMode.ECB if mode == 1 else CipherMode.CBC4K


def new_content_key(lab: Lab, cipher: CipherMode | None = None) -> ContentKey:
    """A fresh AES-128 content key with the KeyHeader that names ``cipher``."""
    key = lab.random_bytes(16, "content-key")
    chosen = cipher or default_cipher(lab.mode)
    if chosen not in (CipherMode.ECB, CipherMode.CBC4K):
        raise InputError(f"rmslab protects content with ECB or CBC4K, not {chosen.label}")
    return ContentKey(key, KeyHeader.for_key(key, chosen))


def licensing_urls(cluster: Cluster) -> tuple[str, str]:
    """licensingUrl and externalLicensingUrl (MS-RMPR 3.1.1.1.1): the cluster's own
    licensing URL for both — a lab host name is an FQDN that resolves only inside the
    lab."""
    intranet = getattr(cluster, "licensing_url", f"{cluster.url}/licensing")
    extranet = getattr(cluster, "external_licensing_url", intranet)
    return str(intranet), str(extranet)


def _bits_type(lab: Lab) -> EnablingBitsType:
    return EnablingBitsType.for_mode(lab.mode)


def _cipher_of(content: ContentKey) -> ContentCipher:
    return ContentCipher(content.key, content.content_mode)


def seal_to_server(lab: Lab, server: Principal, content: ContentKey) -> Markup:
    """ISSUEDPRINCIPALS with the content key sealed to the server and bound to this very
    element (less its ENABLINGBITS), MS-RMPR 2.2.9.7.4 and 2.2.9.1.13."""
    assert server.public_key is not None
    bits_type = _bits_type(lab)
    bare = pl_issued_principals(server, None, bits_type)
    bits = seal_content_key(content.key, content.cipher, to=server.public_key,
                            bound_to=publishing_license_binding(bare), bits_type=bits_type,
                            random=lab.random_bytes)
    return pl_issued_principals(server, bits, bits_type)


def _template_parts(template: str | None) -> tuple[XrmlDocument | None, Markup | None]:
    """The template's first document and its DESCRIPTOR element, copied verbatim into a
    template-based publishing license (MS-RMPR 3.8.4.3)."""
    if template is None:
        return None, None
    document = parse(template, source="rights policy template")[0]
    if document.body_type != _OFFICIAL:
        raise InputError(f"{document.position} is a {document.kind_name}, not a rights "
                         "policy template")
    return document, Markup(document.element_text("BODY/DESCRIPTOR"))


def _rights_data(lab: Lab, *, content_id: str, policy: RightsPolicy, owner: str, domain: str,
                 referral: Markup, template: XrmlDocument | None) -> str:
    """The rights data (MS-RMPR 2.2.9.8): the template verbatim, or the ad hoc ones."""
    if template is not None:
        return template.text
    return rights_data_text(issued=lab.now(), content_id=content_id, policy=policy,
                            owner=owner, domain=domain, referral=referral)


def _revocation_point(policy: RightsPolicy, template: XrmlDocument | None) -> Markup | None:
    """``WORK/CONDITIONLIST`` with the revocation point (MS-RMPR 2.2.9.7.9): the policy's,
    or the one the template carries."""
    if policy.revocation is not None:
        return policy.revocation_xml()
    if template is not None:
        found = template.element.find("BODY/WORK/CONDITIONLIST")
        if found is not None and found.find("REFRESH") is not None:
            return Markup(template.element_text(found))
    return None


def _license_parts(lab: Lab, user: User, policy: RightsPolicy, server: Principal,
                   content: ContentKey, template: str | None
                   ) -> tuple[Markup | None, Markup, Markup, Markup, Markup, str]:
    """What every publishing license of this content holds, offline and online: the
    DESCRIPTOR, the sealed ISSUEDPRINCIPALS, the Referral-Info point, WORK, the encrypted
    rights data — and the content ID."""
    template_doc, descriptor = _template_parts(template)
    content_id = lab.guid("content")
    license_id = lab.guid("license")
    if descriptor is None:
        descriptor = descriptor_xml(license_id)
    referral = referral_xml(lab.guid("point"), f"mailto:{user.email}", user.email)
    rights = _rights_data(lab, content_id=content_id, policy=policy, owner=user.email,
                          domain=user.domain, referral=referral, template=template_doc)
    encrypted = rights_data_cipher(content.key).encrypt(rights.encode("utf-8"))
    work = pl_work_xml(content_id, owner_metadata_xml(user.email),
                       _revocation_point(policy, template_doc))
    return (descriptor, seal_to_server(lab, server, content), referral, work,
            encrypted_rights_xml(encrypted), content_id)


def publishing_license_text(lab: Lab, *, issuer: Principal, server: Principal,
                            license_id: str, content_id: str, owner: str,
                            policy: RightsPolicy, intranet: str,
                            extranet: str | None = None, issued: datetime | None = None,
                            content: ContentKey | None = None) -> str:
    """An unsigned publishing license BODY in the shape of MS-RMPR 2.2.9.7, for documents
    built by hand (the teaching chain, samples broken on purpose): the content key sealed
    to ``server`` and bound, the rights data encrypted, both License-Acquisition points
    and the owner's Referral-Info."""
    content = content or new_content_key(lab)
    when = issued or lab.now()
    referral = referral_xml(lab.guid("point"), f"mailto:{owner}", owner)
    rights = rights_data_text(issued=when, content_id=content_id, policy=policy, owner=owner,
                              domain=owner.partition("@")[2] or None, referral=referral)
    return publishing_license_body(
        issued=when, descriptor=descriptor_xml(license_id), issuer=issuer,
        license_points=license_points_xml((lab.guid("point"), intranet),
                                          (lab.guid("point"), extranet or intranet)),
        issued_principals=seal_to_server(lab, server, content), referral=referral,
        work=pl_work_xml(content_id, owner_metadata_xml(owner)),
        authenticated_data=[encrypted_rights_xml(
            rights_data_cipher(content.key).encrypt(rights.encode("utf-8")))])


def _write_protected(sink: BinaryIO, chain: str, cipher: ContentCipher,
                     content: bytes | BinaryIO, *, extension: str,
                     original_size: int | None) -> int:
    """The container (P-6): header with the license chain, then the content, encrypted as
    it streams. Returns the content's size."""
    sink.write(container_header(chain, extension=extension, original_size=original_size))
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    return cipher.encrypt_stream(source, sink)


def _cipher_text(content: ContentKey) -> str:
    return f"AES-{content.header.key_bits}-{content.cipher.label.split(' ')[0]}"


# --- offline (3.8.4.4) -------------------------------------------------------------------------


def _owner_license(lab: Lab, *, clc: XrmlDocument, clc_key: PrivateKey, rac: XrmlDocument,
                   pl: XrmlDocument, content: ContentKey) -> str:
    """The author's owner license made offline (P-5; MS-RMPR 3.8.4.4 and the real ones,
    section 9 of the design note): issued by the CLC's principal, to the author's RAC
    principal (copied verbatim), one OWNER right whose ACCESS holds the content key sealed
    to the RAC key and bound to this license's ISSUER; signed with the CLC key."""
    bits_type = _bits_type(lab)
    issuer = principal_xml(clc.principals[0].identity(with_levels=False), tag="ISSUER")
    account = rac.principals[0].public_key
    assert account is not None
    bits = seal_content_key(content.key, content.cipher, to=account, bound_to=issuer,
                            bits_type=bits_type, random=lab.random_bytes)
    body = use_license_body(
        id=lab.guid("license"), issued=lab.now(), issuer=issuer,
        holder=Markup(rac.element_text("BODY/ISSUEDPRINCIPALS/PRINCIPAL")),
        referral=_copied(pl, "Referral-Info"), content_id=pl.content_id or "",
        owner=_copied_metadata(pl), revocation=None,
        rights=[use_license_right(UseLicenseRight("OWNER"), bits, bits_type,
                                  owner_license=True)])
    return sign(body, clc_key, lab.digest_algorithm, root_attributes=CONTENT_LICENSE_ROOT)


def _copied(pl: XrmlDocument, point_type: str) -> Markup | None:
    """A DISTRIBUTIONPOINT of the publishing license, copied verbatim."""
    for point in pl.element.iterfind("BODY/DISTRIBUTIONPOINT"):
        obj = point.find("OBJECT")
        if obj is not None and obj.get("type") == point_type:
            return Markup(pl.element_text(point))
    return None


def _copied_metadata(pl: XrmlDocument) -> Markup | None:
    """The publishing license's WORK/METADATA (its OWNER), copied verbatim."""
    found = pl.element.find("BODY/WORK/METADATA")
    return Markup(pl.element_text(found)) if found is not None else None


def publish_offline(client: Client, user: User, policy: RightsPolicy,
                    content: bytes | BinaryIO, sink: BinaryIO, *, extension: str = ".txt",
                    original_size: int | None = None, template: str | None = None,
                    cipher: CipherMode | None = None) -> Protected:
    """Protect content on ``client`` without the server (P-1…P-6; MS-RMPR 3.8.4.4); the
    protected file is written to ``sink``. ``template`` (a template chain from the user's
    archive) makes a template-based license; ``cipher`` chooses the content cipher."""
    lab = client.lab
    trace = Trace(f"Offline publishing by {user.email} on {client.name}")
    trace.step(user.email, "makes a document and states its rights and conditions", client.name,
               note="; ".join(policy.describe()))
    trace.check("P-2", "the author stated rights and conditions",
                bool(policy.grants) or template is not None,
                f"{len(policy.grants)} grant(s)" if template is None else "a template's")
    account = client.account(user.name)
    clc_chain = account.clc_text
    trace.check("P-1", f"{user.email} holds a CLC obtained while connected",
                clc_chain is not None,
                "" if clc_chain else "request a CLC while connected to the root cluster")
    if clc_chain is None:
        raise NotEnrolledError(f"{user.email} has no client licensor certificate on "
                               f"{client.name}: obtain one while connected", spec_id="P-1",
                               trace=trace)
    clc = parse(clc_chain)[0]
    clc_key = client.clc_key(user.name)
    server = clc.issuer
    assert server is not None and server.public_key is not None
    points = [(d.type, d.address) for d in clc.distribution_points
              if d.type in ("License-Acquisition-URL", "Extranet-License-Acquisition-URL")
              and d.address]
    intranet = next((a for t, a in points if t == "License-Acquisition-URL"),
                    (server.url or "") + "/licensing")
    extranet = next((a for t, a in points if t == "Extranet-License-Acquisition-URL"),
                    intranet)
    content_key = new_content_key(lab, cipher)
    descriptor, principals, referral, work, rights, content_id = _license_parts(
        lab, user, policy, server.identity(), content_key, template)
    trace.step(client.name, "draws a fresh content key and takes the server's key and URLs "
                            "from the CLC",
               keys=[f"content key ({_cipher_text(content_key)}) for content {content_id}",
                     f"server key {server.public_key.short_fingerprint} (CLC issuer)",
                     f"CLC key {clc_key.public.short_fingerprint}"])
    body = publishing_license_body(
        issued=lab.now(), descriptor=descriptor,
        issuer=clc.principals[0].identity(with_levels=False),
        license_points=license_points_xml((lab.guid("point"), intranet),
                                          (lab.guid("point"), extranet)),
        issued_principals=principals, referral=referral, work=work,
        authenticated_data=[rights])
    pl = sign(body, clc_key, lab.digest_algorithm)
    trace.step(client.name, "issues and signs the publishing license with the CLC key",
               documents=[DocumentRef("publishing license", pl, "Microsoft Rights Label")],
               keys=[f"signed with the CLC key {clc_key.public.short_fingerprint}"])
    trace.check("P-3", "the publishing license is signed with the CLC key", True,
                "its ISSUER is the CLC's principal")
    trace.check("P-4", "the license holds the content key sealed to the server key and the "
                       "server's URLs, all from the CLC (the author's copy is the owner "
                       "license's: MS-RMPR allows one principal)", True,
                f"server {server.name} at {intranet}")
    pl_doc = parse(pl)[0]
    owner_license = _owner_license(lab, clc=clc, clc_key=clc_key, rac=account.rac, pl=pl_doc,
                                   content=content_key)
    account.licenses[content_id] = owner_license + clc_chain
    owner_doc = parse(owner_license)[0]
    account_key = client.account_key(user.name)
    try:
        reopened = open_content_key(
            _bits_in(owner_doc), account_key, bound_to=owner_doc.element_text("BODY/ISSUER"),
            bits_type=_bits_type(lab))
        opens = reopened.key == content_key.key
    except EnablingBitsError:
        opens = False
    trace.step(client.name, "makes the owner license: the content key sealed to the author's "
                            "account key, signed with the CLC key",
               documents=[DocumentRef("owner license", owner_license, "Content-License")],
               keys=[f"account key {account_key.public.short_fingerprint}"])
    trace.check("P-5", "the owner license lets the author use the content offline", opens,
                "its enabling bits open with the author's account key")
    chain = pl + clc_chain
    size = _write_protected(sink, chain, _cipher_of(content_key), content,
                            extension=extension, original_size=original_size)
    trace.step("application", f"encrypts the content ({size} bytes) with the content key and "
                              "attaches the publishing license", client.name)
    trace.check("P-6", "the file is encrypted with the content key and carries the "
                       "publishing license", True,
                f"{_cipher_text(content_key)} content (the cipher the KeyHeader names), "
                f"license chain of {len(parse(chain))} documents")
    return Protected(chain, account.licenses[content_id], content_id, trace)


def _bits_in(document: XrmlDocument) -> bytes:
    """The raw bits of the first ENABLINGBITS of a document (b"" when it holds none)."""
    value = document.element.find(".//ENABLINGBITS/VALUE")
    if value is None or not (value.text or "").strip():
        return b""
    try:
        return base64.b64decode(value.text or "", validate=True)
    except ValueError:
        return b""


# --- online (3.8.4.3 and 3.5.4.1) ------------------------------------------------------------


class PublishingEndpoint(Protocol):
    """A cluster's publishing service: in process, or over SOAP
    (:class:`rmslab.service.RemotePublishingService`)."""

    name: str

    @property
    def server_name(self) -> str: ...

    @property
    def reachable(self) -> bool: ...

    def licensor_certificate(self, *, trace: Trace, to: str) -> str: ...

    def issuance_license(self, unsigned: str, *, trace: Trace, to: str) -> str: ...


class LocalPublishing(InProcessService):
    """A cluster's publishing service, called in process."""

    def licensor_certificate(self, *, trace: Trace, to: str) -> str:
        """GetLicensorCertificate (MS-RMPR 3.7.4.1): the SLC chain, refused by a
        decommissioned cluster."""
        require_not_decommissioned(self.cluster, trace, "GetLicensorCertificate")
        if self.cluster.slc_text is None:
            raise NotEnrolledError(f"{self.cluster.name} has no SLC yet", spec_id="E-1",
                                   trace=trace)
        return self.cluster.slc_text

    def issuance_license(self, unsigned: str, *, trace: Trace, to: str) -> str:
        return sign_issuance_license(self.cluster, unsigned, trace=trace, to=to)


def build_unsigned_license(lab: Lab, user: User, slc_chain: str, policy: RightsPolicy, *,
                           template: str | None = None, cipher: CipherMode | None = None
                           ) -> tuple[str, ContentKey, str]:
    """The client's side of online publishing (MS-RMPR 3.8.4.3): the unsigned publishing
    license — its issued principal copied from the SLC, the content key sealed to it and
    bound to it —, the content key and the content ID. No RAC is needed. The ISSUER and
    License-Acquisition points are the server's to write."""
    slc = parse(slc_chain, source="server licensor certificate")[0]
    if slc.kind != "Server-Licensor-Certificate" or not slc.principals:
        raise InputError(f"the licensor certificate is a {slc.kind_name}, not an SLC")
    server = slc.principals[0].identity()
    content_key = new_content_key(lab, cipher)
    descriptor, principals, referral, work, rights, content_id = _license_parts(
        lab, user, policy, server, content_key, template)
    body = publishing_license_body(issued=lab.now(), descriptor=descriptor, issuer=server,
                                   license_points=(), issued_principals=principals,
                                   referral=referral, work=work, authenticated_data=[rights])
    return element("XrML", (("xmlns", ""), ("version", "1.2")), Markup(body)), content_key, \
        content_id


def _refuse(trace: Trace, what: str, reason: str, exception: str,
            spec_id: str = ISSUANCE_RULE) -> RefusedError:
    trace.check(spec_id, what, False, reason)
    return RefusedError(reason, spec_id=spec_id, trace=trace, exception_name=exception)


def _server_keys(cluster: Cluster) -> list[tuple[PrivateKey, str]]:
    keys = [(cluster.key, cluster.name)]
    keys.extend((key, f"trusted publishing domain {name}")
                for name, key in sorted(cluster.trusted_domains.items()))
    return keys


def _check_official_template(cluster: Cluster, rights_text: str, trace: Trace) -> None:
    """3.5.4.1: rights data that is an official template must carry a valid signature —
    of this server or of a trusted publishing domain — else
    InvalidOfficialRightsTemplateException."""
    try:
        document = parse(rights_text, source="rights data")[0]
    except RmslabError as exc:
        raise _refuse(trace, "the rights data can be read", str(exc), _UNSPECIFIED) from None
    if document.body_type != _OFFICIAL:
        return
    keys = {key.public for key, _ in _server_keys(cluster)}
    try:
        verify_document(document)
        trusted = document.issuer_key in keys
        why = ("signed by this server" if trusted else
               "signed by a server that is neither this one nor a trusted publishing domain")
    except (VerificationError, RmslabError) as exc:
        trusted, why = False, str(exc)
    trace.check(ISSUANCE_RULE, "the official rights template in the rights data is valid",
                trusted, why)
    if not trusted:
        raise RefusedError(f"the official rights template is not valid: {why}",
                           spec_id=ISSUANCE_RULE, trace=trace, exception_name=_BAD_TEMPLATE)


def sign_issuance_license(cluster: Cluster, unsigned: str, *, trace: Trace, to: str) -> str:
    """AcquireIssuanceLicense (P-8; MS-RMPR 3.5.4.1): validate the unsigned publishing
    license, regenerate its enabling bits' hash for the ISSUEDPRINCIPALS the server
    writes, set ISSUEDTIME and the License-Acquisition points, keep Referral-Info, sign.
    Returns the signed publishing license followed by the SLC chain. A refusal is a
    :class:`~rmslab.errors.RefusedError` carrying the exception name 3.5.4.1 gives it:
    first ClusterDecommissionedException from a decommissioned cluster (which answers
    nothing), then OnlinePublishingDisabledException when onlinePublishingEnabled is
    false (3.1.1.1.1) — offline publishing with a CLC is not affected."""
    lab = cluster.lab
    require_not_decommissioned(cluster, trace, "AcquireIssuanceLicense")
    if not cluster.online_publishing_enabled:
        trace.check(SERVER_STATE_RULE, f"{cluster.name} publishes online", False,
                    "onlinePublishingEnabled is false: publish offline with a CLC")
        raise OnlinePublishingDisabledError(
            f"online publishing is disabled on {cluster.name}: publish offline with a client "
            "licensor certificate", spec_id=SERVER_STATE_RULE, trace=trace)
    require_slc_in_force(cluster, trace, "a publishing license")
    try:
        document = parse(unsigned, source="unsigned issuance license")[0]
    except RmslabError as exc:
        raise _refuse(trace, "the unsigned license can be read", str(exc), _UNSPECIFIED,
                      "P-8") from None
    if document.body_type != "Microsoft Rights Label":
        raise _refuse(trace, "the request carries an unsigned publishing license",
                      f"it is a {document.kind_name}", _UNSPECIFIED, "P-8")
    principals = document.element.findall("BODY/ISSUEDPRINCIPALS/PRINCIPAL")
    bits_elements = document.element.findall("BODY/ISSUEDPRINCIPALS/PRINCIPAL/ENABLINGBITS")
    principal = document.principals[0] if len(principals) == 1 else None
    if (principal is None or len(bits_elements) != 1 or principal.public_key is None
            or principal.object_type != "MS-DRM-Server" or not principal.id):
        raise _refuse(trace, "ISSUEDPRINCIPALS is as MS-RMPR 2.2.9.7.4 says",
                      "it must hold exactly one MS-DRM-Server principal with an ID, a key "
                      "and one ENABLINGBITS", _UNSPECIFIED)
    own = cluster.principal
    candidates: list[tuple[PrivateKey, str]] = []
    if principal.id == own.id and principal.public_key == own.public_key:
        candidates.append((cluster.key, cluster.name))
    candidates.extend((k, s) for k, s in _server_keys(cluster)[1:]
                      if k.public == principal.public_key)
    trace.check(ISSUANCE_RULE, f"the issued principal is {cluster.name} or a trusted "
                               "publishing domain (OBJECT ID and modulus)", bool(candidates),
                f"it names {principal.label}, key {principal.public_key.short_fingerprint}")
    if not candidates:
        raise RefusedError(f"the unsigned license's issued principal {principal.label} is not "
                           f"{cluster.name} nor a trusted publishing domain",
                           spec_id=ISSUANCE_RULE, trace=trace, exception_name=_NO_MATCHING)
    key, source = candidates[0]
    bits_type_name = bits_elements[0].get("type", "")
    try:
        bits_type = EnablingBitsType.from_attribute(bits_type_name)
        raw = base64.b64decode(bits_elements[0].findtext("VALUE") or "", validate=True)
        client_binding = publishing_license_binding(
            document.element_text("BODY/ISSUEDPRINCIPALS"))
        content = open_content_key(raw, key, bound_to=client_binding, bits_type=bits_type)
    except EnablingBitsError as exc:
        # a DES session key has its own fault; any other bits that do not hold are "not
        # valid" — EnablingBitsHashDoesNotMatchException, as 3.5.4.1's table describes it
        name = exc.exception_name or EnablingBitsHashMismatchError.exception_name or ""
        trace.check(ISSUANCE_RULE, "the enabling bits open and their hash holds", False,
                    str(exc))
        raise RefusedError(f"the enabling bits are not valid: {exc}", spec_id=ISSUANCE_RULE,
                           trace=trace, exception_name=name) from None
    except ValueError as exc:
        raise _refuse(trace, "the enabling bits can be read", str(exc), _UNSPECIFIED) from None
    trace.check(ISSUANCE_RULE, "the enabling bits open and their hash holds", True,
                f"{bits_type.hash_name} of ISSUEDPRINCIPALS; opened with the key of {source}; "
                f"content cipher {content.cipher.label}")
    encrypted = document.element.findtext("BODY/AUTHENTICATEDDATA[@id='Encrypted-Rights-Data']")
    try:
        rights_text = rights_data_cipher(content.key).decrypt(
            base64.b64decode(encrypted or "", validate=True)).decode("utf-8")
    except (RmslabError, ValueError) as exc:
        raise _refuse(trace, "the rights data decrypts with the content key", str(exc),
                      _UNSPECIFIED) from None
    _check_official_template(cluster, rights_text, trace)
    # the final ISSUEDPRINCIPALS, as this server writes it, and the hash regenerated for it
    final_bare = pl_issued_principals(principal.identity(), None, bits_type)
    rebound = rebind(raw, key, bound_to=client_binding,
                     now_bound_to=publishing_license_binding(final_bare), bits_type=bits_type)
    intranet, extranet = licensing_urls(cluster)

    def verbatim(path: str) -> list[Markup]:
        return [Markup(document.element_text(e)) for e in document.element.iterfind(path)]
    validity = document.element.find("BODY/VALIDITYTIME")
    descriptor = document.element.find("BODY/DESCRIPTOR")
    body = element(
        "BODY", (("type", "Microsoft Rights Label"), ("version", "3.0")),
        element("ISSUEDTIME", (), _format(lab)),
        Markup(document.element_text(validity)) if validity is not None else None,
        Markup(document.element_text(descriptor)) if descriptor is not None else None,
        principal_xml(own, tag="ISSUER"),
        *license_points_xml((lab.guid("point"), intranet), (lab.guid("point"), extranet)),
        pl_issued_principals(principal.identity(), rebound, bits_type),
        *(m for m in [_copied(document, "Referral-Info")] if m is not None),
        *verbatim("BODY/WORK"), *verbatim("BODY/AUTHENTICATEDDATA"),
        *verbatim("BODY/POLICYLIST"))
    signed = sign(body, cluster.key, lab.digest_algorithm)
    assert cluster.slc_text is not None
    trace.step(cluster.first_server.name, "signs the publishing license: ISSUEDTIME now, its "
                                          "License-Acquisition points, the enabling bits' "
                                          "hash regenerated", to,
               documents=[DocumentRef("publishing license", signed, "Microsoft Rights Label")],
               keys=[f"signed with the cluster key {cluster.key.public.short_fingerprint}"])
    trace.check("P-8", f"{cluster.name} signs the publishing license and returns it with its "
                       "SLC chain", True, "no owner license: the author licenses the content "
                                          "like anyone (MS-RMPR 3.5.4.1)")
    return signed + cluster.slc_text


def _format(lab: Lab) -> str:
    from rmslab.xrml.model import format_time
    return format_time(lab.now())


@dataclass(frozen=True)
class OnlineDraft:
    """What the client has made before the server signs (MS-RMPR 3.8.4.3): the unsigned
    publishing license, the content key sealed in it (kept to encrypt the content) and
    the content ID. :func:`draft_online` makes it, :func:`complete_online` finishes."""

    unsigned: str
    content_key: ContentKey
    content_id: str
    trace: Trace


def draft_online(endpoint: PublishingEndpoint, client: Client, user: User,
                 policy: RightsPolicy, *, slc_chain: str | None = None,
                 trace: Trace | None = None, template: str | None = None,
                 cipher: CipherMode | None = None) -> OnlineDraft:
    """The client's part of online publishing before the server signs (P-8; MS-RMPR
    3.8.4.3): the server's SLC chain — asked for (GetLicensorCertificate), or
    ``slc_chain`` when the caller already has it —, then the unsigned license with a new
    content key sealed to that server. Draws the content key and IDs from the client's
    lab."""
    trace = trace or Trace(f"Online publishing by {user.email} through {endpoint.name}")
    reachable = client.connected and endpoint.reachable
    trace.step(client.name, "asks the server to publish", endpoint.server_name,
               note="; ".join(policy.describe()))
    trace.check("P-8", f"{endpoint.name} is reachable", reachable)
    if not reachable:
        raise NotConnectedError(f"{client.name} cannot reach {endpoint.name}: publish offline "
                                "with a CLC", spec_id="P-8", trace=trace)
    if slc_chain is None:
        slc_chain = endpoint.licensor_certificate(trace=trace, to=client.name)
    unsigned, content_key, content_id = build_unsigned_license(
        client.lab, user, slc_chain, policy, template=template, cipher=cipher)
    trace.step(client.name, "builds the unsigned publishing license: the server's principal "
                            "from its SLC, the content key sealed to it", endpoint.server_name,
               documents=[DocumentRef("unsigned publishing license", unsigned,
                                      "Microsoft Rights Label")],
               keys=[f"content key ({_cipher_text(content_key)}) for content {content_id}"])
    return OnlineDraft(unsigned, content_key, content_id, trace)


def complete_online(endpoint: PublishingEndpoint, client: Client, draft: OnlineDraft,
                    content: bytes | BinaryIO, sink: BinaryIO, *, extension: str = ".txt",
                    original_size: int | None = None) -> Protected:
    """The rest of online publishing: the server signs the draft (AcquireIssuanceLicense,
    MS-RMPR 3.5.4.1), and the content is encrypted with the draft's content key into
    ``sink``, the signed license attached. Draws nothing from the lab."""
    trace = draft.trace
    try:
        chain = endpoint.issuance_license(draft.unsigned, trace=trace, to=client.name)
    except RefusedError as exc:
        exc.trace = exc.trace or trace
        raise
    size = _write_protected(sink, chain, _cipher_of(draft.content_key), content,
                            extension=extension, original_size=original_size)
    trace.step("application", f"encrypts the content ({size} bytes) and attaches the license",
               client.name)
    trace.check("P-8", "online publishing yields the same protected-file format", True,
                "a .pfile container with the license chain and the encrypted content")
    return Protected(chain, "", draft.content_id, trace)


def publish_online(cluster: Cluster | PublishingEndpoint, client: Client, user: User,
                   policy: RightsPolicy, content: bytes | BinaryIO, sink: BinaryIO, *,
                   extension: str = ".txt", original_size: int | None = None,
                   template: str | None = None, cipher: CipherMode | None = None) -> Protected:
    """Online publishing (P-8; MS-RMPR 3.8.4.3): the client takes the server's SLC chain,
    builds the unsigned license and has the server sign it (AcquireIssuanceLicense) — in
    process, or over SOAP when ``cluster`` is a remote endpoint. The protected file has
    the same format as offline; no owner license is made. (:func:`draft_online` and
    :func:`complete_online`, one after the other.)"""
    endpoint = LocalPublishing(cluster) if isinstance(cluster, Cluster) else cluster
    draft = draft_online(endpoint, client, user, policy, template=template, cipher=cipher)
    return complete_online(endpoint, client, draft, content, sink, extension=extension,
                           original_size=original_size)


def issue_template(cluster: Cluster, name: str, description: str,
                   policy: RightsPolicy) -> str:
    """A rights policy template signed by the cluster, with its SLC chain, published for
    distribution (publishedTemplates). A template of that name the cluster holds already,
    published or archived, is edited: the new one keeps its GUID, so everything published
    from it is licensed with the new rights (MS-RMPR 3.4.4.1) and clients fetch it again
    (its hash changed, 3.4.4.2). Refused with :class:`~rmslab.errors.SlcExpiredError` when
    the SLC no longer lets the cluster issue (MS-RMPR 3.1.6.2)."""
    lab = cluster.lab
    require_slc_in_force(cluster, Trace(f"{cluster.name} issues the template {name}"),
                         "a rights policy template")
    existing = cluster.templates.get(name) or cluster.archived_templates.get(name)
    template_id = ((parse(existing)[0].id if existing is not None else None)
                   or lab.guid("template"))
    body = template_body(id=template_id, issued=lab.now(), issuer=cluster.principal,
                         name=name, description=description,
                         publishing_point=(lab.guid("point"), licensing_urls(cluster)[0]),
                         policy=policy)
    assert cluster.slc_text is not None
    text = sign(body, cluster.key, lab.digest_algorithm) + cluster.slc_text
    cluster.templates[name] = text
    cluster.archived_templates.pop(name, None)
    return text


def archive_template(cluster: Cluster, name: str) -> Trace:
    """The administrator removes a template from distribution: it moves from the published
    templates to the archived ones, which the server still uses to evaluate publishing
    licenses but no longer sends to clients (MS-RMPR 3.1.1.1.1 publishedTemplates and
    archivedTemplates). Clients delete it at their next download (MS-RMPR 1.3.3)."""
    trace = Trace(f"{cluster.name} stops distributing the template {name}")
    text = cluster.templates.pop(name, None)
    if text is None:
        trace.check(TEMPLATE_REMOVAL_RULE, f"{cluster.name} publishes a template {name}", False,
                    f"it publishes {', '.join(sorted(cluster.templates)) or 'none'}")
        raise RefusedError(f"{cluster.name} publishes no template {name!r}",
                           spec_id=TEMPLATE_REMOVAL_RULE, trace=trace)
    cluster.archived_templates[name] = text
    trace.step(cluster.first_server.name, f"archives the template {name}: no longer "
                                          "distributed, still used for licensing",
               documents=[DocumentRef(f"template {name}", parse(text)[0].text,
                                      "Microsoft Official Rights Template")])
    return trace


def remove_template(cluster: Cluster, name: str) -> Trace:
    """The administrator deletes a template altogether, published or archived: the server
    no longer distributes it, and content published from it is licensed from its own
    publishing license again (MS-RMPR 3.1.1.1.1, 3.4.4.1). Archive a template instead to
    keep its rights in force."""
    trace = Trace(f"{cluster.name} deletes the template {name}")
    text = cluster.templates.pop(name, None) or cluster.archived_templates.pop(name, None)
    trace.check(TEMPLATE_REMOVAL_RULE, f"{cluster.name} holds a template {name}",
                text is not None, "deleted: no longer distributed, no longer used for "
                                  "licensing" if text else
                f"it holds {', '.join(sorted({*cluster.templates, *cluster.archived_templates})) or 'none'}")
    if text is None:
        raise RefusedError(f"{cluster.name} holds no template {name!r}",
                           spec_id=TEMPLATE_REMOVAL_RULE, trace=trace)
    trace.step(cluster.first_server.name, f"deletes the template {name}")
    return trace


def policy_from_template(template_text: str) -> RightsPolicy:
    """The rights a template grants (the template's chain is checked by the caller): its
    grants — the OWNER right of the internal principal "Owner", which every template
    writes first, left out —, its expiry and its revocation point."""
    document = parse(template_text)[0]
    work = document.element.find("BODY/WORK")
    if work is None or work.find("RIGHTSGROUP/RIGHTSLIST") is None:
        from rmslab.errors import StructureError
        raise StructureError(f"{document.position}: the template grants no rights")
    return RightsPolicy.from_work(work, document.position)


def download_templates(cluster: Cluster, client: Client, user: User, *,
                       anchor: PublicKey) -> Trace:
    """The client brings the user's template archive in step with the cluster (MS-RMPR
    1.3.3): it asks which templates the cluster publishes — their GUIDs and hashes,
    AcquireTemplateInformation (3.4.4.2) — deletes the ones of this cluster it holds that
    are no longer published, and fetches the missing and changed ones, AcquireTemplates
    (3.4.4.3). Each fetched template must verify up to the root — templates are issued by
    an RMS server (D-5) — with validity at issuance, so a template stays good after the SLC
    it was issued under is renewed and expires."""
    trace = Trace(f"{client.name} downloads templates from {cluster.name} for {user.email}")
    trace.step(client.name, "asks for the rights policy templates", cluster.first_server.name)
    reachable = client.connected and any(s.connected for s in cluster.servers)
    trace.check("D-4", f"{cluster.name} is reachable for the template download", reachable)
    if not reachable:
        raise NotConnectedError(f"{client.name} cannot reach {cluster.name}", spec_id="D-4",
                                trace=trace)
    require_not_decommissioned(cluster, trace, "AcquireTemplateInformation")  # 3.4.4.2
    account = client.account(user.name)
    now = client.lab.now()
    published = {name: parse(text, source=f"template {name}")
                 for name, text in sorted(cluster.templates.items())}
    offered = {(chain[0].id, _template_hash(chain[0])) for chain in published.values()}
    server_key = cluster.key.public
    for name, text in sorted(account.templates.items()):
        held = parse(text, source=f"template {name}")[0]
        if (held.issuer_key != server_key or name in published
                or held.id in {guid for guid, _ in offered}):
            continue  # another server's, replaced below, or still published
        del account.templates[name]
        trace.check(TEMPLATE_REMOVAL_RULE, f"the template {name} is no longer published by "
                                           f"{cluster.name}: deleted from the archive", True,
                    f"its GUID {held.id} is not among the {len(offered)} the server lists")
    for name, chain in published.items():
        held_text = account.templates.get(name)
        if held_text is not None:
            held = parse(held_text, source=f"template {name}")[0]
            if (held.id, _template_hash(held)) == (chain[0].id, _template_hash(chain[0])):
                continue  # the same template, unchanged
        try:
            validate_chain(chain, anchor, at=now)
        except VerificationError as exc:
            trace.check("D-5", f"the template {name} is issued by an RMS server", False, str(exc))
            continue
        account.templates[name] = cluster.templates[name]
        trace.check("D-5", f"the template {name} is issued by an RMS server", True,
                    "it verifies up to the root")
    trace.step(cluster.first_server.name, f"sends {len(account.templates)} template(s)",
               client.name, documents=[DocumentRef(f"template {n}", parse(t)[0].text,
                                                   "Microsoft Official Rights Template")
                                       for n, t in sorted(account.templates.items())])
    return trace


def _template_hash(template: XrmlDocument) -> str:
    """What AcquireTemplateInformation lists beside a template's GUID: the VALUE of the
    DIGEST of its SIGNATURE (MS-RMPR 3.4.4.2.3.2)."""
    digest = template.signature.digest_value if template.signature else None
    return digest.hex() if digest else ""
