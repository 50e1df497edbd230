"""The documents of publishing and licensing, as XrML 1.2 BODY texts, in the shapes of
MS-RMPR 2.2.9.7–2.2.9.10 and in the element order of the real documents
(docs/wire-format.md; SPEC P-3…P-5, P-8, L-1).

* Publishing license (``Microsoft Rights Label``, 2.2.9.7): ISSUEDTIME, an optional
  DESCRIPTOR, the ISSUER (the CLC's principal offline, the server's online), the intranet
  and extranet License-Acquisition points, ISSUEDPRINCIPALS with exactly one principal —
  the licensing server, holding the content key in its ENABLINGBITS (2.2.9.1.11,
  2.2.9.7.4) —, the author's Referral-Info point, WORK (the content's ID, its OWNER and
  an optional revocation point) and ``AUTHENTICATEDDATA id="Encrypted-Rights-Data"``.
* Encrypted rights data (``Microsoft Rights Template``, 2.2.9.8): an XrML document of its
  own, encrypted with the content key; for a template-based license, the template itself
  (``Microsoft Official Rights Template``, copied verbatim, 2.2.9.8).
* Use license (``Content-License``, 2.2.9.9): ``purpose="Content-License"`` on the XrML
  root, the issuer, the RAC's principal copied verbatim, the Referral-Info and OWNER
  copied from the publishing license, and one RIGHT per granted right, each holding the
  content key in ``CONDITIONLIST/ACCESS/PRINCIPAL/ENABLINGBITS`` with its own time
  conditions (no VALIDITYTIME). An owner license made offline (3.8.4.4) writes its one
  OWNER right as the real ones do: ACCESS directly in the RIGHT, no CONDITIONLIST.
* Rights policy template (``Microsoft Official Rights Template``, 2.2.9.10): no version
  attribute, the ``LCID …:NAME …:DESCRIPTION …;`` NAME, the Publishing-URL point, the
  OWNER right of the internal principal "Owner" first.

Every ENABLINGBITS element is written by :func:`enabling_bits_xml`, its type by the
cryptographic mode (``sealed-key`` / ``sealed-key-v2``, MS-RMPR 3.1.4.7); the bits
themselves are :mod:`rmslab.crypto.enabling_bits`'.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from rmslab.crypto.enabling_bits import EnablingBitsType
from rmslab.rights import RightsPolicy
from rmslab.xrml.model import Principal, format_time
from rmslab.xrml.writer import (Markup, distribution_point_xml, element, principal_xml,
                                rangetime_xml)

if TYPE_CHECKING:
    from rmslab.crypto.enabling_bits import ContentKey
    from rmslab.crypto.rsa import PrivateKey
    from rmslab.xrml.document import XrmlDocument

__all__ = ["publishing_license_body", "pl_issued_principals", "descriptor_xml",
           "license_points_xml", "referral_xml", "owner_metadata_xml", "pl_work_xml",
           "encrypted_rights_xml", "enabling_bits_xml", "exclusion_policy_xml",
           "rights_data_text", "use_license_body", "use_license_right", "template_body",
           "lcid_name", "read_lcid_name", "UseLicenseRight", "CONTENT_LICENSE_ROOT",
           "LICENSE_POINT_NAME", "license_bits", "license_content_key"]

#: The XrML root of every use license (all the real ones carry ``purpose``).
CONTENT_LICENSE_ROOT = (("xmlns", ""), ("version", "1.2"), ("purpose", "Content-License"))
#: The NAME of License-Acquisition points (MS-RMPR 2.2.9.7.3).
LICENSE_POINT_NAME = "DRM Server Cluster"


# --- building blocks ------------------------------------------------------------------------


def enabling_bits_xml(bits: bytes, bits_type: EnablingBitsType) -> Markup:
    """``ENABLINGBITS type=…`` with the raw bits in base64 and their size in bits
    (MS-RMPR 2.2.9.1.13)."""
    return element("ENABLINGBITS", {"type": bits_type.value},
                   element("VALUE", (("encoding", "base64"), ("size", str(len(bits) * 8))),
                           base64.b64encode(bits).decode("ascii")))


def lcid_name(name: str, description: str, lcid: int = 1033) -> str:
    """The NAME of a policy: ``LCID 1033:NAME <name>:DESCRIPTION <description>;``
    (MS-RMPR 2.2.9.7.1, 2.2.9.10.1). Colons and semicolons would break the structure and
    are refused."""
    for part in (name, description):
        if ":" in part or ";" in part:
            raise ValueError(f"a policy name or description holds no ':' or ';': {part!r}")
    return f"LCID {lcid}:NAME {name}:DESCRIPTION {description};"


_LCID_ENTRY = re.compile(r"\s*LCID\s+(\d+):NAME\s+([^:;]*):DESCRIPTION\s+([^;]*);")


def read_lcid_name(text: str | None) -> list[tuple[int, str, str]]:
    """The (LCID, name, description) entries of a policy NAME; none when it does not have
    that structure."""
    return [(int(m.group(1)), m.group(2).strip(), m.group(3).strip())
            for m in _LCID_ENTRY.finditer(text or "")]


def descriptor_xml(id: str, name: str | None = None) -> Markup:
    """``DESCRIPTOR/OBJECT`` with the license's GUID and, optionally, the policy NAME."""
    return element("DESCRIPTOR", (), element(
        "OBJECT", (), element("ID", {"type": "MS-GUID"}, id),
        element("NAME", (), name) if name is not None else None))


