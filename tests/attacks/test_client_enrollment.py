"""Attack: client enrollment hands out another user's CLC private key (issue 10 item 3),
and a CLC outlives its RAC (issue 12 item 5).

MS-RMPR 3.5.4.2 (GetClientLicensorCert): the request carries a RAC; the CLC's
ISSUEDPRINCIPALS OBJECT is copied from the RAC's, its validity from the RAC's, and its
private key is sealed to the RAC's key. Keys are the server's (GetUserKeyPair,
3.1.1.3.4): nobody derives them from a name.

covers: E-7, E-9
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rmslab.actors.client import open_sealed_key
from rmslab.errors import SealError
from rmslab.deployment import Deployment
from rmslab.errors import RefusedError
from rmslab.flows.certification import (RAC_TEMPORARY, activate_machine, certify_account,
                                        enroll_client, issue_client_licensor_certificate)
from rmslab.lab import Lab
from rmslab.trace import Trace
from rmslab.xrml.reader import parse


def test_bob_presenting_his_rac_gets_no_clc_for_alice(deployment: Deployment) -> None:
    root = deployment.root_cluster
    bob_pc = deployment.clients["BOB-PC"]
    bob_rac = bob_pc.account("bob").rac_text
    logged = len(root.log.entries())
    with pytest.raises(RefusedError) as caught:
        issue_client_licensor_certificate(root, deployment.user("alice"), "BOB-PC", bob_rac,
                                          trace=Trace("bob asks for alice's CLC"))
    assert caught.value.spec_id == "E-9"
    assert "RAC of bob@contoso.example, not of alice@contoso.example" in caught.value.reason
    entries = root.log.entries()[logged:]
    assert [(e.kind, e.outcome) for e in entries] == [("client-enrollment", "refused")]


def test_a_clc_is_issued_to_the_principal_of_the_rac(deployment: Deployment) -> None:
    bob_pc = deployment.clients["BOB-PC"]
    enroll_client(deployment.root_cluster, bob_pc, deployment.user("bob"))
    account = bob_pc.account("bob")
    clc, rac = account.clc, account.rac
    assert clc is not None
    subject, holder = clc.principals[0], rac.principals[0]
    # MS-RMPR 3.5.4.2: the OBJECT copied from the RAC's ISSUEDPRINCIPALS
    assert (subject.object_type, subject.id_type, subject.id, subject.name, subject.addresses) \
        == (holder.object_type, holder.id_type, holder.id, holder.name, holder.addresses)
    assert subject.public_key != holder.public_key
    # the CLC key opens with bob's account key, and with nobody else's
    assert open_sealed_key(clc, bob_pc.account_key("bob")).public == subject.public_key
    with pytest.raises(SealError):
        open_sealed_key(clc, deployment.clients["ALICE-PC"].account_key("alice"))


def test_no_user_key_is_derived_from_a_name(deployment: Deployment) -> None:
    # the lab's seed is no secret (it is in deployment.json): whoever knows it and a user's
    # name must not get the user's keys
    alice_pc = deployment.clients["ALICE-PC"]
    account_key = alice_pc.account_key("alice")
    clc_key = alice_pc.clc_key("alice")
    anyone = Lab(seed=deployment.lab.seed, mode=deployment.lab.mode)
    for label in ("account:alice@contoso.example", "clc:alice@contoso.example@ALICE-PC",
                  "clc:alice@contoso.example"):
        guessed = anyone.key(label).public
        assert guessed not in (account_key.public, clc_key.public), label
    # yet the cluster keeps one key pair per user (MS-RMPR 3.1.1.3.4): a second RAC for
    # alice on another machine certifies the same account key
    other = deployment.add_client("ALICE-LAPTOP")
    activate_machine(other)
    certify_account(deployment.root_cluster, other, deployment.user("alice"),
                    deployment.directory)
    assert other.account_key("alice").public == account_key.public


def test_a_clc_is_valid_as_long_as_its_rac(deployment: Deployment) -> None:
    # MS-RMPR 3.5.4.2: a 15-minute temporary RAC yields a 15-minute CLC
    kiosk = deployment.add_client("KIOSK")
    root = deployment.root_cluster
    activate_machine(kiosk)
    certify_account(root, kiosk, deployment.user("carol"), deployment.directory,
                    temporary=True)
    enroll_client(root, kiosk, deployment.user("carol"))
    account = kiosk.account("carol")
    assert account.clc is not None and account.clc.validity is not None
    assert account.clc.validity == account.rac.validity
    validity = account.clc.validity
    assert validity.not_before is not None and validity.not_after is not None
    assert account.rac.issued is not None
    assert validity.not_after - account.rac.issued == RAC_TEMPORARY  # FROM: less 15 minutes
    assert account.rac.issued - validity.not_before == timedelta(minutes=15)  # of tolerance
    # and a RAC that has expired enrolls nobody
    deployment.lab.advance(minutes=16)
    with pytest.raises(RefusedError, match="not valid now") as caught:
        enroll_client(root, kiosk, deployment.user("carol"))
    assert caught.value.spec_id == "E-9"
    assert parse(account.rac_text)[0].validity == validity
