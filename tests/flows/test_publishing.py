"""Offline and online publishing, following the offline publishing documentation step by step.

covers: P-1, P-2, P-3, P-4, P-5, P-6, P-8, D-5, MS-RMPR 1.3.3
"""

from __future__ import annotations

import io

import pytest

from rmslab.crypto.content import ContentCipher
from rmslab.crypto.enabling_bits import CipherMode
from rmslab.deployment import Deployment
from rmslab.errors import NotConnectedError, NotEnrolledError, RefusedError
from rmslab.flows.publishing import (issue_template, policy_from_template, publish_offline,
                                     publish_online)
from rmslab.rights import Grant, RightsPolicy
from rmslab.trust import validate_chain
from rmslab.xrml import read_chain, read_protected_file
from rmslab.xrml.licenses import license_content_key

CONTENT = b"Quarterly numbers, draft 3.\n" * 500
POLICY = RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),))


def protect(deployment: Deployment) -> tuple[bytes, object]:
    sink = io.BytesIO()
    result = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"), POLICY,
                             CONTENT, sink)
    return sink.getvalue(), result


def test_offline_publishing_needs_a_clc(deployment: Deployment) -> None:
    # P-1: carol never obtained a CLC
    with pytest.raises(NotEnrolledError) as caught:
        publish_offline(deployment.clients["CAROL-PC"], deployment.user("carol"), POLICY,
                        CONTENT, io.BytesIO())
    assert caught.value.spec_id == "P-1"


def test_offline_publishing_works_disconnected(deployment: Deployment) -> None:
    # P-1…P-3: once the CLC is there, no server is needed
    deployment.clients["ALICE-PC"].connected = False
    data, result = protect(deployment)
    assert result.trace.passed  # type: ignore[attr-defined]
    assert {c.spec_id for c in result.trace.checks} >= {"P-1", "P-2", "P-3", "P-4", "P-5",  # type: ignore[attr-defined]
                                                        "P-6"}


def test_the_publishing_license_is_signed_with_the_clc_key(deployment: Deployment) -> None:
    # P-3
    data, _ = protect(deployment)
    chain = read_chain(data)
    pl, clc = chain[0], chain[1]
    assert pl.kind == "Microsoft Rights Label" and clc.kind == "Client-Licensor-Certificate"
    assert pl.issuer_key == clc.principals[0].public_key
    validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now(),
                   required_mode=2)


def test_one_principal_the_server_and_its_urls_from_the_clc(deployment: Deployment) -> None:
    # P-4, as MS-RMPR has it: the publishing license names exactly one principal, the
    # server of the CLC (2.2.9.1.11, 2.2.9.7.4), with the content key sealed to it; the
    # author's copy is the owner license's (3.8.4.4)
    data, result = protect(deployment)
    chain = read_chain(data)
    pl, clc = chain[0], chain[1]
    server_key = clc.issuer_key
    assert server_key is not None
    assert [p.public_key for p in pl.principals] == [server_key]
    assert [p.internal_id for p in pl.principals] == ["1"]
    assert pl.license_acquisition_urls == clc.license_acquisition_urls * 2 or \
        set(pl.license_acquisition_urls) == set(clc.license_acquisition_urls)
    assert [d.type for d in pl.distribution_points] == [
        "License-Acquisition-URL", "Extranet-License-Acquisition-URL", "Referral-Info"]
    by_server = license_content_key(pl, deployment.root_cluster.key)
    owner = read_chain(result.owner_license.encode())[0]  # type: ignore[attr-defined]
    by_author = license_content_key(owner, deployment.clients["ALICE-PC"].account_key("alice"))
    assert by_server == by_author and len(by_server.key) == 16


