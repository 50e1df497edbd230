"""The switches of a cluster's ServerState an administrator turns (MS-RMPR 3.1.1.1.1):
serverDecommissioned and onlinePublishingEnabled, and the decommissioning interface of
MS-RMSI (3.2.4.1 AcquireContentKey).

**Decommissioning.** MS-RMPR 3.1.1.1.1: "A decommissioned server is not intended for
normal operation, but can still provide a mechanism to decrypt documents before removing
the server" — and each operation's section says what "not for normal operation" means:
Certify (3.3.4.1), AcquireLicense (3.4.4.1), AcquireTemplateInformation (3.4.4.2),
AcquireTemplates (3.4.4.3), AcquireIssuanceLicense (3.5.4.1), GetClientLicensorCert
(3.5.4.2) and GetLicensorCertificate (3.7.4.1) answer
``ClusterDecommissionedException``. FindServiceLocationsForUser and GetServerInfo
(3.7.4.2, 3.7.4.3) name no such fault, and the lab answers them.

AcquireLicense pulls the other way in one sentence: the publishing license's validity is
judged "only when serverDecommissioned is false", as if a decommissioned server went on
licensing expired content so that it could be decrypted — while the next bullet refuses
every request of a decommissioned server. MS-RMSI settles it: the mechanism to decrypt
documents is the Decommissioning interface, AcquireContentKey (MS-RMSI 3.2.4.1, 4.1),
which returns the content key of a publishing license to any requester, without
evaluating its policy, and only on a decommissioned server
(``ClusterNotDecommissionedException`` otherwise); "in this mode, it will only service
requests to the Decommissioning interface. All other requests are rejected" (MS-RMSI
3.3.4.1). rmslab follows that reading: a decommissioned cluster refuses AcquireLicense
(before it would look at the time, so IssuanceLicenseIsNotWithinValidTimeRangeException
never comes from it), and :func:`acquire_content_key` decrypts its content. Decommissioning
is one-way, as in the product: the cluster is to be removed.

**Online publishing.** With onlinePublishingEnabled false, AcquireIssuanceLicense answers
``OnlinePublishingDisabledException`` (MS-RMPR 3.5.4.1); offline publishing — a CLC from
GetClientLicensorCert and a publishing license the client signs itself — goes on.

Each change is made by an administrator of the cluster (S-1) and logged in its logging
database (E-8).
"""

from __future__ import annotations

from typing import BinaryIO

from rmslab.actors.cluster import Cluster, Server
from rmslab.actors.people import Directory, User
from rmslab.crypto.enabling_bits import ContentKey, EnablingBitsError, open_content_key
from rmslab.errors import ClusterNotDecommissionedError, RefusedError, StructureError
from rmslab.flows._common import (SERVER_STATE_RULE, log_request, refuse_and_log,
                                  require_administrator)
from rmslab.rights import RightsPolicy
from rmslab.trace import DocumentRef, Trace
from rmslab.xrml.reader import parse

__all__ = ["decommission_cluster", "set_online_publishing", "administer_template",
           "acquire_content_key", "remove_protection", "DECOMMISSIONING_RULE",
           "NO_MATCHING_PRINCIPAL"]

#: The Decommissioning interface (no SPEC ID covers it).
DECOMMISSIONING_RULE = "MS-RMSI 3.2.4.1"
#: AcquireContentKey's fault for a publishing license of another server (MS-RMSI 3.2.4.1
#: spells it without ".Licensing").
NO_MATCHING_PRINCIPAL = ("Microsoft.DigitalRightsManagement."
                         "UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException")


def _administered(cluster: Cluster, server: Server, by: User, directory: Directory,
                  trace: Trace, kind: str) -> None:
    try:
        require_administrator(server, by, directory, trace)
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=str(by),
                             subject=cluster.name, channel="administration") from None