def license_points_xml(intranet: tuple[str, str],
                       extranet: tuple[str, str] | None) -> list[Markup]:
    """The License-Acquisition-URL and Extranet-License-Acquisition-URL points, each
    (GUID, URL), NAME "DRM Server Cluster" (MS-RMPR 2.2.9.7.3)."""
    points = [distribution_point_xml("License-Acquisition-URL", intranet[0],
                                     name=LICENSE_POINT_NAME, address=intranet[1])]
    if extranet is not None:
        points.append(distribution_point_xml("Extranet-License-Acquisition-URL", extranet[0],
                                             name=LICENSE_POINT_NAME, address=extranet[1]))
    return points


def referral_xml(id: str, address: str, name: str | None = None) -> Markup:
    """The author's ``Referral-Info`` point (MS-RMPR 2.2.9.7.3): display name and a URL or
    ``mailto:`` address."""
    return distribution_point_xml("Referral-Info", id, name=name, address=address)


def owner_metadata_xml(email: str, id_type: str = "Windows") -> Markup:
    """``METADATA/OWNER``: the author's account type (``Windows`` for a directory
    account) as an empty ID, and the primary e-mail address (MS-RMPR 2.2.9.7.5)."""
    return element("METADATA", (), element("OWNER", (), element(
        "OBJECT", (), element("ID", {"type": id_type}), element("NAME", (), email))))


def pl_work_xml(content_id: str, owner: Markup, revocation: Markup | None = None) -> Markup:
    """A publishing license's WORK: the content's ID (an OBJECT without type), its
    owner's METADATA and the optional revocation point (MS-RMPR 2.2.9.7)."""
    return element("WORK", (), element("OBJECT", (),
                                       element("ID", {"type": "MS-GUID"}, content_id)),
                   owner, revocation)


def encrypted_rights_xml(encrypted: bytes) -> Markup:
    """``AUTHENTICATEDDATA id="Encrypted-Rights-Data"`` holding the encrypted rights data in
    base64 (MS-RMPR 2.2.9.7.6)."""
    return element("AUTHENTICATEDDATA", {"id": "Encrypted-Rights-Data"},
                   base64.b64encode(encrypted).decode("ascii"))


def pl_issued_principals(server: Principal, bits: bytes | None = None,
                         bits_type: EnablingBitsType = EnablingBitsType.SEALED_KEY) -> Markup:
    """The one principal of a publishing license (MS-RMPR 2.2.9.7.4): the licensing
    server's OBJECT, PUBLICKEY and SECURITYLEVELs, then the ENABLINGBITS. Written without
    ``bits`` it is exactly the text the bits' hash covers
    (:func:`rmslab.crypto.enabling_bits.publishing_license_binding`)."""
    principal = principal_xml(server.identity(), internal_id="1")
    if bits is not None:
        principal = Markup(principal[:-len("</PRINCIPAL>")]
                           + enabling_bits_xml(bits, bits_type) + "</PRINCIPAL>")
    return element("ISSUEDPRINCIPALS", (), principal)


