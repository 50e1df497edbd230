"""Enrollment of clusters: online, offline, self-enrollment, sub-enrollment, joining servers,
the log (MS-RMPR 3.6).

covers: E-1, E-2, E-3, E-4, E-5, E-6, E-8, E-9, S-5
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
from rmslab.revocation import revocation_authorities
from rmslab.trace import Trace
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.certificates import EnrollParameters, Revocation


def fresh_root(lab: Lab) -> tuple[Deployment, Cluster]:
    deployment = Deployment(lab)
    deployment.directory.add_user("rmsadmin", groups=("Domain Admins",))
    root = deployment.add_cluster("fabrikam-root", "https://rms.fabrikam.example/_wmcs",
                                  role=ROOT, first_server="FAB01", administrators={"rmsadmin"})
    return deployment, root


def test_online_enrollment_creates_an_slc_chaining_to_the_root(deployment: Deployment) -> None:
    # E-1, E-3, E-5 — MS-RMPR 3.6.4.1.4.7: SLC, Enrollment Service, Enrollment CA, CA
    root = deployment.root_cluster
    chain = root.slc_chain
    kinds = [d.kind for d in chain]
    assert kinds == ["Server-Licensor-Certificate", "Server-Licensor-Certificate",
                     "DRM-CA-Certificate", "DRM-CA-Certificate"]
    validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now(),
                   required_mode=2)
    assert root.slc.certifies(root.key.public)
    assert root.slc.subject is not None and root.slc.subject.url == root.url
    trace = deployment.history[0]
    assert trace.passed
    assert {c.spec_id for c in trace.checks} >= {"E-1", "E-4", "E-5", "E-8"}


def test_issuing_certificates_have_the_ids_and_names_of_the_tables(
        deployment: Deployment) -> None:
    # E-5 — MS-RMPR 2.2.9.3.2/3: ascii-tag CAs, an MS-DRM-Server Enrollment Service, no
    # ADDRESS or SECURITYLEVEL in an ISSUER, the SLC principal without NAME (not self-enrolled)
    slc, service, enrollment_ca, ca = deployment.root_cluster.slc_chain
    assert slc.issuer is not None and slc.issuer.object_type == "MS-DRM-Server"
    assert slc.issuer.id_type == "MS-GUID"
    assert slc.issuer.name == "rmslab Lab Server Enrollment Service"
    assert service.issuer is not None and service.issuer.id_type == "ascii-tag"
    assert service.issuer.id == "rmslab Lab Server Enrollment CA"
    assert service.subject is not None and service.subject.object_type == "MS-DRM-Server"
    assert service.subject.addresses == () and service.subject.security_levels == ()
    assert enrollment_ca.subject is not None and enrollment_ca.subject.id_type == "ascii-tag"
    assert ca.issuer is not None and ca.issuer.id == "rmslab Lab Root"
    assert ca.subject is not None and ca.subject.id == "rmslab Lab CA"
    for document in (slc, service, enrollment_ca, ca):
        issuer = document.element.find("BODY/ISSUER")
        assert issuer is not None
        assert issuer.find("OBJECT/ADDRESS") is None and issuer.find("SECURITYLEVEL") is None
        assert document.element.find("BODY/VALIDITYTIME") is None
    subject = slc.subject
    assert subject is not None and subject.name is None  # 2.2.9.3.3: only when self-enrolled
    assert dict(subject.security_levels) == {"Server-Version": "6.3.9600.0",
                                             "Server-SKU": "rmslab-RMS-Server"}


def test_the_request_is_the_enroll_parameters_of_ms_rmpr(deployment: Deployment) -> None:
    # E-4 — MS-RMPR 3.6.4.1.4.1: the EnrollParameters XML, the cluster's key and GUID
    request_doc = next(d for s in deployment.history[0] for d in s.documents
                       if d.label == "request")
    assert 'xmlns="http://microsoft.com/DRM/EnrollmentService"' in request_doc.text
    request = EnrollParameters.from_xml(request_doc.text)
    root = deployment.root_cluster
    assert request.public_key == root.key.public
    assert request.guid == root.guid == root.slc.subject.id  # type: ignore[union-attr]
    assert (request.sku, request.version, request.url) == (
        "rmslab-RMS-Server", "6.3.9600.0", "https://rms.contoso.example/_wmcs")
    assert request.revocation_type == "StandardRevocation" and request.authorities == ()
    assert request.proof_holds()


def test_third_party_revocation_key_travels_into_the_slc() -> None:
    # E-4 — MS-RMPR 2.2.9.3.4: CONDITIONLIST/REFRESH, the issuer's key first
    lab = Lab()
    revoker = lab.key("revoker:audit")
    deployment = standard_deployment(lab, revocation=Revocation("Contoso Audit", revoker.public))
    slc = deployment.root_cluster.slc
    assert [r.name for r in slc.rights] == ["ISSUE"]  # no REVOKE right
    points = slc.element.findall("BODY/CONDITIONLIST/REFRESH/DISTRIBUTIONPOINT")
    assert [p.findtext("OBJECT/ID") for p in points] == ["External revocation authority"] * 2
    assert slc.element.find("BODY/CONDITIONLIST/REFRESH/INTERVALTIME") is not None
    assert revocation_authorities(slc) == (revoker.public,)
    assert revocation_authorities(deployment.root_cluster.slc_chain[1]) == ()


def test_the_service_authenticates_no_one_and_needs_only_a_version() -> None:
    # E-4 — MS-RMPR 3.1.3.2, 3.6.4.1.4.6 (issue 12 item 12): a key never seen, no SKU, no
    # URL, no proof, sent online: answered; without a Version: refused and logged
    lab = Lab(seed=3)
    service = Deployment(lab).enrollment_service
    stranger = lab.key("cluster:stranger")
    bare = EnrollParameters(stranger.public, "{00000000-0000-4000-8000-000000000001}", "1.0")
    response = service.enroll(bare.to_xml(), trace=Trace("t"), channel="online")
    slc = parse(response)[0]
    assert slc.certifies(stranger.public) and len(parse(response)) == 4
    assert slc.subject is not None and slc.subject.url is None
    no_version = EnrollParameters(stranger.public, "{00000000-0000-4000-8000-000000000002}",
                                  None)
    with pytest.raises(RefusedError, match="no Version") as caught:
        service.enroll(no_version.to_xml(), trace=Trace("t"), channel="online")
    assert caught.value.spec_id == "E-4"
    assert [e.outcome for e in service.log.entries()] == ["accepted", "refused"]


def test_an_offline_request_must_carry_its_proof() -> None:
    # S-5 (the documentation's rule, not MS-RMPR's): a file without the proof is refused
    lab = Lab(seed=3)
    deployment = Deployment(lab)
    key = lab.key("cluster:stranger")
    unsigned = EnrollParameters(key.public, "{00000000-0000-4000-8000-000000000003}", "1.0")
    computer = deployment.add_computer("WS1")
    with pytest.raises(TamperedRequestError, match="no proof"):
        submit_enrollment_request(deployment.enrollment_service,
                                  RequestFile("X.xml", unsigned.to_xml()), computer=computer)
    signed = unsigned.signed_by(key)
    response, _ = submit_enrollment_request(deployment.enrollment_service,
                                            RequestFile("X.xml", signed.to_xml()),
                                            computer=computer)
    assert parse(response.text)[0].certifies(key.public)


def test_self_enrollment_signs_the_slc_with_the_installed_key() -> None:
    # E-1 — MS-RMPR 1.3.1, 2.2.9.2 note 6, 2.2.9.3.2/3: "Self Enrollment Service", the
    # server's name in the SLC, no request to the enrollment service
    deployment = standard_deployment(Lab(), self_enrollment=True)
    root = deployment.root_cluster
    assert root.self_enrolled and root.self_enrollment is not None
    slc, service, _, _ = root.slc_chain
    assert slc.issuer is not None
    assert slc.issuer.name == "rmslab Lab Server Self Enrollment Service"
    assert service.subject is not None
    assert service.subject.name == "rmslab Lab Server Self Enrollment Service"
    assert slc.subject is not None and slc.subject.name == "contoso-root"
    validate_chain(root.slc_chain, deployment.enrollment_service.anchor,
                   at=deployment.lab.now())
    assert len(deployment.enrollment_service.log) == 0
    assert root.log.entries()[0].channel == "self"


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
    # S-5, E-8
    deployment, root = fresh_root(Lab())
    request, _ = export_enrollment_request(root, by=deployment.user("rmsadmin"))
    changed = RequestFile(request.name, request.text.replace("rms.fabrikam", "evil.fabrikam"))
    with pytest.raises(TamperedRequestError) as caught:
        submit_enrollment_request(deployment.enrollment_service, changed,
                                  computer=deployment.add_computer("WS1"))
    assert caught.value.spec_id == "S-5"
    assert caught.value.trace is not None
    [entry] = deployment.enrollment_service.log.entries()
    assert entry.outcome == "refused" and entry.spec_id == "S-5"


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
    assert kinds == ["root-enrollment", "sub-enrollment", "account-certification",
                     "account-certification", "account-certification", "client-enrollment"]
    assert all(e.outcome == "accepted" for e in deployment.root_cluster.log.entries())
    assert len(deployment.enrollment_service.log) == 1
