"""Enrollment of clusters: online, offline, sub-enrollment, joining servers, the log.

covers: E-1, E-2, E-3, E-4, E-5, E-6, E-8, E-9
"""

from __future__ import annotations

import pytest

from rmslab.actors import LICENSING_ONLY, ROOT, Cluster
from rmslab.deployment import Deployment, standard_deployment
from rmslab.errors import NotConnectedError, RefusedError, TamperedRequestError
from rmslab.flows import (RequestFile, enroll_root_cluster, export_enrollment_request,
                          import_enrollment_response, join_server, sub_enroll,
                          submit_enrollment_request)
from rmslab.lab import Lab
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.certificates import Revocation


def fresh_root(lab: Lab) -> tuple[Deployment, Cluster]:
    deployment = Deployment(lab)
    deployment.directory.add_user("rmsadmin", groups=("Domain Admins",))
    root = deployment.add_cluster("fabrikam-root", "https://rms.fabrikam.example/_wmcs",
                                  role=ROOT, first_server="FAB01", administrators={"rmsadmin"})
    return deployment, root


def test_online_enrollment_creates_an_slc_chaining_to_the_root(deployment: Deployment) -> None:
    # E-1, E-3, E-5
    root = deployment.root_cluster
    chain = root.slc_chain
    kinds = [d.kind for d in chain]
    assert kinds == ["Server-Licensor-Certificate", "DRM-CA-Certificate", "DRM-CA-Certificate"]
    validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now(),
                   required_mode=2)
    assert root.slc.certifies(root.key.public)
    assert root.slc.subject is not None and root.slc.subject.url == root.url
    trace = deployment.history[0]
    assert trace.passed
    assert {c.spec_id for c in trace.checks} >= {"E-1", "E-4", "E-5", "E-8"}


def test_the_request_holds_exactly_e4s_fields(deployment: Deployment) -> None:
    # E-4
    request_doc = next(d for s in deployment.history[0] for d in s.documents
                       if d.label == "request")
    document = parse(request_doc.text)[0]
    body = document.element.find("BODY")
    assert body is not None
    assert [c.tag for c in body] == ["ISSUEDTIME", "DESCRIPTOR", "ISSUER", "REVOCATION"]
    issuer = document.issuer
    assert issuer is not None
    assert issuer.public_key == deployment.root_cluster.key.public
    assert dict(issuer.security_levels) == {"Server-SKU": "rmslab-RMS-Server",
                                            "Server-Version": "6.3.9600.0"}
    assert issuer.addresses == (("URL", "https://rms.contoso.example/_wmcs"),)
    assert issuer.name is None and issuer.id is None  # nothing beyond E-4
    assert body.find("REVOCATION").get("type") == "standard"  # type: ignore[union-attr]


def test_third_party_revocation_key_travels_into_the_slc() -> None:
    # E-4
    lab = Lab()
    revoker = lab.key("revoker:audit")
    deployment = standard_deployment(lab, revocation=Revocation("Contoso Audit", revoker.public))
    slc = deployment.root_cluster.slc
    assert slc.principals[1].object_type == "Revocation-Authority"
    assert slc.principals[1].public_key == revoker.public
    assert [r.name for r in slc.rights] == ["ISSUE", "REVOKE"]
    assert slc.rights[1].principals == ("2",)


def test_offline_enrollment_gives_the_same_slc_as_online(tmp_path: object) -> None:
    # E-3, E-6
    online_deployment, online_root = fresh_root(Lab(seed=7))
    admin = online_deployment.user("rmsadmin")
    enroll_root_cluster(online_deployment.enrollment_service, online_root, by=admin)

    offline_deployment, offline_root = fresh_root(Lab(seed=7))
    offline_root.first_server.connected = False
    workstation = offline_deployment.add_computer("WS1")
    request, _ = export_enrollment_request(offline_root, by=admin)
    assert request.name == "FAB01EnrollRequest.xml"
    carried = RequestFile.load(request.save(str(tmp_path)))  # via a real file
    response, _ = submit_enrollment_request(offline_deployment.enrollment_service, carried,
                                            computer=workstation)
    import_enrollment_response(offline_root, response,
                               offline_deployment.enrollment_service.anchor, by=admin)
    assert offline_root.slc_text == online_root.slc_text


