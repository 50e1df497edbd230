"""Machine activation, account certification and client enrollment, and what each key
is sealed to.

covers: E-7, E-8, E-9
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rmslab.crypto.seal import SealError
from rmslab.deployment import Deployment
from rmslab.errors import NotConnectedError, NotEnrolledError, RefusedError
from rmslab.flows import activate_machine, certify_account, enroll_client
from rmslab.trust import validate_chain
from rmslab.xrml import parse


def test_machine_certificate_chains_to_the_root(deployment: Deployment) -> None:
    client = deployment.clients["BOB-PC"]
    assert client.machine_certificate_text is not None
    chain = parse(client.machine_certificate_text)
    assert chain[0].kind == "Machine-Certificate"
    assert chain[0].principals[0].public_key == client.machine_key.public
    validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now())


def test_rac_seals_the_account_key_to_the_machine_key(deployment: Deployment) -> None:
    alice_pc, bob_pc = deployment.clients["ALICE-PC"], deployment.clients["BOB-PC"]
    rac = alice_pc.account("alice").rac
    assert rac.kind == "Group-Identity-Credential"
    account_key = alice_pc.account_key("alice")
    assert rac.principals[0].public_key == account_key.public
    assert dict(rac.principals[0].security_levels)["Group-Identity-Credential-Type"] == "Persistent"
    validity = rac.validity
    assert validity is not None and validity.not_after is not None
    assert validity.not_after - deployment.lab.now() == timedelta(days=365)
    # another machine's key cannot open it
    bob_pc.accounts["alice"] = alice_pc.accounts["alice"]
    with pytest.raises(SealError):
        bob_pc.account_key("alice")


def test_temporary_rac_lasts_fifteen_minutes(deployment: Deployment) -> None:
    client = deployment.add_client("KIOSK-1")
    activate_machine(deployment.root_cluster, client)
    trace = certify_account(deployment.root_cluster, client, deployment.user("bob"),
                            deployment.directory, temporary=True)
    rac = client.account("bob").rac
    assert rac.validity is not None and rac.validity.not_after is not None
    assert rac.validity.not_after - deployment.lab.now() == timedelta(minutes=15)
    assert "temporary" in trace[1].action


def test_clc_key_is_sealed_to_the_account_key(deployment: Deployment) -> None:
    # E-7
    client = deployment.clients["ALICE-PC"]
    clc = client.account("alice").clc
    assert clc is not None and clc.kind == "Client-Licensor-Certificate"
    assert client.clc_key("alice").public == clc.principals[0].public_key
    assert clc.license_acquisition_urls == ("https://rms.contoso.example/_wmcs/licensing",)
    assert clc.issuer is not None and clc.issuer.public_key == deployment.root_cluster.key.public
    validate_chain(parse(client.account("alice").clc_text or ""),
                   deployment.enrollment_service.anchor, at=deployment.lab.now())


def test_a_user_may_request_a_clc_at_any_time_but_only_while_connected(
        deployment: Deployment) -> None:
    # E-7
    client = deployment.clients["BOB-PC"]
    logged_before = len(deployment.root_cluster.log.entries())
    client.connected = False
    with pytest.raises(NotConnectedError) as caught:
        enroll_client(deployment.root_cluster, client, deployment.user("bob"))
    assert caught.value.spec_id == "E-7"
    assert caught.value.trace is not None and not caught.value.trace.passed
    # the request never reached the cluster: nothing for it to log
    assert len(deployment.root_cluster.log.entries()) == logged_before
    client.connected = True
    deployment.lab.advance(days=40)
    trace = enroll_client(deployment.root_cluster, client, deployment.user("bob"))
    assert trace.passed
    entries = deployment.root_cluster.log.entries()
    assert [(e.kind, e.outcome) for e in entries[logged_before:]] == [
        ("client-enrollment", "accepted")]


def test_clients_are_not_required_to_enroll(deployment: Deployment) -> None:
    # E-7: carol has a RAC and no CLC, and nothing requires one
    account = deployment.clients["CAROL-PC"].account("carol")
    assert account.clc_text is None


def test_refusals_are_typed_and_logged(deployment: Deployment) -> None:
    # E-8, E-9
    root = deployment.root_cluster
    stranger = deployment.add_client("NEW-PC")
    with pytest.raises(NotEnrolledError, match="not activated"):
        certify_account(root, stranger, deployment.user("bob"), deployment.directory)
    with pytest.raises(NotEnrolledError, match="no rights account certificate"):
        enroll_client(root, stranger, deployment.user("bob"))
    licensing = deployment.clusters["contoso-licensing"]
    with pytest.raises(RefusedError, match="not an enrolled root certification cluster"):
        activate_machine(licensing, stranger)
    refused = [e for e in root.log.entries() if e.outcome == "refused"]
    assert [e.kind for e in refused] == ["account-certification", "client-enrollment"]
    assert licensing.log.entries()[-1].outcome == "refused"


def test_the_cluster_checks_the_certificate_each_request_carries(deployment: Deployment) -> None:
    # E-9: the machine certificate of an account request, and the RAC of a CLC request,
    # must be ones this cluster issued; a refused request is logged (E-8)
    from rmslab.actors.client import Account
    from rmslab.teaching import tamper

    root = deployment.root_cluster
    client = deployment.clients["CAROL-PC"]
    assert client.machine_certificate_text is not None
    forged = tamper(parse(client.machine_certificate_text), 0, "CAROL-PC", "CAROL-PD")
    client.machine_certificate_text = forged.text
    with pytest.raises(RefusedError, match="was not issued by contoso-root") as caught:
        certify_account(root, client, deployment.user("bob"), deployment.directory)
    assert caught.value.spec_id == "E-9"
    assert "digest" in caught.value.reason
    assert root.log.entries()[-1].outcome == "refused"

    bob_pc = deployment.clients["BOB-PC"]
    assert bob_pc.machine_certificate_text is not None
    bob_pc.accounts["bob"] = Account("bob", bob_pc.machine_certificate_text)
    with pytest.raises(RefusedError, match="not a rights account certificate"):
        enroll_client(root, bob_pc, deployment.user("bob"))
    assert (root.log.entries()[-1].kind, root.log.entries()[-1].outcome) == (
        "client-enrollment", "refused")