def decommission_cluster(cluster: Cluster, server: Server, *, by: User,
                         directory: Directory) -> Trace:
    """An administrator decommissions the cluster (MS-RMPR 3.1.1.1.1 serverDecommissioned,
    MS-RMSI 1.3.1): from now on it answers none of MS-RMPR's operations but the two that
    name no fault for it, and decrypts its content through :func:`acquire_content_key`.
    Refused (S-1) for someone who does not administer ``server``; refused when the cluster
    is decommissioned already. Logged (E-8)."""
    kind = "decommissioning"
    trace = Trace(f"{by} decommissions {cluster.name}")
    trace.step(by.name, "decommissions the cluster on the administration pages", server.name)
    _administered(cluster, server, by, directory, trace, kind)
    if cluster.decommissioned:
        raise refuse_and_log(cluster, trace, RefusedError(
            f"{cluster.name} is decommissioned already", spec_id=SERVER_STATE_RULE),
            kind=kind, requester=str(by), subject=cluster.name, channel="administration")
    cluster.decommissioned = True
    trace.check(SERVER_STATE_RULE, f"{cluster.name} is decommissioned", True,
                "it answers no Certify, AcquireLicense, AcquireIssuanceLicense, "
                "GetClientLicensorCert, template or GetLicensorCertificate request "
                "(ClusterDecommissionedException); AcquireContentKey (MS-RMSI 3.2.4.1) "
                "returns the content key of any publishing license it can open")
    log_request(cluster, trace, kind=kind, requester=str(by), subject=cluster.name,
                channel="administration", accepted=True, reason="serverDecommissioned = true",
                spec_id=SERVER_STATE_RULE)
    return trace


def set_online_publishing(cluster: Cluster, server: Server, enabled: bool, *, by: User,
                          directory: Directory) -> Trace:
    """An administrator enables or disables online publishing (MS-RMPR 3.1.1.1.1
    onlinePublishingEnabled, 3.5.4.1). Refused (S-1) for someone who does not administer
    ``server``. Logged (E-8)."""
    kind = "server-configuration"
    state = "enabled" if enabled else "disabled"
    trace = Trace(f"{by} sets online publishing of {cluster.name} to {state}")
    trace.step(by.name, f"sets onlinePublishingEnabled to {str(enabled).lower()}",
               server.name)
    _administered(cluster, server, by, directory, trace, kind)
    was = cluster.online_publishing_enabled
    cluster.online_publishing_enabled = enabled
    trace.check(SERVER_STATE_RULE, f"online publishing is {state} on {cluster.name}", True,
                ("AcquireIssuanceLicense is answered" if enabled else
                 "AcquireIssuanceLicense answers OnlinePublishingDisabledException; offline "
                 "publishing with a CLC still works")
                + ("" if was != enabled else " (it was already)"))
    log_request(cluster, trace, kind=kind, requester=str(by), subject=cluster.name,
                channel="administration", accepted=True,
                reason=f"onlinePublishingEnabled = {str(enabled).lower()}",
                spec_id=SERVER_STATE_RULE)
    return trace


def administer_template(cluster: Cluster, server: Server, name: str, *, by: User,
                        directory: Directory, policy: RightsPolicy | None = None,
                        description: str = "", archive: bool = False,
                        remove: bool = False) -> Trace:
    """An administrator changes the cluster's rights policy templates (MS-RMPR 3.1.1.1.1
    publishedTemplates and archivedTemplates): with ``policy``, publishes the template
    ``name`` (a new one, or an edit that keeps its GUID); with ``archive``, stops
    distributing it; with ``remove``, deletes it. Refused (S-1) for someone who does not
    administer ``server``. Logged (E-8). Clients follow at their next template download
    (MS-RMPR 1.3.3)."""
    from rmslab.flows.publishing import archive_template, issue_template, remove_template
    if (policy is not None) + archive + remove != 1:
        raise ValueError("give exactly one of policy, archive and remove")
    kind = "server-configuration"
    action = "archives" if archive else "deletes" if remove else "publishes"
    trace = Trace(f"{by} {action} the template {name} of {cluster.name}")
    trace.step(by.name, f"{action} the template {name} on the administration pages",
               server.name)
    _administered(cluster, server, by, directory, trace, kind)
    try:
        if archive:
            trace.extend(archive_template(cluster, name))
        elif remove:
            trace.extend(remove_template(cluster, name))
        else:
            assert policy is not None
            text = issue_template(cluster, name, description, policy)
            trace.step(server.name, f"signs the template {name} and publishes it",
                       documents=[DocumentRef(f"template {name}", parse(text)[0].text,
                                              "Microsoft Official Rights Template")])
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=str(by), subject=name,
                             channel="administration") from None
    log_request(cluster, trace, kind=kind, requester=str(by), subject=name,
                channel="administration", accepted=True,
                reason=f"{action} the template {name}", spec_id=SERVER_STATE_RULE)
    return trace


