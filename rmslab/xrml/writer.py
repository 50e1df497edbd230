"""Writing XrML documents that real RMS accepts (docs/wire-format.md "Signature", "Consequences").

The BODY is written once, as text, with no whitespace between tags (as producers
write it); :func:`sign` hashes exactly that text and wraps it in the envelope. Nothing
is ever re-serialised from a tree, so what is signed is what is written.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey, surface_digest
from rmslab.xrml.model import Principal, format_time

__all__ = [
    "Markup", "element", "escape", "public_key_xml", "object_xml", "principal_xml",
    "distribution_point_xml", "rangetime_xml", "sign", "RightSpec", "license_body",
]


class Markup(str):
    """Text that is already XML markup (escaped); plain ``str`` children are escaped."""


def escape(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


Attributes = Mapping[str, str] | Sequence[tuple[str, str]]


def element(tag: str, attributes: Attributes = (), *children: str | None) -> Markup:
    """``<tag a="v">children</tag>``; ``<tag a="v" />`` when empty. ``None`` children are
    skipped; ``str`` children are escaped, :class:`Markup` children are not."""
    pairs = attributes.items() if isinstance(attributes, Mapping) else attributes
    attrs = "".join(f' {name}="{escape(value)}"' for name, value in pairs)
    inner = "".join(c if isinstance(c, Markup) else escape(c) for c in children if c is not None)
    if not inner:
        return Markup(f"<{tag}{attrs} />")
    return Markup(f"<{tag}{attrs}>{inner}</{tag}>")


def public_key_xml(key: PublicKey) -> Markup:
    """``PUBLICKEY`` with the modulus little-endian in base64 (docs/wire-format.md)."""
    return element(
        "PUBLICKEY", (),
        element("ALGORITHM", (), "RSA"),
        element("PARAMETER", {"name": "public-exponent"},
                element("VALUE", {"encoding": "integer32"}, str(key.exponent))),
        element("PARAMETER", {"name": "modulus"},
                element("VALUE", (("encoding", "base64"), ("size", str(key.size))),
                        key.modulus_base64)))


def object_xml(object_type: str | None, id: str | None = None, *, id_type: str = "MS-GUID",
               name: str | None = None, addresses: Iterable[tuple[str, str]] = ()) -> Markup:
    attrs = {"type": object_type} if object_type else {}
    return element(
        "OBJECT", attrs,
        element("ID", {"type": id_type}, id) if id is not None else None,
        element("NAME", (), name) if name is not None else None,
        *(element("ADDRESS", {"type": t}, v) for t, v in addresses))


def principal_xml(principal: Principal, *, tag: str = "PRINCIPAL",
                  internal_id: str | None = None,
                  enabling_bits: bytes | None = None) -> Markup:
    """An ISSUER or PRINCIPAL element for ``principal``. An ISSUER is the matching
    principal of the issuer's own certificate, copied (docs/wire-format.md "Building blocks")."""
    attrs = {"internal-id": internal_id} if internal_id is not None else {}
    bits = None
    if enabling_bits is not None:
        bits = element("ENABLINGBITS", {"type": "sealed-key"},
                       element("VALUE", (("encoding", "base64"),
                                         ("size", str(len(enabling_bits) * 8))),
                               base64.b64encode(enabling_bits).decode("ascii")))
    return element(
        tag, attrs,
        object_xml(principal.object_type, principal.id, id_type=principal.id_type or "MS-GUID",
                   name=principal.name, addresses=principal.addresses),
        public_key_xml(principal.public_key) if principal.public_key else None,
        *(element("SECURITYLEVEL", (("name", n), ("value", v)))
          for n, v in principal.security_levels),
        bits)


def distribution_point_xml(point_type: str, id: str, *, name: str | None = None,
                           address: str | None = None) -> Markup:
    return element("DISTRIBUTIONPOINT", (),
                   object_xml(point_type, id, name=name,
                              addresses=[("URL", address)] if address else ()))


