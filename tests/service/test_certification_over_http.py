"""Certifying clients over SOAP on loopback: account certification (Certify,
authenticated) and client enrollment (GetClientLicensorCert) give the same documents as in
process, and the same typed refusals, logged by the cluster. Activation contacts no server
(MS-RMPR 3.8.4.1); the Activate operation, for version 1.0 clients, answers a fault that
says so.

covers: E-7, E-8, E-9
"""

from __future__ import annotations

import base64
import http.client

import pytest

from rmslab.actors.people import User
from rmslab.deployment import Deployment, standard_deployment
from rmslab.errors import NotConnectedError, NotEnrolledError, RefusedError
from rmslab.flows import activate_machine, certify_account, enroll_client
from rmslab.lab import Lab
from rmslab.service import LoopbackService, RemoteCertificationService, password_for
from rmslab.trust import validate_chain
from rmslab.xrml import parse


def certify_bob_again(deployment: Deployment, certification: object) -> tuple[str, str, str]:
    """Activate BOB-PC again (itself), certify bob on it and enroll him; the three
    certificates."""
    client, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    for trace in (activate_machine(client),
                  certify_account(certification, client, bob,  # type: ignore[arg-type]
                                  deployment.directory),
                  enroll_client(certification, client, bob)):  # type: ignore[arg-type]
        assert trace.passed, trace
    account = client.account("bob")
    assert client.machine_certificate_text and account.clc_text
    return client.machine_certificate_text, account.rac_text, account.clc_text


def test_the_same_certificates_over_http_as_in_process() -> None:
    local = standard_deployment(Lab())
    in_process = certify_bob_again(local, local.root_cluster)

    remote = standard_deployment(Lab())
    root = remote.root_cluster
    bob = remote.user("bob")
    with LoopbackService(remote.web, clusters=remote.clusters.values(),
                         directory=remote.directory,
                         anchor=remote.enrollment_service.anchor) as http:
        endpoint = RemoteCertificationService.of(
            root, http.port, passwords={"bob": password_for(remote.lab, bob)})
        over_http = certify_bob_again(remote, endpoint)
    assert over_http == in_process
    anchor = remote.enrollment_service.anchor
    for text in over_http:
        validate_chain(parse(text), anchor, at=remote.lab.now())
    # the keys arrived sealed, and the client opens them
    assert remote.clients["BOB-PC"].clc_key("bob").public == parse(over_http[2])[0].principals[0].public_key
    logged = [(e.kind, e.outcome, e.channel) for e in root.log.entries()][-2:]
    assert logged == [("account-certification", "accepted", "online"),
                      ("client-enrollment", "accepted", "online")]


def test_refusals_come_back_typed_with_their_rule(deployment: Deployment) -> None:
    root = deployment.root_cluster
    carol = deployment.user("carol")
    with LoopbackService(deployment.web, clusters=deployment.clusters.values(),
                         directory=deployment.directory,
                         anchor=deployment.enrollment_service.anchor) as http:
        remote = RemoteCertificationService.of(
            root, http.port, passwords={"carol": password_for(deployment.lab, carol),
                                        "mallory": "guessed-password"})
        client = deployment.clients["CAROL-PC"]
        stranger = User("mallory", "contoso.example")  # a name the domain does not know
        with pytest.raises(RefusedError, match="UnauthorizedAccessException") as caught:
            certify_account(remote, client, stranger)
        assert caught.value.spec_id == "E-9"
        assert caught.value.trace is not None and not caught.value.trace.passed  # type: ignore[attr-defined]

        client.machine_certificate_text = None
        with pytest.raises(NotEnrolledError, match="not activated"):
            certify_account(remote, client, carol)
        activate_machine(client)
        licensing = RemoteCertificationService.of(
            deployment.clusters["contoso-licensing"], http.port,
            passwords={"carol": password_for(deployment.lab, carol)})
        with pytest.raises(RefusedError, match="not an enrolled root certification cluster"):
            certify_account(licensing, client, carol)
    refused = [e.kind for e in root.log.entries() if e.outcome == "refused"]
    assert refused[-1:] == ["account-certification"]
    with pytest.raises(NotConnectedError):  # the service is gone
        certify_account(remote, client, carol)


def test_a_malformed_request_is_answered_with_a_fault(deployment: Deployment) -> None:
    """A Certify or Activate whose parts are missing or wrong: a SOAP fault naming what,
    never a certificate. Activate answers only faults: it is for version 1.0 clients, whose
    server forwards it to a Machine Activation cloud service the lab does not have."""
    from rmslab.service.soap import el, write_envelope
    host = "/rms.contoso.example/_wmcs/certification"
    certification = "http://microsoft.com/DRM/CertificationService"
    activation = "http://microsoft.com/DRM/ActivationService"
    bob = deployment.user("bob")
    login = base64.b64encode(f"bob:{password_for(deployment.lab, bob)}".encode()).decode()
    with LoopbackService.of(deployment) as service:
        for path, body, words in (
                (f"{host}/certification.asmx",
                 write_envelope(certification, el("Certify")), "ArgumentNullException"),
                (f"{host}/certification.asmx",
                 write_envelope(certification, el("Certify", el("requestParams",
                                                                el("Persistent", "maybe")))),
                 "is not a boolean"),
                (f"{host}/certification.asmx",
                 write_envelope(certification, el("Certify", el("requestParams",
                                                                el("Persistent", "true")))),
                 "ArgumentNullException: the computer is not activated"),
                (f"{host}/Activation.asmx",
                 write_envelope(activation, el("Activate", el("requestParams"))),
                 "ArgumentNullException"),
                (f"{host}/Activation.asmx",
                 write_envelope(activation, el("Activate", el("requestParams", el(
                     "ActivateParams", el("HidXml", "a version 1.0 client's HID"))))),
                 "clients activate themselves (MS-RMPR 3.8.4.1)")):
            connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
            connection.request("POST", path, body=body,
                               headers={"Content-Type": "text/xml; charset=utf-8",
                                        "Authorization": f"Basic {login}"})
            response = connection.getresponse()
            answer = response.read().decode()
            connection.close()
            assert response.status == 500, answer
            assert "<faultcode>soap:Server</faultcode>" in answer
            assert words in answer, answer
