"""Licensing over SOAP (AcquireLicense, MS-RMPR 3.4.4.1) on loopback: the same use
license, the same refusals.

covers: L-1, P-7
"""

from __future__ import annotations

import io

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import InputError, NotConnectedError, RefusedError
from rmslab.flows.binding import AppSession, bind
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import LoopbackService, RemoteLicensingService
from rmslab.xrml import parse


def protect(deployment: Deployment) -> str:
    return publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                           RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
                           b"minutes", io.BytesIO()).publishing_license


def test_a_use_license_over_http(deployment: Deployment) -> None:
    chain = protect(deployment)
    anchor = deployment.enrollment_service.anchor
    root = deployment.root_cluster
    with LoopbackService(deployment.web, enrollment=deployment.enrollment_service,
                         clusters=deployment.clusters.values()) as http:
        remote = RemoteLicensingService.of(root, http.port)
        use_license, trace = acquire_use_license(remote, deployment.clients["BOB-PC"],
                                                 deployment.user("bob"), chain, anchor=anchor)
        assert trace.passed
        assert [s.actor for s in trace] == ["BOB-PC", "BOB-PC", "RMS01"]
        request, response = trace.steps[1].documents[0], trace.steps[2].documents[0]
        assert "<m:AcquireLicense " in request.text and "AcquireLicenseResponse" in response.text
        assert use_license.split("</XrML>")[0] in response.text  # exactly as the server wrote it
        assert parse(use_license)[0].issuer_key == root.key.public
        session = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"))
        assert bind(session, chain, "VIEW", anchor=anchor).allowed
        # carol has no rights: the refusal comes back typed, with its rule and the trace
        with pytest.raises(RefusedError) as caught:
            acquire_use_license(remote, deployment.clients["CAROL-PC"], deployment.user("carol"),
                                chain, anchor=anchor)
        assert caught.value.spec_id == "L-1"
        assert caught.value.trace is not None and not caught.value.trace.passed  # type: ignore[attr-defined]
        # the licensing-only cluster did not issue the CLC (P-7)
        other = RemoteLicensingService.of(deployment.clusters["contoso-licensing"], http.port)
        with pytest.raises(RefusedError) as refused:
            acquire_use_license(other, deployment.clients["BOB-PC"], deployment.user("bob"),
                                chain, anchor=anchor)
        assert refused.value.spec_id == "P-7"
        unknown = RemoteLicensingService(http.port, url="https://nowhere.example/_wmcs",
                                         name="nowhere", server_name="X")
        with pytest.raises(InputError):
            acquire_use_license(unknown, deployment.clients["BOB-PC"], deployment.user("bob"),
                                chain, anchor=anchor)
    with pytest.raises(NotConnectedError):
        acquire_use_license(remote, deployment.clients["BOB-PC"], deployment.user("bob"), chain,
                            anchor=anchor)