def publishing_license_body(*, issued: datetime, descriptor: Markup | None, issuer: Principal,
                            license_points: Sequence[Markup], issued_principals: Markup,
                            referral: Markup | None, work: Markup,
                            authenticated_data: Sequence[Markup],
                            validity: tuple[datetime, datetime] | None = None,
                            extra: Sequence[Markup] = ()) -> str:
    """A publishing license's BODY in the order of MS-RMPR 2.2.9.7 (P-3, P-4, P-8)."""
    return element(
        "BODY", (("type", "Microsoft Rights Label"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("VALIDITYTIME", (), element("FROM", (), format_time(validity[0])),
                element("UNTIL", (), format_time(validity[1]))) if validity else None,
        descriptor,
        principal_xml(issuer, tag="ISSUER"),
        *license_points,
        issued_principals,
        referral,
        work,
        *authenticated_data,
        *extra)


def exclusion_policy_xml(exclusions: Sequence[tuple[str, str, str]]) -> Markup | None:
    """``POLICYLIST type="exclusion"`` with one POLICY per (file name, minimum version,
    maximum version) — the application exclusions a server writes into every use license
    (MS-RMPR 2.2.9.9.7, 2.2.9.9.8, 3.4.4.1); None when there are none."""
    if not exclusions:
        return None
    return element("POLICYLIST", {"type": "exclusion"}, *(
        element("POLICY", (), element(
            "OBJECT", (), element("ID", {"type": "filename"}, filename),
            element("VERSIONSPAN", (("min", minimum), ("max", maximum)))))
        for filename, minimum, maximum in exclusions))


# --- encrypted rights data (2.2.9.8) --------------------------------------------------------


def rights_data_text(*, issued: datetime, content_id: str, policy: RightsPolicy,
                     owner: str | None, domain: str | None = None,
                     referral: Markup | None = None) -> str:
    """The rights data of an ad hoc publishing license, before it is encrypted
    (``Microsoft Rights Template``, MS-RMPR 2.2.9.8): unsigned, no ISSUER; the owner in
    WORK/METADATA; the rights with principals written as 2.2.9.8.5.3 says (users of
    ``domain`` as Windows accounts)."""
    work = element(
        "WORK", (), element("OBJECT", (), element("ID", {"type": "MS-GUID"}, content_id)),
        owner_metadata_xml(owner) if owner else None,
        element("RIGHTSGROUP", {"name": "Main-Rights"}, policy.to_rights_list(domain=domain)))
    return element("XrML", (("xmlns", ""), ("version", "1.2")),
                   element("BODY", (("type", "Microsoft Rights Template"),),
                           element("ISSUEDTIME", (), format_time(issued)),
                           referral, work))


# --- use licenses (2.2.9.9) ------------------------------------------------------------------


class UseLicenseRight:
    """One right of a use license: its name, and when it may be exercised."""

    def __init__(self, name: str, not_before: datetime | None = None,
                 not_after: datetime | None = None, interval_days: int | None = None) -> None:
        self.name = name
        self.not_before = not_before
        self.not_after = not_after
        self.interval_days = interval_days


_ELEMENT_FORM = ("VIEW", "PRINT", "EDIT", "FORWARD", "VIEWRIGHTSDATA")


def use_license_right(right: UseLicenseRight, bits: bytes, bits_type: EnablingBitsType, *,
                      owner_license: bool = False) -> Markup:
    """A RIGHT of a use license (MS-RMPR 2.2.9.9.6): ``ACCESS/PRINCIPAL internal-id="1"``
    with the content key's ENABLINGBITS, then its TIME conditions. OWNER is written in form
    1; an owner license made offline writes ACCESS without a CONDITIONLIST, as every real
    one does."""
    access = element("ACCESS", (), element("PRINCIPAL", {"internal-id": "1"},
                                            enabling_bits_xml(bits, bits_type)))
    if owner_license:
        inner = access
    else:
        inner = element(
            "CONDITIONLIST", (), access,
            element("TIME", (), rangetime_xml(right.not_before, right.not_after))
            if right.not_before or right.not_after else None,
            element("TIME", (), element("INTERVALTIME", {"days": str(right.interval_days)}))
            if right.interval_days is not None else None)
    if right.name in _ELEMENT_FORM:
        return element(right.name, (), inner)
    return element("RIGHT", {"name": right.name}, inner)


def use_license_body(*, id: str, issued: datetime, issuer: Markup, holder: Markup,
                     referral: Markup | None, content_id: str, owner: Markup | None,
                     revocation: Markup | None, rights: Sequence[Markup],
                     exclusions: Sequence[tuple[str, str, str]] = ()) -> str:
    """A use license's BODY in the order of MS-RMPR 2.2.9.9: ``issuer`` is the ISSUER
    element (its text is what each right's ENABLINGBITS are bound to), ``holder`` the
    RAC's PRINCIPAL element copied verbatim, ``owner`` the publishing license's METADATA
    copied verbatim; ``exclusions`` the server's application exclusions (file name,
    minimum and maximum version)."""
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), element("OBJECT", {"type": "Content-License"},
                                          element("ID", {"type": "MS-GUID"}, id))),
        issuer,
        element("ISSUEDPRINCIPALS", (), holder),
        referral,
        element("WORK", (), element("OBJECT", (),
                                    element("ID", {"type": "MS-GUID"}, content_id)),
                owner, revocation,
                element("RIGHTSGROUP", {"name": "Main-Rights"},
                        element("RIGHTSLIST", (), *rights))),
        exclusion_policy_xml(exclusions))