def test_owner_license_reseals_the_content_key_for_the_author(deployment: Deployment) -> None:
    # P-5: made offline, signed with the CLC key, the content key sealed to the author's
    # account key and bound to the owner license's ISSUER (MS-RMPR 3.8.4.4)
    data, result = protect(deployment)
    alice = deployment.clients["ALICE-PC"]
    owner = read_chain(result.owner_license.encode())  # type: ignore[attr-defined]
    license_doc = owner[0]
    assert license_doc.kind == "Content-License"
    assert license_doc.element.get("purpose") == "Content-License"
    assert [r.name for r in license_doc.rights] == ["OWNER"]
    assert license_doc.issuer_key == owner[1].principals[0].public_key  # the CLC's
    account_key = alice.account_key("alice")
    assert license_doc.principals[0].public_key == account_key.public
    content_key = license_content_key(license_doc, account_key)
    pl = read_chain(data)[0]
    assert content_key == license_content_key(pl, deployment.root_cluster.key)


def test_the_file_is_encrypted_with_the_content_key_and_carries_the_license(
        deployment: Deployment) -> None:
    # P-6, with the cipher the content key's KeyHeader names (CBC4K by default in mode 2)
    data, _ = protect(deployment)
    container = read_protected_file(data)
    assert container.major_version == 3 and CONTENT not in data
    pl = read_chain(data)[0]
    content_key = license_content_key(pl, deployment.root_cluster.key)
    assert content_key.cipher is CipherMode.CBC4K
    assert ContentCipher(content_key.key, 2).decrypt(container.content) == CONTENT


def test_rights_travel_encrypted_for_the_server(deployment: Deployment) -> None:
    data, _ = protect(deployment)
    pl = read_chain(data)[0]
    assert pl.has_encrypted_rights  # type: ignore[attr-defined]
    assert b"bob@contoso.example" not in data.split(b"Encrypted-Rights-Data")[1][:2000]
    assert pl.rights == ()  # nothing readable in clear


def test_online_publishing_gives_the_same_format(deployment: Deployment) -> None:
    # P-8
    sink = io.BytesIO()
    result = publish_online(deployment.root_cluster, deployment.clients["CAROL-PC"],
                            deployment.user("carol"), POLICY, CONTENT, sink)
    data = sink.getvalue()
    offline, _ = protect(deployment)
    assert data[:6] == offline[:6] == b".pfile"
    online_container, offline_container = read_protected_file(data), read_protected_file(offline)
    assert online_container.version == offline_container.version
    chain = read_chain(data)
    assert chain[0].issuer_key == deployment.root_cluster.key.public  # the server signed it
    assert chain[1].kind == "Server-Licensor-Certificate"
    assert result.trace.passed


def test_online_publishing_needs_the_server(deployment: Deployment) -> None:
    deployment.clients["CAROL-PC"].connected = False
    with pytest.raises(NotConnectedError) as caught:
        publish_online(deployment.root_cluster, deployment.clients["CAROL-PC"],
                       deployment.user("carol"), POLICY, CONTENT, io.BytesIO())
    assert caught.value.spec_id == "P-8"


def test_templates_carry_a_policy(deployment: Deployment) -> None:
    template = issue_template(deployment.root_cluster, "Confidential - view only",
                              "Employees may view", RightsPolicy((
                                  Grant("ANYONE", ("VIEW",)),), caching_days=7))
    chain = read_chain(template.encode())
    assert chain[0].kind == "Microsoft Official Rights Template"
    validate_chain(chain, deployment.enrollment_service.anchor)
    policy = policy_from_template(template)
    assert policy.rights_of("anyone@contoso.example") == ("VIEW",)
    assert policy.caching_days == 7


