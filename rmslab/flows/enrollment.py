"""Enrollment of clusters (SPEC E-1…E-6, E-8, E-9; MS-RMPR 1.3.1, 3.6).

The root certification cluster enrolls with the enrollment service, online or offline,
or enrolls itself: online, its first server sends the Enroll request of MS-RMPR 3.6.4.1
(:class:`~rmslab.xrml.certificates.EnrollParameters`); offline, the same request is
written to a file (3.6.4.2.1.1), submitted from another, connected computer, and the
response imported. Both ways carry exactly the same request and give the same SLC (E-6).
A version 2.0 server may instead enroll itself (:func:`self_enroll`, MS-RMPR 1.3.1,
2.2.9.2 note 6): it signs its own SLC with the self-enrollment key it installed, and no
request leaves it. Licensing-only clusters sub-enroll with the root cluster; later
servers of a cluster join it and share its SLC without enrolling (E-2).

The request always carries, in ``AuthorizationInformation/SignedDataBase64Encoded``, the
proof the documentation's offline rule needs (S-5: a changed request file is refused) —
a signature by the key being enrolled over every field; MS-RMPR has the service ignore
that element, and the lab's service checks it only because the documentation says so.
"""

from __future__ import annotations

from rmslab.actors.cluster import LICENSING_ONLY, ROOT, Cluster, Server
from rmslab.actors.enrollment_service import (SLC_LIFETIME, EnrollmentEndpoint, IssuingKey,
                                              read_enroll_request)
from rmslab.actors.people import Computer, User
from datetime import datetime

from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey
from rmslab.errors import InputError, NotConnectedError, RefusedError, VerificationError
from rmslab.flows._common import (RequestFile, log_request, refuse_and_log,
                                  require_slc_in_force, require_trusted_site)
from rmslab.trace import DocumentRef, Trace
from rmslab.trust import validate_chain
from rmslab.xrml.certificates import EnrollParameters, issuing_certificate_body
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import sign

__all__ = ["RequestFile", "make_request", "enroll_root_cluster", "export_enrollment_request",
           "submit_enrollment_request", "import_enrollment_response", "sub_enroll",
           "self_enroll", "join_server", "install_response", "server_slc"]

_SLC = "Server-Licensor-Certificate"


def make_request(cluster: Cluster, *, trace: Trace, renewal: bool = False) -> str:
    """The Enroll request the cluster's first server writes (MS-RMPR 3.6.4.1,
    3.6.4.2.1.1): the cluster key's public half and the server's GUID (a new one, or its
    SLC's when renewing), its revocation arrangement, SKU, version, name and base URL —
    and the proof of S-5, made with the cluster key."""
    revocation = cluster.revocation
    parameters = EnrollParameters(
        public_key=cluster.key.public, guid=cluster.guid, version=cluster.version,
        sku=cluster.sku, name=cluster.host, url=cluster.url,
        revocation_type=revocation.revocation_type,
        authorities=(revocation.authority_key,) if revocation.authority_key else ())
    text = parameters.signed_by(cluster.key).to_xml()
    server = cluster.first_server.name
    trace.step(server, f"{'uses the cluster key' if renewal else 'generates the cluster key'} "
                       f"and writes {'a renewal' if renewal else 'an enrollment'} request "
                       "(MS-RMPR 3.6.4.1 EnrollParameters)",
               documents=[DocumentRef("request", text, "EnrollParameters")],
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
        request = make_request(cluster, trace=trace)
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
                    request_id=cluster.guid)
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
    text = make_request(cluster, trace=trace)
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


def server_slc(issuer: Principal, key: PrivateKey, cluster: Cluster, *, lab_now: datetime,
               slc_id: str, algorithm: DigestAlgorithm) -> str:
    """An SLC a server signs (self-enrollment, or a root cluster sub-enrolling a
    licensing-only one; MS-RMPR 2.2.9.3): its ISSUER is ``issuer`` (OBJECT and key only),
    its principal the cluster's GUID, NAME (the cluster's name: MS-RMPR 2.2.9.3.3 allows it
    for a self-enrolled server, and the real SLC a server issued to another carries one),
    URL, key, Server-Version and Server-SKU; the cluster's third-party revocation
    authority, if any, in the CONDITIONLIST of 2.2.9.3.4."""
    subject = Principal("MS-DRM-Server", cluster.guid, "MS-GUID", cluster.name,
                        (("URL", cluster.url),), cluster.key.public,
                        (("Server-Version", cluster.version), ("Server-SKU", cluster.sku)))
    authority = cluster.revocation.authority_key
    return sign(issuing_certificate_body(
        kind=_SLC, id=slc_id, issued=lab_now, issuer=issuer, subject=subject,
        not_before=lab_now, not_after=lab_now + SLC_LIFETIME,
        revocation_authorities=(authority,) if authority else ()), key, algorithm)


