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


def test_the_server_keeps_verified_chains_by_their_exact_text(deployment: Deployment) -> None:
    """MS-RMPR 3.1.1.1.3: the server verifies a publishing license and a RAC chain once
    and keeps them, by their exact text — a publishing license with one character of its
    BODY changed (its SIGNATURE copied) is verified afresh and refused; what depends on
    the time is checked at every request (an answer keeps what it is sent back with)."""
    from datetime import timedelta
    from rmslab.service.app import answer_certificates
    from rmslab.service.soap import certificates_xml
    chain = protect(deployment)
    anchor = deployment.enrollment_service.anchor
    root, bob, pc = deployment.root_cluster, deployment.user("bob"), deployment.clients["BOB-PC"]
    with LoopbackService(deployment.web, enrollment=deployment.enrollment_service,
                         clusters=deployment.clusters.values()) as http:
        remote = RemoteLicensingService.of(root, http.port)
        for _ in range(2):
            use_license, trace = acquire_use_license(remote, pc, bob, chain, anchor=anchor)
            assert trace.passed
        chains = http.application.chains
        assert chains.hits >= 2 and len(chains) == 2  # the label's chain and bob's RAC chain
        content_id = parse(chain)[0].content_id
        assert content_id is not None and chain.count(content_id) == 1
        digit = content_id[1]
        changed = chain.replace(content_id, content_id.replace(
            digit, "0" if digit != "0" else "1", 1))
        with pytest.raises(RefusedError) as caught:
            acquire_use_license(remote, pc, bob, changed, anchor=anchor)
        assert caught.value.spec_id == "L-1" and "does not verify" in str(caught.value)
        assert len(chains) == 2  # what failed is not kept
        # the answer's chain as the server writes it: the use license, then its SLC chain
        assert root.slc_text is not None and use_license.endswith(root.slc_text)
        assert len(parse(use_license)) == 1 + len(root.slc_chain)
        assert answer_certificates(use_license, root) == certificates_xml("CertificateChain",
                                                                          use_license)
        # the clock moves past bob's RAC: refused though its chain is kept
        rac = parse(pc.account("bob").rac_text)[0]
        assert rac.validity is not None and rac.validity.not_after is not None
        deployment.lab.advance(days=(rac.validity.not_after - deployment.lab.now()).days + 2)
        with pytest.raises(RefusedError) as expired:
            acquire_use_license(remote, pc, bob, chain, anchor=anchor)
        assert "expired" in str(expired.value)
