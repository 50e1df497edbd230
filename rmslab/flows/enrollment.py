"""Enrollment of clusters (SPEC E-1…E-6, E-8, E-9).

The root certification cluster enrolls with the enrollment service, online or offline:
offline, the request is exported to a file, submitted from another, connected computer,
and the response imported. Both ways carry exactly the same request and give the same
SLC (E-6). Licensing-only clusters sub-enroll with the root cluster; later servers of a
cluster join it and share its SLC without enrolling (E-2).
"""

from __future__ import annotations

from rmslab.actors.cluster import LICENSING_ONLY, ROOT, Cluster, Server
from rmslab.actors.enrollment_service import SLC_LIFETIME, EnrollmentEndpoint
from rmslab.actors.people import Computer, User
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, NotConnectedError, RefusedError, VerificationError
from rmslab.flows._common import (RequestFile, log_request, refuse_and_log,
                                  require_slc_in_force, require_trusted_site)
from rmslab.trace import DocumentRef, Trace
from rmslab.trust import validate_chain
from rmslab.xrml.certificates import ENROLLMENT_REQUEST, certificate_body, enrollment_request_body
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import sign

__all__ = ["RequestFile", "make_request", "enroll_root_cluster", "export_enrollment_request",
           "submit_enrollment_request", "import_enrollment_response", "sub_enroll",
           "join_server", "install_response"]


def make_request(cluster: Cluster, *, kind: str, trace: Trace,
                 renews: str | None = None) -> str:
    """The request the cluster's first server writes and signs with the new cluster key
    (E-4; proof of possession)."""
    body = enrollment_request_body(
        kind=kind, request_id=cluster.lab.guid("request"), issued=cluster.lab.now(),
        server_key=cluster.key.public, sku=cluster.sku, version=cluster.version,
        base_url=cluster.url, revocation=cluster.revocation, slc_id=renews)
    text = sign(body, cluster.key, cluster.lab.digest_algorithm)
    server = cluster.first_server.name
    trace.step(server, f"{'uses the cluster key' if renews else 'generates the cluster key'} "
                       f"and writes {'a renewal' if renews else 'an enrollment'} request, "
                       "signed with that key",
               documents=[DocumentRef("request", text, kind)],
               keys=[f"cluster key {cluster.key.public.short_fingerprint} "
                     f"({cluster.key.bits}-bit, stays on the server)"])
    return text


def install_response(cluster: Cluster, response_text: str, *, anchor: PublicKey,
                     trace: Trace, spec_id: str) -> None:
    """Check a response before installing it: its SLC chains to the anchor and certifies
    this cluster's key."""
    try:
        chain = parse(response_text, source="response")
        validate_chain(chain, anchor, at=cluster.lab.now())
    except (VerificationError, InputError) as exc:
        trace.check(spec_id, "the response chains to the enrollment root", False, str(exc))
        raise RefusedError(f"the response does not verify: {exc}", spec_id=spec_id,
                           trace=trace) from None
    trace.check(spec_id, "the response chains to the enrollment root", True,
                f"{len(chain)} certificates, up to the pinned root key")
    ours = chain[0].certifies(cluster.key.public)
    trace.check(spec_id, "the SLC certifies this cluster's key", ours,
                "" if ours else "the SLC is for another server key")
    if not ours:
        raise RefusedError("the SLC in the response is not for this cluster's key",
                           spec_id=spec_id, trace=trace)
    cluster.install_slc(response_text)