# --- rights policy templates (2.2.9.10) ------------------------------------------------------


def template_body(*, id: str, issued: datetime, issuer: Principal, name: str,
                  description: str, publishing_point: tuple[str, str], policy: RightsPolicy,
                  lcid: int = 1033) -> str:
    """A rights policy template, issued by a server (D-5 requires server-issued
    templates), exactly as MS-RMPR 2.2.9.10: no version attribute; the NAME
    ``LCID …:NAME …:DESCRIPTION …;``; an ISSUER with the server's OBJECT and PUBLICKEY
    only; the Publishing-URL point (``publishing_point``: GUID and the intranet licensing
    URL); ``WORK/OBJECT/ID type=""``; the OWNER right of the internal principal "Owner"
    first, then the grants."""
    server = Principal(issuer.object_type, issuer.id, issuer.id_type, issuer.name,
                       issuer.addresses, issuer.public_key)
    return element(
        "BODY", (("type", "Microsoft Official Rights Template"),),
        element("ISSUEDTIME", (), format_time(issued)),
        descriptor_xml(id, lcid_name(name, description, lcid)),
        principal_xml(server, tag="ISSUER"),
        distribution_point_xml("Publishing-URL", publishing_point[0], name="Publishing Point",
                               address=publishing_point[1]),
        element("WORK", (), element("OBJECT", (), element("ID", {"type": ""})),
                policy.preconditions_xml(), policy.revocation_xml(),
                element("RIGHTSGROUP", {"name": "Main-Rights"},
                        policy.to_rights_list(template=True))))


# --- reading the content key back -----------------------------------------------------------


def license_bits(document: "XrmlDocument", right: str | None = None
                 ) -> tuple[bytes, EnablingBitsType, str]:
    """The ENABLINGBITS that carry a license's content key, their type, and the exact text
    their hash is bound to (MS-RMPR 2.2.9.1.13): for a publishing license those of its
    issued principal, bound to ISSUEDPRINCIPALS less the bits; for a use license those of
    ``right`` (the first right when None; OWNER serves any right), bound to its ISSUER.
    :class:`~rmslab.errors.StructureError` when there are none."""
    from rmslab.crypto.enabling_bits import EnablingBitsError, publishing_license_binding
    from rmslab.errors import StructureError
    root = document.element
    if document.body_type == "Microsoft Rights Label":
        bits = root.find("BODY/ISSUEDPRINCIPALS/PRINCIPAL/ENABLINGBITS")
        bound = (publishing_license_binding(document.element_text("BODY/ISSUEDPRINCIPALS"))
                 if bits is not None else "")
    else:
        bits = None
        for entry in root.iterfind("BODY/WORK/RIGHTSGROUP/RIGHTSLIST/*"):
            if not isinstance(entry.tag, str):
                continue
            name = entry.get("name") if entry.tag == "RIGHT" else entry.tag
            if right is None or name in (right, "OWNER"):
                bits = entry.find(".//ACCESS/PRINCIPAL/ENABLINGBITS")
                if bits is not None:
                    break
        bound = document.element_text("BODY/ISSUER") if bits is not None else ""
    if bits is None:
        raise StructureError(f"{document.position} holds no enabling bits"
                             + (f" for {right}" if right else ""))
    try:
        return (base64.b64decode(bits.findtext("VALUE") or "", validate=True),
                EnablingBitsType.from_attribute(bits.get("type", "")), bound)
    except (ValueError, EnablingBitsError) as exc:
        raise StructureError(f"{document.position}: its ENABLINGBITS cannot be read: "
                             f"{exc}") from None


def license_content_key(document: "XrmlDocument", key: "PrivateKey",
                        right: str | None = None) -> "ContentKey":
    """The content key of a publishing or use license, opened with the private key it was
    sealed to, its hash checked (:func:`license_bits`; errors of
    :mod:`rmslab.crypto.enabling_bits`)."""
    from rmslab.crypto.enabling_bits import open_content_key
    bits, bits_type, bound = license_bits(document, right)
    return open_content_key(bits, key, bound_to=bound, bits_type=bits_type)
