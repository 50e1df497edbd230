"""Enrollment and renewal over SOAP (Enroll, MS-RMPR 3.6) on loopback: the same flows,
the same documents, the same refusals.

covers: E-3, E-6, S-2, S-5
"""

from __future__ import annotations

import pytest

from rmslab.actors import ROOT
from rmslab.deployment import Deployment
from rmslab.errors import NotConnectedError, TamperedRequestError
from rmslab.flows import RequestFile, enroll_root_cluster, export_renewal_request, \
    renew_slc_online, submit_renewal_request
from rmslab.lab import Lab
from rmslab.service import LoopbackService, RemoteEnrollmentService


def fresh(seed: int) -> tuple[Deployment, object]:
    deployment = Deployment(Lab(seed=seed))
    deployment.directory.add_user("rmsadmin", groups=("Domain Admins",))
    root = deployment.add_cluster("fabrikam-root", "https://rms.fabrikam.example/_wmcs",
                                  role=ROOT, first_server="FAB01", administrators={"rmsadmin"})
    return deployment, root


def test_online_enrollment_over_http_gives_the_same_slc() -> None:
    local, local_root = fresh(11)
    enroll_root_cluster(local.enrollment_service, local_root, by=local.user("rmsadmin"))
    remote, remote_root = fresh(11)
    with LoopbackService(remote.web, enrollment=remote.enrollment_service) as http:
        endpoint = RemoteEnrollmentService.of(remote.enrollment_service, http.port)
        trace = enroll_root_cluster(endpoint, remote_root, by=remote.user("rmsadmin"))
    assert remote_root.slc_text == local_root.slc_text  # type: ignore[attr-defined]
    assert trace.passed
    # a SOAP answer carries no trace: the caller's Trace records the round trip — the
    # Enroll request it sent and the EnrollResponse it got, each message attached
    sent = next(s for s in trace if "sends Enroll" in s.action)
    answered = next(s for s in trace if s.actor == "rmslab Enrollment Service")
    assert "<m:Enroll " in sent.documents[0].text
    assert "EnrollResponse" in answered.documents[0].text
    assert "E-5" in {c.spec_id for c in trace.checks}  # the server checks the SLC it got
    assert len(remote.enrollment_service.log) == 1


def test_renewal_refusals_travel_typed(deployment: Deployment, tmp_path: object) -> None:
    root = deployment.root_cluster
    with LoopbackService(deployment.web, enrollment=deployment.enrollment_service) as http:
        endpoint = RemoteEnrollmentService.of(deployment.enrollment_service, http.port)
        deployment.lab.advance(days=10)
        trace = renew_slc_online(endpoint, root, root.first_server,
                                 by=deployment.user("rmsadmin"), directory=deployment.directory)
        assert trace.passed and "S-6" in {c.spec_id for c in trace.checks}
        request, _ = export_renewal_request(root, root.first_server,
                                            by=deployment.user("rmsadmin"),
                                            directory=deployment.directory)
        changed = RequestFile(request.name, request.text.replace("6.3.9600.0", "6.3.9600.1"))
        with pytest.raises(TamperedRequestError) as caught:
            submit_renewal_request(endpoint, changed, computer=deployment.computers["ADMIN-WS"])
        assert caught.value.spec_id == "S-5"
        assert any(not c.passed for c in caught.value.trace.checks)  # type: ignore[union-attr]
    with pytest.raises(NotConnectedError):
        renew_slc_online(endpoint, root, root.first_server, by=deployment.user("rmsadmin"),
                         directory=deployment.directory)