def enroll_root_cluster(service: EnrollmentEndpoint, cluster: Cluster, *, by: User,
                        online: bool = True, computer: Computer | None = None) -> Trace:
    """Enroll a root certification cluster (E-1, E-3…E-6, E-8). Online the request goes
    straight to the service; offline it is exported, carried to ``computer`` and submitted
    from there, and the response imported."""
    if online:
        trace = Trace(f"Online enrollment of {cluster.name}")
        server = cluster.first_server
        if not server.connected:
            trace.step(server.name, "tries to reach the enrollment service", service.name)
            trace.check("E-3", f"{server.name} is connected to the internet", False,
                        "use offline enrollment")
            raise refuse_and_log(cluster, trace, NotConnectedError(
                f"{server.name} is not connected: enroll offline instead", spec_id="E-3"),
                kind="root-enrollment", requester=str(by), subject=cluster.name,
                channel="online")
        request = make_request(cluster, kind=ENROLLMENT_REQUEST, trace=trace)
        trace.step(server.name, "sends the request during provisioning", service.name)
        trace.check("E-3", f"{server.name} is connected: online enrollment", True,
                    "the request goes straight to the enrollment service")
        try:
            response = service.enroll(request, trace=trace, channel="online")
            trace.step(server.name, "installs the SLC", documents=[])
            install_response(cluster, response, anchor=service.anchor, trace=trace,
                             spec_id="E-5")
        except RefusedError as exc:
            raise refuse_and_log(cluster, trace, exc, kind="root-enrollment",
                                 requester=str(by), subject=cluster.name, channel="online")
        log_request(cluster, trace, kind="root-enrollment", requester=str(by),
                    subject=cluster.name, channel="online", accepted=True,
                    request_id=parse(request)[0].id)
        _record_slc(cluster, trace)
        return trace
    if computer is None:
        raise ValueError("offline enrollment needs the connected computer that submits the file")
    request_file, trace = export_enrollment_request(cluster, by=by)
    response_file, submit_trace = submit_enrollment_request(service, request_file,
                                                            computer=computer)
    trace.extend(submit_trace)
    trace.extend(import_enrollment_response(cluster, response_file, service.anchor, by=by))
    return trace


def _record_slc(cluster: Cluster, trace: Trace) -> None:
    resources = cluster.resources()
    trace.check("E-1", f"{cluster.name} has an SLC that vouches for its servers", True,
                f"SLC {resources.slc_id}, valid until {resources.slc_expires:%Y-%m-%d}")


def export_enrollment_request(cluster: Cluster, *, by: User) -> tuple[RequestFile, Trace]:
    """Offline enrollment, step 1: export the request to a file (E-3)."""
    trace = Trace(f"Offline enrollment of {cluster.name}")
    text = make_request(cluster, kind=ENROLLMENT_REQUEST, trace=trace)
    request = RequestFile(f"{cluster.first_server.name}EnrollRequest.xml", text)
    trace.step(cluster.first_server.name, f"exports the request to {request.name}",
               note="the file is carried to a connected computer")
    return request, trace


def submit_enrollment_request(service: EnrollmentEndpoint, request: RequestFile, *,
                              computer: Computer) -> tuple[RequestFile, Trace]:
    """Offline enrollment, step 2: submit the file from a connected computer (E-3, S-4)."""
    trace = Trace(f"Submitting {request.name} from {computer.name}")
    trace.step(computer.name, f"opens the enrollment site and submits {request.name}",
               service.name)
    require_trusted_site(computer, tls_root=service.tls_root, site=service.host,
                         url=service.url, trace=trace)
    response = service.enroll(request.text, trace=trace, channel="offline")
    name = request.name.replace("EnrollRequest", "EnrollResponse")
    return RequestFile(name, response), trace


def import_enrollment_response(cluster: Cluster, response: RequestFile, anchor: PublicKey, *,
                               by: User) -> Trace:
    """Offline enrollment, step 3: import the response on the administration pages."""
    trace = Trace(f"Importing {response.name} into {cluster.name}")
    trace.step(cluster.first_server.name, f"imports {response.name}",
               documents=[DocumentRef("enrollment response", response.text,
                                      "Server-Licensor-Certificate")])
    try:
        install_response(cluster, response.text, anchor=anchor, trace=trace, spec_id="E-5")
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind="root-enrollment", requester=str(by),
                             subject=cluster.name, channel="offline")
    log_request(cluster, trace, kind="root-enrollment", requester=str(by), subject=cluster.name,
                channel="offline", accepted=True)
    _record_slc(cluster, trace)
    return trace