def acquire_content_key(cluster: Cluster, publishing_license: str) -> tuple[ContentKey, Trace]:
    """AcquireContentKey (MS-RMSI 3.2.4.1, 4.1): a decommissioned cluster decrypts the
    content key of a publishing license — the first document of ``publishing_license`` —
    without evaluating its policy, for any requester, so that protection can be removed
    before the server is. Its issued principal must be this cluster's (OBJECT ID and
    modulus of its SLC's principal) or a trusted publishing domain's, else
    UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException; a cluster in normal
    operation answers ClusterNotDecommissionedException."""
    from rmslab.flows.licensing import pl_enabling_bits
    trace = Trace(f"AcquireContentKey at {cluster.name}")
    pl = parse(publishing_license, source="publishing license")[0]
    trace.step("requester", "sends a publishing license to the decommissioning interface",
               cluster.first_server.name,
               documents=[DocumentRef("publishing license", pl.text, pl.kind)])
    trace.check(DECOMMISSIONING_RULE, f"{cluster.name} is decommissioned",
                cluster.decommissioned,
                "serverDecommissioned is true" if cluster.decommissioned else
                "the decommissioning interface answers only a decommissioned server")
    if not cluster.decommissioned:
        raise ClusterNotDecommissionedError(
            f"{cluster.name} is not decommissioned: its decommissioning interface returns no "
            "content key", spec_id=DECOMMISSIONING_RULE, trace=trace)
    principal = pl.principals[0] if pl.principals else None
    own = cluster.principal
    keys = []
    if principal is not None and principal.id == own.id \
            and principal.public_key == own.public_key:
        keys.append((cluster.key, cluster.name))
    keys.extend((key, f"trusted publishing domain {name}")
                for name, key in sorted(cluster.trusted_domains.items())
                if principal is not None and principal.public_key == key.public)
    trace.check(DECOMMISSIONING_RULE, f"the publishing license is issued to {cluster.name} "
                                      "or a trusted publishing domain", bool(keys),
                f"it names {principal.label if principal else 'no principal'}")
    if not keys:
        raise RefusedError(f"the publishing license is issued to "
                           f"{principal.label if principal else 'no server'}, not to "
                           f"{cluster.name} nor a trusted publishing domain",
                           spec_id=DECOMMISSIONING_RULE, trace=trace,
                           exception_name=NO_MATCHING_PRINCIPAL)
    key, source = keys[0]
    raw, bits_type, bound = pl_enabling_bits(pl)
    try:
        content = open_content_key(raw, key, bound_to=bound, bits_type=bits_type)
    except EnablingBitsError as exc:
        raise StructureError(f"{pl.position}: its enabling bits do not open with the key of "
                             f"{source}: {exc}") from None
    trace.step(cluster.first_server.name, "returns the content key, no policy evaluated",
               "requester", keys=[f"content key opened with the key of {source} "
                                  f"({content.cipher.label})"])
    return content, trace


def remove_protection(cluster: Cluster, source: BinaryIO, sink: BinaryIO) -> tuple[int, Trace]:
    """Take the protection off a protected file before its decommissioned cluster is
    removed (MS-RMSI 1.3.1, 3.2.4.1): read the container's publishing license from
    ``source``, have the cluster's decommissioning interface return its content key
    (:func:`acquire_content_key`, refused as there), and stream the decrypted content into
    ``sink``. Nothing is written to ``sink`` unless the key was returned. Returns the size
    of the content and the Trace."""
    from rmslab.crypto.content import ContentCipher
    from rmslab.xrml.pfile import read_container_header
    from rmslab.xrml.source import decode_text
    header = read_container_header(source)
    content_key, trace = acquire_content_key(cluster, decode_text(header.license_bytes))
    size = ContentCipher(content_key.key, content_key.content_mode).decrypt_stream(source,
                                                                                    sink)
    trace.step("requester", f"decrypts the content ({size} bytes): it is no longer protected")
    return size, trace