def test_templates_are_distributed_to_clients(deployment: Deployment) -> None:
    from rmslab.flows.publishing import download_templates
    bob = deployment.clients["BOB-PC"].account("bob")
    assert sorted(bob.templates) == ["Contoso-Confidential"]
    root = deployment.root_cluster
    issue_template(root, "Contoso-Board", "board members", RightsPolicy(
        (Grant("bob@contoso.example", ("VIEW",)),)))
    # a template that does not verify (changed on the way) is not taken (D-5)
    root.templates["Contoso-Forged"] = root.templates["Contoso-Board"].replace(
        "board members", "everyone", 1)
    trace = download_templates(root, deployment.clients["BOB-PC"], deployment.user("bob"),
                               anchor=deployment.enrollment_service.anchor)
    assert "Contoso-Board" in bob.templates and "Contoso-Forged" not in bob.templates
    assert [c.passed for c in trace.checks if "Contoso-Forged" in c.description] == [False]
    deployment.clients["BOB-PC"].connected = False
    with pytest.raises(NotConnectedError):
        download_templates(root, deployment.clients["BOB-PC"], deployment.user("bob"),
                           anchor=deployment.enrollment_service.anchor)


def test_templates_removed_on_the_server_are_removed_from_clients(
        deployment: Deployment) -> None:
    # MS-RMPR 1.3.3: the next download deletes what the server no longer publishes
    from rmslab.flows.publishing import TEMPLATE_REMOVAL_RULE, download_templates
    root, anchor = deployment.root_cluster, deployment.enrollment_service.anchor
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    issue_template(root, "Contoso-ViewOnly", "Employees of Contoso may view only",
                   RightsPolicy((Grant("ANYONE", ("VIEW",)),)))
    download_templates(root, bob_pc, bob, anchor=anchor)
    assert "Contoso-ViewOnly" in bob_pc.account("bob").templates
    del root.templates["Contoso-ViewOnly"]
    trace = download_templates(root, bob_pc, bob, anchor=anchor)
    assert sorted(bob_pc.account("bob").templates) == ["Contoso-Confidential"]
    removal = [c for c in trace.checks if c.spec_id == TEMPLATE_REMOVAL_RULE]
    assert len(removal) == 1 and removal[0].passed
    assert "Contoso-ViewOnly" in removal[0].description


def test_archived_templates_leave_clients_but_other_servers_templates_stay(
        deployment: Deployment) -> None:
    # MS-RMPR 1.3.3, 3.1.1.1.1 archivedTemplates
    from rmslab.flows.publishing import archive_template, download_templates
    root, anchor = deployment.root_cluster, deployment.enrollment_service.anchor
    licensing = deployment.clusters["contoso-licensing"]
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    issue_template(licensing, "Licensing-Only", "from the other cluster", RightsPolicy(
        (Grant("ANYONE", ("VIEW",)),)))
    download_templates(licensing, bob_pc, bob, anchor=anchor)
    archived = archive_template(root, "Contoso-Confidential")
    assert archived.steps[-1].documents
    assert "Contoso-Confidential" in root.archived_templates
    assert root.configuration().archived_templates == ("Contoso-Confidential",)
    trace = download_templates(root, bob_pc, bob, anchor=anchor)
    assert sorted(bob_pc.account("bob").templates) == ["Licensing-Only"]
    assert not [c for c in trace.checks if c.spec_id == "D-5"]  # nothing fetched again
    with pytest.raises(RefusedError):
        archive_template(root, "Contoso-Confidential")


def test_a_template_changed_on_the_server_is_fetched_again(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.2: GUID and hash tell the client what is outdated
    from rmslab.flows.publishing import download_templates
    root, anchor = deployment.root_cluster, deployment.enrollment_service.anchor
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    before = bob_pc.account("bob").templates["Contoso-Confidential"]
    issue_template(root, "Contoso-Confidential", "Employees may view, for a month",
                   RightsPolicy((Grant("ANYONE", ("VIEW",)),), caching_days=30))
    trace = download_templates(root, bob_pc, bob, anchor=anchor)
    after = bob_pc.account("bob").templates["Contoso-Confidential"]
    assert after != before and after == root.templates["Contoso-Confidential"]
    assert [c.description for c in trace.checks if c.spec_id == "D-5"] == [
        "the template Contoso-Confidential is issued by an RMS server"]