def sub_enroll(root: Cluster, cluster: Cluster, *, by: User) -> Trace:
    """A licensing-only cluster's first server enrolls with the root certification cluster
    (E-2, E-9); the root cluster logs the request (E-8)."""
    trace = Trace(f"Sub-enrollment of {cluster.name} with {root.name}")
    if root.role != ROOT or cluster.role != LICENSING_ONLY:
        raise ValueError("sub-enrollment is of a licensing-only cluster with the root cluster")
    request = make_request(cluster, kind=ENROLLMENT_REQUEST, trace=trace)
    trace.step(cluster.first_server.name, "sends the request", root.first_server.name)
    try:
        if not root.enrolled:
            raise RefusedError(f"{root.name} is not enrolled itself", spec_id="E-2")
        require_slc_in_force(root, trace, "an SLC for a licensing-only cluster")
        from rmslab.actors.enrollment_service import EnrollmentRequest
        document = parse(request)[0]
        from rmslab.xrml.verify import verify_document
        try:
            verify_document(document)
        except VerificationError as exc:
            raise RefusedError(f"the request was changed: {exc}", spec_id="E-4") from None
        fields = EnrollmentRequest(document)
        trace.check("E-4", "the request holds E-4's information and proves possession of "
                           "the key", True, ", ".join(f"{k}" for k in fields.fields))
        now = root.lab.now()
        subject = Principal("MS-DRM-Server", root.lab.guid("server"), "MS-GUID", cluster.name,
                            (("URL", cluster.url),), fields.server_key,
                            (("Server-Version", fields.version), ("Server-SKU", fields.sku)))
        slc = sign(certificate_body(kind="Server-Licensor-Certificate", id=root.lab.guid("slc"),
                                    issued=now, issuer=root.principal, subject=subject,
                                    not_before=now, not_after=now + SLC_LIFETIME),
                   root.key, root.lab.digest_algorithm)
        assert root.slc_text is not None
        response = slc + root.slc_text
        trace.step(root.first_server.name, "issues the licensing cluster's SLC, signed with the "
                                           "root cluster key", cluster.first_server.name,
                   documents=[DocumentRef("SLC + chain", response, "Server-Licensor-Certificate")],
                   keys=[f"root cluster key {root.key.public.short_fingerprint}"])
    except RefusedError as exc:
        raise refuse_and_log(root, trace, exc, kind="sub-enrollment", requester=str(by),
                             subject=cluster.name, channel="online")
    log_request(root, trace, kind="sub-enrollment", requester=str(by), subject=cluster.name,
                channel="online", accepted=True, request_id=document.id)
    anchor = parse(root.slc_text)[len(parse(root.slc_text)) - 1].issuer_key
    assert anchor is not None
    install_response(cluster, response, anchor=anchor, trace=trace, spec_id="E-2")
    _record_slc(cluster, trace)
    return trace


def join_server(cluster: Cluster, name: str, *,
                administrators: set[str] | None = None) -> tuple[Server, Trace]:
    """A later server joins a cluster: it shares the cluster's key and SLC and is not
    enrolled separately (E-2)."""
    trace = Trace(f"{name} joins {cluster.name}")
    if not cluster.servers:
        raise ValueError("the first server of a cluster is added when the cluster is provisioned")
    server = cluster.add_server(name, administrators=administrators)
    entries_before = len(cluster.log)
    trace.step(name, "joins the cluster and receives its configuration", cluster.first_server.name,
               keys=[f"shares the cluster key {cluster.key.public.short_fingerprint}"])
    trace.check("E-2", f"{name} uses the cluster's SLC and is not enrolled separately",
                len(cluster.log) == entries_before,
                f"the cluster still has one SLC ({cluster.resources().slc_id}); no enrollment "
                "request was made")
    return server, trace

