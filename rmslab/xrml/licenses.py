"""The documents of publishing and licensing, as XrML 1.2 BODY texts (docs/wire-format.md; SPEC
P-3…P-5, P-8, L-1).

* Publishing license (``Microsoft Rights Label``): signed by the CLC key (offline) or by
  the server (online). Its issued principals are the licensing server — holding the
  content key sealed to the server key — and, offline, the author's CLC principal holding
  a second sealed copy (P-4). The rights travel in ``AUTHENTICATEDDATA
  id="Encrypted-Rights-Data"``, encrypted with the content key, so that only a holder of
  the content key — the server — reads them.
* Use license and owner license (``Content-License``): the content key sealed to the
  user's account key, the rights granted to that user, and the content's ID.
* Rights data (``Microsoft Rights Template``): the decrypted rights — unsigned.
* Rights policy template (``Microsoft Official Rights Template``): signed by a server.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Sequence

from rmslab.rights import RightsPolicy
from rmslab.xrml.model import Principal, format_time
from rmslab.xrml.writer import (Markup, distribution_point_xml, element, object_xml,
                                principal_xml)

__all__ = ["publishing_license_body", "content_license_body", "exclusion_policy_xml",
           "rights_data_text",
           "template_body"]


def _work(content_id: str, owner: str | None, rights: Markup | None = None) -> Markup:
    return element(
        "WORK", (),
        object_xml(None, content_id),
        element("METADATA", (), element("OWNER", (), object_xml(None, name=owner,
                                                                 id_type="Unspecified")))
        if owner else None,
        element("RIGHTSGROUP", {"name": "Main-Rights"}, rights) if rights is not None else None)


def publishing_license_body(*, id: str, issued: datetime, issuer: Principal,
                            license_point_id: str, license_url: str, server: Principal,
                            server_sealed_key: bytes, author: Principal | None,
                            author_sealed_key: bytes | None, content_id: str, owner: str,
                            encrypted_rights: bytes) -> str:
    """A publishing license (P-3, P-4; P-8 when ``issuer`` is the server)."""
    principals = [principal_xml(server, internal_id="1", enabling_bits=server_sealed_key)]
    if author is not None and author_sealed_key is not None:
        principals.append(principal_xml(author, internal_id="2", enabling_bits=author_sealed_key))
    return element(
        "BODY", (("type", "Microsoft Rights Label"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), object_xml(None, id)),
        principal_xml(issuer, tag="ISSUER"),
        distribution_point_xml("License-Acquisition-URL", license_point_id,
                               name="DRM Server Cluster", address=license_url),
        element("ISSUEDPRINCIPALS", (), *principals),
        _work(content_id, owner),
        element("AUTHENTICATEDDATA", (("id", "Encrypted-Rights-Data"),
                                      ("type", "Microsoft Rights Template")),
                base64.b64encode(encrypted_rights).decode("ascii")))


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


def content_license_body(*, id: str, issued: datetime, issuer: Principal, user: Principal,
                         sealed_key: bytes, content_id: str, owner: str | None,
                         policy: RightsPolicy, validity: tuple[datetime, datetime],
                         publishing_license_id: str,
                         exclusions: Sequence[tuple[str, str, str]] = ()) -> str:
    """A use license or owner license (L-1, P-5): ``user`` holds the content key sealed
    to their account key and the rights ``policy`` grants them; ``exclusions`` are the
    server's application exclusions (file name, minimum and maximum version)."""
    return element(
        "BODY", (("type", "LICENSE"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("VALIDITYTIME", (), element("FROM", (), format_time(validity[0])),
                element("UNTIL", (), format_time(validity[1]))),
        element("DESCRIPTOR", (), object_xml("Content-License", id)),
        principal_xml(issuer, tag="ISSUER"),
        element("ISSUEDPRINCIPALS", (), principal_xml(user, internal_id="1",
                                                       enabling_bits=sealed_key)),
        distribution_point_xml("Publishing-License", publishing_license_id),
        _work(content_id, owner, policy.to_rights_list()),
        exclusion_policy_xml(exclusions))


def rights_data_text(*, content_id: str, policy: RightsPolicy, owner: str | None = None) -> str:
    """The rights data a publishing license carries encrypted (unsigned), naming the owner
    in WORK/METADATA when given (MS-RMPR 2.2.9.8.5.1)."""
    return element("XrML", (("xmlns", ""), ("version", "1.2")),
                   element("BODY", (("type", "Microsoft Rights Template"), ("version", "3.0")),
                           _work(content_id, owner, policy.to_rights_list())))


def template_body(*, id: str, issued: datetime, issuer: Principal, name: str,
                  description: str, policy: RightsPolicy) -> str:
    """A rights policy template, issued by a server (D-5 requires server-issued templates)."""
    return element(
        "BODY", (("type", "Microsoft Official Rights Template"), ("version", "3.0")),
        element("ISSUEDTIME", (), format_time(issued)),
        element("DESCRIPTOR", (), object_xml(None, id, name=name),
                element("DESCRIPTION", (), description)),
        principal_xml(issuer, tag="ISSUER"),
        _work(id, None, policy.to_rights_list()))