def test_online_enrollment_needs_a_connected_server() -> None:
    # E-3
    deployment, root = fresh_root(Lab())
    root.first_server.connected = False
    with pytest.raises(NotConnectedError, match="enroll offline") as caught:
        enroll_root_cluster(deployment.enrollment_service, root, by=deployment.user("rmsadmin"))
    assert caught.value.spec_id == "E-3"
    assert [e.outcome for e in root.log.entries()] == ["refused"]


def test_a_changed_request_file_is_refused_and_logged() -> None:
    # E-4, E-8
    deployment, root = fresh_root(Lab())
    request, _ = export_enrollment_request(root, by=deployment.user("rmsadmin"))
    changed = RequestFile(request.name, request.text.replace("rms.fabrikam", "evil.fabrikam"))
    with pytest.raises(TamperedRequestError) as caught:
        submit_enrollment_request(deployment.enrollment_service, changed,
                                  computer=deployment.add_computer("WS1"))
    assert caught.value.spec_id == "E-4"
    assert caught.value.trace is not None
    [entry] = deployment.enrollment_service.log.entries()
    assert entry.outcome == "refused" and entry.spec_id == "E-4"


def test_a_response_for_another_cluster_is_refused() -> None:
    # E-5
    deployment, root = fresh_root(Lab())
    other = deployment.add_cluster("other", "https://other.fabrikam.example/_wmcs", role=ROOT,
                                   first_server="OTH01")
    admin = deployment.user("rmsadmin")
    request, _ = export_enrollment_request(other, by=admin)
    response, _ = submit_enrollment_request(deployment.enrollment_service, request,
                                            computer=deployment.add_computer("WS1"))
    with pytest.raises(RefusedError, match="not for this cluster's key"):
        import_enrollment_response(root, response, deployment.enrollment_service.anchor,
                                   by=admin)
    assert not root.enrolled


def test_sub_enrollment_and_joining_servers(deployment: Deployment) -> None:
    # E-2, E-9
    root = deployment.root_cluster
    licensing = deployment.clusters["contoso-licensing"]
    assert licensing.role == LICENSING_ONLY
    chain = licensing.slc_chain
    assert chain[0].issuer_key == root.key.public  # signed by the root cluster
    validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now())
    # RMS02 joined: same key, same SLC, no enrollment of its own
    assert [s.name for s in root.servers] == ["RMS01", "RMS02"]
    kinds = [e.kind for e in root.log.entries()]
    assert kinds.count("root-enrollment") == 1 and kinds.count("sub-enrollment") == 1
    _, trace = join_server(licensing, "LIC02")
    assert trace.passed and [c.spec_id for c in trace.checks] == ["E-2"]
    assert licensing.resources().servers == ("LIC01", "LIC02")


def test_sub_enrollment_needs_an_enrolled_root() -> None:
    # E-2
    deployment, root = fresh_root(Lab())
    licensing = deployment.add_cluster("lic", "https://lic.fabrikam.example/_wmcs",
                                       role=LICENSING_ONLY, first_server="LIC01")
    with pytest.raises(RefusedError, match="not enrolled"):
        sub_enroll(root, licensing, by=deployment.user("rmsadmin"))
    assert root.log.entries()[0].outcome == "refused"


def test_every_request_is_logged(deployment: Deployment) -> None:
    # E-8, E-9
    kinds = [e.kind for e in deployment.root_cluster.log.entries()]
    assert kinds == ["root-enrollment", "sub-enrollment", "machine-activation",
                     "account-certification", "machine-activation", "account-certification",
                     "machine-activation", "account-certification", "client-enrollment"]
    assert all(e.outcome == "accepted" for e in deployment.root_cluster.log.entries())
    assert len(deployment.enrollment_service.log) == 1
