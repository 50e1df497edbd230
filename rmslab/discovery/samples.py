"""Signed documents for the discovery lessons, built in a lab: a publishing license that
names a cluster's licensing URLs (what "the server named in the content's license" means,
D-7, D-9) and rights policy templates for the UnmanagedTemplates folder (D-5).

Every name is fictional (Contoso, Fabrikam). The keys are the lab's
(``cluster:contoso`` for the server, ``clc:alice@contoso.example`` for the author), so the
documents are the same on every machine for the same lab seed and time.
"""

from __future__ import annotations

from datetime import timedelta

from rmslab.lab import Lab
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import Chain, parse
from rmslab.xrml.writer import RightSpec, distribution_point_xml, license_body, sign

__all__ = ["OLD_CONTOSO_INTRANET", "OLD_CONTOSO_EXTRANET", "content_license", "rights_template"]

#: The licensing URLs of Contoso's old cluster, as documents protected before the
#: migration name them (the deployment notes' example names: corprights and corprights.contoso.com).
OLD_CONTOSO_INTRANET = "https://corprights/_wmcs/licensing"
OLD_CONTOSO_EXTRANET = "https://corprights.contoso.com/_wmcs/licensing"

_SERVER_KEY = "cluster:contoso"
_AUTHOR_KEY = "clc:alice@contoso.example"


def _author(lab: Lab, owner: str) -> Principal:
    return Principal("Group-Identity", lab.guid(), "MS-GUID", owner,
                     (("email_alias", owner),), lab.key(_AUTHOR_KEY).public)


def content_license(lab: Lab, *, intranet: str = OLD_CONTOSO_INTRANET,
                    extranet: str | None = OLD_CONTOSO_EXTRANET,
                    owner: str = "alice@contoso.example") -> Chain:
    """The publishing license of a protected document: signed by its author, naming the
    intranet and (optionally) extranet licensing URLs of the cluster that protects it."""
    points = [distribution_point_xml("License-Acquisition-URL", lab.guid(),
                                     name="DRM Server Cluster", address=intranet)]
    if extranet is not None:
        points.append(distribution_point_xml("Extranet-License-Acquisition-URL", lab.guid(),
                                             name="DRM Server Cluster", address=extranet))
    body = license_body(body_type="Microsoft Rights Label", kind=None, id=lab.guid(),
                        issued=lab.now(), issuer=_author(lab, owner), distribution_points=points,
                        work_object_type=None, content_id=lab.guid(), owner=owner)
    text = sign(body, lab.key(_AUTHOR_KEY), lab.digest_algorithm)
    return parse(text, source="publishing license")


def rights_template(lab: Lab, *, issued_by_server: bool = True,
                    cluster_url: str = "https://rms.contoso.com/_wmcs") -> str:
    """A rights policy template (``Microsoft Official Rights Template``) granting VIEW to
    everyone for a year. Issued and signed by the cluster's server — or, with
    ``issued_by_server=False``, by a user, which the client does not accept (D-5)."""
    now = lab.now()
    if issued_by_server:
        key = lab.key(_SERVER_KEY)
        issuer = Principal("MS-DRM-Server", lab.guid(), "MS-GUID", "CONTOSO-RMS",
                           (("URL", cluster_url),), key.public)
    else:
        key = lab.key(_AUTHOR_KEY)
        issuer = _author(lab, "alice@contoso.example")
    body = license_body(
        body_type="Microsoft Official Rights Template", kind=None, id=lab.guid(), issued=now,
        issuer=issuer,
        distribution_points=[distribution_point_xml("Publishing-URL", lab.guid(),
                                                    name="Publishing Point",
                                                    address=f"{cluster_url}/licensing")],
        work_object_type=None, content_id="", owner=None,
        rights=[RightSpec("VIEW", "1", now, now + timedelta(days=365), as_element=True)])
    return sign(body, key, lab.digest_algorithm)
