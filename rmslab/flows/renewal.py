"""Renewing a root certification cluster's SLC, online or offline (SPEC S-1…S-6).

Only an administrator of the server may renew (S-1). Online, the renewal goes straight
to the enrollment service (S-2). Offline, ``<ServerName>RenewRequest.xml`` is exported,
carried to a connected computer that trusts the enrollment site (S-4), submitted, and
the new SLC imported after a confirmation (S-3); a changed request is refused (S-5).
Afterwards the cluster resources show the new expiry (S-6). The cluster key does not
change, so everything issued before still verifies. The renewal request is the Enroll
request of MS-RMPR 3.6.4 with the GUID of the SLC it renews (3.6.4.2.4.1); a cluster that
enrolled itself (MS-RMPR 1.3.1) renews by signing a new SLC with its self-enrollment key.
"""

from __future__ import annotations

from rmslab.actors.cluster import Cluster, Server
from rmslab.actors.enrollment_service import EnrollmentEndpoint
from rmslab.actors.people import Computer, Directory, User
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import NotConnectedError, RefusedError
from rmslab.flows._common import (RequestFile, log_request, refuse_and_log,
                                  require_administrator, require_trusted_site)
from rmslab.flows.enrollment import install_response, make_request
from rmslab.trace import DocumentRef, Trace

__all__ = ["renew_slc_online", "export_renewal_request", "submit_renewal_request",
           "import_renewal_response"]

KIND = "slc-renewal"


def _admin_pages(cluster: Cluster, server: Server, user: User, directory: Directory,
                 trace: Trace, channel: str) -> None:
    trace.step(str(user), f"opens the administration pages of {server.name} and clicks "
                          f"Renew ({channel})", server.name)
    try:
        require_administrator(server, user, directory, trace)
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=KIND, requester=str(user),
                             subject=cluster.name, channel=channel)


def _show_expiry(cluster: Cluster, trace: Trace, before: str) -> None:
    after = cluster.resources()
    assert after.slc_expires is not None
    moved = f"{after.slc_expires:%Y-%m-%d %H:%M}" != before
    trace.step(cluster.first_server.name, "cluster resources updated")
    trace.check("S-6", "the cluster resources show the new SLC expiry date", moved,
                f"was {before}, now {after.slc_expires:%Y-%m-%d %H:%M} UTC")


def _expiry(cluster: Cluster) -> str:
    expires = cluster.resources().slc_expires
    return f"{expires:%Y-%m-%d %H:%M}" if expires else "-"


def renew_slc_online(service: EnrollmentEndpoint, cluster: Cluster, server: Server, *,
                     by: User, directory: Directory) -> Trace:
    """Online renewal (S-1, S-2, S-6)."""
    trace = Trace(f"Online renewal of {cluster.name}'s SLC")
    _admin_pages(cluster, server, by, directory, trace, "online")
    before = _expiry(cluster)
    if cluster.self_enrollment is not None:  # nothing to reach: the server signs it itself
        from rmslab.flows.enrollment import self_enroll
        trace.extend(self_enroll(cluster.self_enrollment, cluster, by=by,
                                 anchor=service.anchor))
        _show_expiry(cluster, trace, before)
        return trace
    try:
        if not server.connected:
            trace.check("S-2", f"{server.name} is connected to the internet", False,
                        "renew offline instead")
            raise NotConnectedError(f"{server.name} is not connected: renew offline",
                                    spec_id="S-2")
        request = make_request(cluster, trace=trace, renewal=True)
        response = service.renew(request, trace=trace, channel="online")
        install_response(cluster, response, anchor=service.anchor, trace=trace, spec_id="S-2")
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=KIND, requester=str(by),
                             subject=cluster.name, channel="online")
    log_request(cluster, trace, kind=KIND, requester=str(by), subject=cluster.name,
                channel="online", accepted=True, request_id=cluster.guid)
    _show_expiry(cluster, trace, before)
    return trace


def export_renewal_request(cluster: Cluster, server: Server, *, by: User,
                           directory: Directory) -> tuple[RequestFile, Trace]:
    """Offline renewal, step 1: export ``<ServerName>RenewRequest.xml`` (S-1, S-3)."""
    trace = Trace(f"Offline renewal of {cluster.name}'s SLC: export")
    _admin_pages(cluster, server, by, directory, trace, "offline")
    if cluster.self_enrollment is not None:
        raise ValueError(f"{cluster.name} enrolled itself: it renews its SLC itself, with "
                         "its self-enrollment key, and has no request to export")
    text = make_request(cluster, trace=trace, renewal=True)
    request = RequestFile(server.renew_request_name, text)
    trace.step(server.name, f"saves {request.name}", note="do not change this file (S-5)")
    trace.check("S-3", "the renewal request is exported for offline submission", True,
                request.name)
    return request, trace


def submit_renewal_request(service: EnrollmentEndpoint, request: RequestFile, *,
                           computer: Computer) -> tuple[RequestFile, Trace]:
    """Offline renewal, step 2: submit the file from a connected computer that trusts the
    enrollment site (S-3, S-4, S-5)."""
    trace = Trace(f"Submitting {request.name} from {computer.name}")
    trace.step(computer.name, f"submits {request.name} on the enrollment site", service.name)
    require_trusted_site(computer, tls_root=service.tls_root, site=service.host,
                         url=service.url, trace=trace)
    response = service.renew(request.text, trace=trace, channel="offline")
    return RequestFile(request.name.replace("RenewRequest", "RenewResponse"), response), trace


def import_renewal_response(cluster: Cluster, server: Server, response: RequestFile,
                            anchor: PublicKey, *, by: User, directory: Directory,
                            confirm: bool) -> Trace:
    """Offline renewal, step 3: import the new SLC after a confirmation (S-3, S-6)."""
    trace = Trace(f"Offline renewal of {cluster.name}'s SLC: import")
    _admin_pages(cluster, server, by, directory, trace, "offline")
    before = _expiry(cluster)
    trace.step(str(by), f"browses to {response.name} and clicks Import", server.name,
               documents=[DocumentRef("renewed SLC + chain", response.text,
                                      "Server-Licensor-Certificate")])
    trace.check("S-3", "the administrator confirms the import", confirm,
                "confirmed" if confirm else "the import was cancelled: nothing changed")
    if not confirm:
        return trace
    try:
        install_response(cluster, response.text, anchor=anchor, trace=trace, spec_id="S-3")
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=KIND, requester=str(by),
                             subject=cluster.name, channel="offline")
    log_request(cluster, trace, kind=KIND, requester=str(by), subject=cluster.name,
                channel="offline", accepted=True)
    _show_expiry(cluster, trace, before)
    return trace