def rangetime_xml(not_before: datetime | None, not_after: datetime | None) -> Markup:
    return element("RANGETIME", (),
                   element("FROM", (), format_time(not_before)) if not_before else None,
                   element("UNTIL", (), format_time(not_after)) if not_after else None)


@dataclass(frozen=True)
class RightSpec:
    """A right to write into WORK: its name, who holds it, and when."""

    name: str
    principal_internal_id: str = "1"
    not_before: datetime | None = None
    not_after: datetime | None = None
    as_element: bool = False  # VIEW, EDIT, … are written as elements; others as RIGHT name=


def _right_xml(right: RightSpec) -> Markup:
    conditions = element(
        "CONDITIONLIST", (),
        element("TIME", (), rangetime_xml(right.not_before, right.not_after))
        if right.not_before or right.not_after else None,
        element("ACCESS", (), element("PRINCIPAL", {"internal-id": right.principal_internal_id})))
    if right.as_element:
        return element(right.name, (), conditions)
    return element("RIGHT", {"name": right.name}, conditions)


def license_body(*, body_type: str = "LICENSE", kind: str | None, id: str, issued: datetime,
                 issuer: Principal, principals: Sequence[Principal] = (),
                 validity: tuple[datetime, datetime] | None = None,
                 distribution_points: Sequence[Markup] = (),
                 work_object_type: str | None = None, content_id: str | None = None,
                 owner: str | None = None, rights: Sequence[RightSpec] = (),
                 extra: Sequence[Markup] = ()) -> str:
    """The BODY text of a certificate or license, in the element order real documents
    use: ISSUEDTIME, VALIDITYTIME, DESCRIPTOR, ISSUER, DISTRIBUTIONPOINTs,
    ISSUEDPRINCIPALS, WORK."""
    work_id = content_id if content_id is not None else id
    work = element(
        "WORK", (),
        object_xml(work_object_type if work_object_type is not None else kind, work_id),
        element("METADATA", (), element("OWNER", (), object_xml(None, name=owner,
                                                                 id_type="Unspecified")))
        if owner else None,
        element("RIGHTSGROUP", {"name": "Main-Rights"},
                element("RIGHTSLIST", (), *(_right_xml(r) for r in rights))) if rights else None)
    return element(
        "BODY", (("type", body_type), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("VALIDITYTIME", (), element("FROM", (), format_time(validity[0])),
                element("UNTIL", (), format_time(validity[1]))) if validity else None,
        element("DESCRIPTOR", (), object_xml(kind, id)),
        principal_xml(issuer, tag="ISSUER"),
        *distribution_points,
        element("ISSUEDPRINCIPALS", (),
                *(principal_xml(p, internal_id=str(i + 1)) for i, p in enumerate(principals)))
        if principals else None,
        *extra,
        work)


def sign(body_text: str, key: PrivateKey, algorithm: DigestAlgorithm,
         *, root_attributes: Attributes = (("xmlns", ""), ("version", "1.2"))) -> str:
    """Wrap ``body_text`` in an XrML envelope with a signature over exactly that text."""
    digest = surface_digest(body_text, algorithm)
    signature = key.sign_digest(digest, algorithm)
    sig = element(
        "SIGNATURE", (),
        element("ALGORITHM", (), "RSA PKCS#1-V1.5"),
        element("DIGEST", (),
                element("ALGORITHM", (), algorithm.value),
                element("PARAMETER", {"name": "codingtype"},
                        element("VALUE", {"encoding": "string"}, "surface-coding")),
                element("VALUE", (("encoding", "base64"), ("size", str(algorithm.bits))),
                        base64.b64encode(digest).decode("ascii"))),
        element("VALUE", (("encoding", "base64"), ("size", str(key.public.size))),
                base64.b64encode(signature).decode("ascii")))
    return element("XrML", root_attributes, Markup(body_text), sig)
