"""Renewing the SLC online and offline, and the refused cases.

covers: S-1, S-2, S-3, S-4, S-5, S-6
"""

from __future__ import annotations

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import (NotAdministratorError, NotConnectedError, TamperedRequestError,
                           UntrustedSiteError)
from rmslab.flows import (RequestFile, export_renewal_request, import_renewal_response,
                          renew_slc_online, submit_renewal_request)
from rmslab.trust import validate_chain
from rmslab.xrml import parse


def test_online_renewal_shows_the_new_expiry(deployment: Deployment) -> None:
    # S-1, S-2, S-6
    root = deployment.root_cluster
    before = root.resources()
    deployment.lab.advance(days=300)
    trace = renew_slc_online(deployment.enrollment_service, root, root.first_server,
                             by=deployment.user("rmsadmin"), directory=deployment.directory)
    after = root.resources()
    assert after.slc_expires is not None and before.slc_expires is not None
    assert (after.slc_expires - before.slc_expires).days == 300
    assert after.slc_id != before.slc_id
    assert trace.passed and "S-6" in {c.spec_id for c in trace.checks}
    assert root.slc.certifies(root.key.public)  # same key: renewal keeps the identity


def test_everything_issued_before_still_verifies(deployment: Deployment) -> None:
    # S-6
    root = deployment.root_cluster
    old_clc = deployment.clients["ALICE-PC"].account("alice").clc_text or ""
    clc_only = parse(old_clc)[0].text
    deployment.lab.advance(days=30)
    renew_slc_online(deployment.enrollment_service, root, root.first_server,
                     by=deployment.user("rmsadmin"), directory=deployment.directory)
    # the old CLC, chained through the NEW SLC, still validates
    validate_chain(parse(clc_only + (root.slc_text or "")),
                   deployment.enrollment_service.anchor, at=deployment.lab.now())


def test_local_administrator_may_renew(deployment: Deployment) -> None:
    # S-1
    root = deployment.root_cluster
    root.first_server.administrators.add("carol")
    trace = renew_slc_online(deployment.enrollment_service, root, root.first_server,
                             by=deployment.user("carol"), directory=deployment.directory)
    assert "local Administrators" in trace[0].checks[0].reason


def test_a_non_administrator_is_refused_and_logged(deployment: Deployment) -> None:
    # S-1
    root = deployment.root_cluster
    with pytest.raises(NotAdministratorError) as caught:
        renew_slc_online(deployment.enrollment_service, root, root.first_server,
                         by=deployment.user("bob"), directory=deployment.directory)
    assert caught.value.spec_id == "S-1"
    assert "neither" in caught.value.reason
    last = root.log.entries()[-1]
    assert (last.kind, last.outcome, last.spec_id) == ("slc-renewal", "refused", "S-1")
    with pytest.raises(NotAdministratorError):
        export_renewal_request(root, root.first_server, by=deployment.user("bob"),
                               directory=deployment.directory)


def test_online_renewal_needs_a_connection(deployment: Deployment) -> None:
    # S-2
    root = deployment.root_cluster
    root.first_server.connected = False
    with pytest.raises(NotConnectedError, match="renew offline"):
        renew_slc_online(deployment.enrollment_service, root, root.first_server,
                         by=deployment.user("rmsadmin"), directory=deployment.directory)


def _offline(deployment: Deployment, tmp_path: object) -> RequestFile:
    root = deployment.root_cluster
    request, trace = export_renewal_request(root, root.first_server,
                                            by=deployment.user("rmsadmin"),
                                            directory=deployment.directory)
    assert request.name == "RMS01RenewRequest.xml"
    assert trace.passed
    return RequestFile.load(request.save(str(tmp_path)))


def test_offline_renewal_round_trip(deployment: Deployment, tmp_path: object) -> None:
    # S-3, S-6
    root = deployment.root_cluster
    deployment.lab.advance(days=100)
    before = root.resources().slc_expires
    request = _offline(deployment, tmp_path)
    response, _ = submit_renewal_request(deployment.enrollment_service, request,
                                         computer=deployment.computers["ADMIN-WS"])
    assert response.name == "RMS01RenewResponse.xml"
    cancelled = import_renewal_response(root, root.first_server, response,
                                        deployment.enrollment_service.anchor,
                                        by=deployment.user("rmsadmin"),
                                        directory=deployment.directory, confirm=False)
    assert root.resources().slc_expires == before
    assert not cancelled.passed  # the confirmation check failed: nothing imported
    trace = import_renewal_response(root, root.first_server, response,
                                    deployment.enrollment_service.anchor,
                                    by=deployment.user("rmsadmin"),
                                    directory=deployment.directory, confirm=True)
    assert trace.passed
    after = root.resources().slc_expires
    assert before is not None and after is not None and (after - before).days == 100


def test_a_changed_renewal_request_is_refused(deployment: Deployment, tmp_path: object) -> None:
    # S-5
    request = _offline(deployment, tmp_path)
    changed = RequestFile(request.name, request.text.replace("6.3.9600.0", "9.9.9999.9"))
    with pytest.raises(TamperedRequestError) as caught:
        submit_renewal_request(deployment.enrollment_service, changed,
                               computer=deployment.computers["ADMIN-WS"])
    assert caught.value.spec_id == "S-5"
    assert deployment.enrollment_service.log.entries()[-1].outcome == "refused"


def test_the_submitting_computer_must_trust_the_site(deployment: Deployment,
                                                     tmp_path: object) -> None:
    # S-4
    request = _offline(deployment, tmp_path)
    untrusting = deployment.add_computer("HOME-PC", trusts_enrollment_site=False)
    with pytest.raises(UntrustedSiteError, match="TLS root 'rmslab Enrollment TLS Root'") as caught:
        submit_renewal_request(deployment.enrollment_service, request, computer=untrusting)
    assert caught.value.spec_id == "S-4"
    untrusting.trusted_roots.add(deployment.enrollment_service.tls_root)
    with pytest.raises(UntrustedSiteError, match="does not trust the site"):
        submit_renewal_request(deployment.enrollment_service, request, computer=untrusting)
    untrusting.trusted_sites.add(deployment.enrollment_service.host)
    submit_renewal_request(deployment.enrollment_service, request, computer=untrusting)
    offline = deployment.add_computer("AIRGAP", connected=False)
    with pytest.raises(NotConnectedError):
        submit_renewal_request(deployment.enrollment_service, request, computer=offline)