def self_enroll(kit: IssuingKey, cluster: Cluster, *, by: User, anchor: PublicKey) -> Trace:
    """Self-enrollment of a version 2.0 server (MS-RMPR 1.3.1, 2.2.9.2 note 6): the
    cluster's first server signs its own SLC with the self-enrollment key ``kit`` it
    installed, under the self-enrollment certificate (an Enrollment Service certificate
    named "… Self Enrollment Service"). No request leaves the server; the request is
    logged all the same (E-8)."""
    renewal = cluster.enrolled
    trace = Trace(f"Self-enrollment of {cluster.name}" + (" (renewal)" if renewal else ""))
    server = cluster.first_server.name
    lab = cluster.lab
    trace.step(server, ("uses the cluster key" if renewal else "generates the cluster key")
               + " and signs its own SLC with the self-enrollment key installed with the "
                 "server (MS-RMPR 2.2.9.2 note 6)",
               keys=[f"cluster key {cluster.key.public.short_fingerprint}",
                     f"self-enrollment key {kit.key.public.short_fingerprint}"])
    kind = "slc-renewal" if renewal else "root-enrollment"
    try:
        slc = server_slc(kit.principal, kit.key, cluster, lab_now=lab.now(),
                         slc_id=lab.guid("slc"), algorithm=lab.digest_algorithm)
        response = slc + kit.chain_text
        trace.step(server, "installs the SLC",
                   documents=[DocumentRef("SLC + chain", response, _SLC)])
        install_response(cluster, response, anchor=anchor, trace=trace, spec_id="E-1")
    except RefusedError as exc:
        raise refuse_and_log(cluster, trace, exc, kind=kind, requester=str(by),
                             subject=cluster.name, channel="self")
    cluster.self_enrollment = kit
    log_request(cluster, trace, kind=kind, requester=str(by), subject=cluster.name,
                channel="self", accepted=True, request_id=cluster.guid)
    _record_slc(cluster, trace)
    return trace


def sub_enroll(root: Cluster, cluster: Cluster, *, by: User) -> Trace:
    """A licensing-only cluster's first server enrolls with the root certification cluster
    (E-2, E-9): it sends the same Enroll request as a root cluster would (MS-RMPR
    3.6.4.1), and the root cluster signs its SLC with the root cluster key; the root
    cluster logs the request (E-8)."""
    trace = Trace(f"Sub-enrollment of {cluster.name} with {root.name}")
    if root.role != ROOT or cluster.role != LICENSING_ONLY:
        raise ValueError("sub-enrollment is of a licensing-only cluster with the root cluster")
    request = make_request(cluster, trace=trace)
    trace.step(cluster.first_server.name, "sends the request", root.first_server.name)
    try:
        if not root.enrolled:
            raise RefusedError(f"{root.name} is not enrolled itself", spec_id="E-2")
        require_slc_in_force(root, trace, "an SLC for a licensing-only cluster")
        fields = read_enroll_request(request, channel="online", trace=trace)
        if fields.public_key != cluster.key.public:
            raise RefusedError("the request is not for the key of the cluster that sent it",
                               spec_id="E-4")
        lab = root.lab
        slc = server_slc(root.principal, root.key, cluster, lab_now=lab.now(),
                         slc_id=lab.guid("slc"), algorithm=lab.digest_algorithm)
        assert root.slc_text is not None
        response = slc + root.slc_text
        trace.step(root.first_server.name, "issues the licensing cluster's SLC, signed with the "
                                           "root cluster key", cluster.first_server.name,
                   documents=[DocumentRef("SLC + chain", response, _SLC)],
                   keys=[f"root cluster key {root.key.public.short_fingerprint}"])
    except RefusedError as exc:
        raise refuse_and_log(root, trace, exc, kind="sub-enrollment", requester=str(by),
                             subject=cluster.name, channel="online")
    log_request(root, trace, kind="sub-enrollment", requester=str(by), subject=cluster.name,
                channel="online", accepted=True, request_id=fields.guid)
    chain = parse(root.slc_text, source=f"SLC of {root.name}")
    anchor = chain[len(chain) - 1].issuer_key
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

