"""Impersonation over the wire (issue 10 item 2). Certify authenticates the caller and
issues a RAC for the authenticated account only; what MS-RMPR leaves anonymous
(GetClientLicensorCert, AcquireLicense) issues only to the principal of the RAC
presented, sealed to that RAC's key — useless to anyone without the RAC's private key,
which is sealed to its machine's key. Passwords are the lab's, derived, and stored in
no file of the lab.

covers: E-7, E-9, L-1 (MS-RMPR 3.1.4.1, 3.1.4.3, 3.3.4.1, 3.4.4.1, 3.5.4.2)
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rmslab.actors.client import open_sealed_key
from rmslab.errors import SealError
from rmslab.deployment import Deployment
from rmslab.errors import BindingRefusedError, RefusedError
from rmslab.flows import certify_account
from rmslab.flows.binding import AppSession, bind
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import LoopbackService, RemoteCertificationService, RemoteLicensingService
from rmslab.service.auth import authenticate, basic_authorization, password_for
from rmslab.service.soap import certificates_xml, el, read_envelope
from rmslab.store.disk import save_deployment
from rmslab.xrml import parse
from tests.clirun import run
from tests.service.wire import login, soap

CERTIFY = "/rms.contoso.example/_wmcs/certification/certification.asmx"
PUBLISH = "/rms.contoso.example/_wmcs/licensing/publish.asmx"


def certify(port: int, machine: str | None, headers: dict[str, str]) -> str | None:
    """The RAC chain a Certify answers, or None for a fault."""
    answer = soap(port, CERTIFY, "CertificationService", el("Certify", el(
        "requestParams", certificates_xml("MachineCertificateChain", machine),
        el("Persistent", "true"))), headers=headers)
    envelope = read_envelope(answer.body)
    return envelope.chain(envelope.find(envelope.body, "CertifyResult", "CertificateChain"))


def test_certify_issues_only_for_the_authenticated_account(deployment: Deployment) -> None:
    bob, alice = deployment.user("bob"), deployment.user("alice")
    alice_pc = deployment.clients["ALICE-PC"].machine_certificate_text
    with LoopbackService.of(deployment) as served:
        assert certify(served.port, alice_pc, {}) is None  # nobody: refused
        # bob, signed in as himself, on alice's machine: a RAC for bob, never for alice
        rac = certify(served.port, alice_pc, login(deployment.lab, bob))
        assert rac is not None
        assert parse(rac)[0].principals[0].name == "bob@contoso.example"
        assert parse(rac)[0].principals[0].id != \
            deployment.clients["ALICE-PC"].account("alice").rac.principals[0].id
        # bob's password is not alice's
        as_alice = {"Authorization": basic_authorization(alice.account,
                                                         password_for(deployment.lab, bob))}
        assert certify(served.port, alice_pc, as_alice) is None
        # the flow: bob's client holding only bob's password cannot certify alice
        remote = RemoteCertificationService.of(
            deployment.root_cluster, served.port,
            passwords={"bob": password_for(deployment.lab, bob)})
        with pytest.raises(RefusedError, match="UnauthorizedAccessException"):
            certify_account(remote, deployment.clients["BOB-PC"], alice)
    refused = [e for e in deployment.root_cluster.log.entries() if e.outcome == "refused"]
    assert refused == []  # an unauthenticated caller never reaches the issuing server


def test_alices_rac_gets_bob_nothing_he_can_open(deployment: Deployment) -> None:
    """Bob holds a copy of alice's RAC (it is no secret). The CLC and the use license he
    obtains with it are alice's, sealed to her account key; he cannot open them."""
    alice_account = deployment.clients["ALICE-PC"].account("alice")
    bob_pc = deployment.clients["BOB-PC"]
    chain = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                            RightsPolicy((Grant("alice@contoso.example", ("VIEW",)),)),
                            b"alice only", io.BytesIO()).publishing_license
    with LoopbackService.of(deployment) as served:
        answer = soap(served.port, PUBLISH, "PublishingService", el(
            "GetClientLicensorCert", el("RequestParams", el(
                "GetClientLicensorCertParams",
                certificates_xml("PersonaCerts", alice_account.rac_text)))))
        envelope = read_envelope(answer.body)
        clc = envelope.chain(envelope.find(envelope.body, "GetClientLicensorCertResult",
                                           "GetClientLicensorCertResponse", "CertificateChain"))
        assert clc is not None
        assert parse(clc)[0].principals[0].name == "alice@contoso.example"
        with pytest.raises(SealError):  # sealed to alice's account key
            open_sealed_key(parse(clc)[0], bob_pc.account_key("bob"))
        with pytest.raises(SealError):  # alice's account key is sealed to ALICE-PC's key
            open_sealed_key(alice_account.rac, bob_pc.machine_key)

        # the use license: bob on BOB-PC, presenting alice's RAC
        bob_pc.accounts["alice"] = type(alice_account)("alice", alice_account.rac_text)
        licensing = RemoteLicensingService.of(deployment.root_cluster, served.port)
        use_license, _ = acquire_use_license(licensing, bob_pc, deployment.user("alice"), chain,
                                             anchor=deployment.enrollment_service.anchor)
        assert parse(use_license)[0].principals[0].name == "alice@contoso.example"
    with pytest.raises((BindingRefusedError, SealError, RefusedError)):
        result = bind(AppSession(bob_pc, deployment.user("alice")), chain, "VIEW",
                      anchor=deployment.enrollment_service.anchor)
        assert not result.allowed
        raise RefusedError("not allowed")


def test_passwords_are_derived_and_kept_in_no_file(deployment: Deployment,
                                                   tmp_path: Path) -> None:
    bob = deployment.user("bob")
    password = password_for(deployment.lab, bob)
    assert password == password_for(Lab(), bob)  # the same seed, the same password
    assert password != password_for(Lab(seed=1), bob)
    assert password != password_for(deployment.lab, deployment.user("alice"))
    context = authenticate(basic_authorization("CONTOSO\\bob", password), deployment.directory,
                           deployment.lab)
    assert context.is_authenticated and context.account is not None
    assert context.account.name == "CONTOSO\\bob" and context.account.sid == bob.sid
    assert bob.sid.startswith(deployment.directory.sid + "-")
    assert deployment.directory.sid.startswith("S-1-5-21-")
    for login_name in ("bob", "bob@contoso.example"):
        assert authenticate(basic_authorization(login_name, password), deployment.directory,
                            deployment.lab).is_authenticated
    for header in ("Basic !!!", "Basic " + "A" * 10_000, "Digest x", "",
                   basic_authorization("FABRIKAM\\bob", password),
                   basic_authorization("bob", password.upper())):
        assert not authenticate(header, deployment.directory, deployment.lab).is_authenticated

    save_deployment(deployment, tmp_path / "lab")
    for path in (tmp_path / "lab").rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    status, out, _ = run("lab", "users", str(tmp_path / "lab"), "--json")
    listed = {u["user"]: u for u in json.loads(out)["users"]}
    assert status == 0 and listed["bob"]["password"] == password
    assert listed["bob"]["sid"] == bob.sid and listed["bob"]["account"] == "CONTOSO\\bob"
    status, text, _ = run("lab", "users", str(tmp_path / "lab"))
    assert status == 0 and password in text and "CONTOSO\\alice" in text
