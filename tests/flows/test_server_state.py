"""The switches and policies of a cluster's ServerState (MS-RMPR 3.1.1.1.1):
serverDecommissioned (3.3.4.1, 3.4.4.1–3.4.4.3, 3.5.4.1, 3.5.4.2, 3.7.4.1, and MS-RMSI
3.2.4.1 AcquireContentKey), onlinePublishingEnabled (3.5.4.1), templates overriding the
publishing license's policy (3.4.4.1, publishedTemplates and archivedTemplates) and
creationTimeTolerance (3.4.4.1).

covers: S-1, E-8, MS-RMPR 3.1.1.1.1, MS-RMPR 3.4.4.1, MS-RMPR 1.3.3, MS-RMSI 3.2.4.1
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from rmslab.crypto.content import ContentCipher
from rmslab.deployment import Deployment
from rmslab.errors import (ClusterDecommissionedError, ClusterNotDecommissionedError,
                           CredentialCreationTimeError, IssuanceLicenseTimeError,
                           NoRightsForPrincipalError, NotAdministratorError,
                           OnlinePublishingDisabledError, RefusedError)
from rmslab.flows._common import SERVER_STATE_RULE
from rmslab.flows.certification import certify_account, enroll_client
from rmslab.flows.publishing import (archive_template, download_templates, issue_template,
                                     publish_offline, publish_online, remove_template)
from rmslab.flows.server_state import (NO_MATCHING_PRINCIPAL, acquire_content_key,
                                       decommission_cluster, set_online_publishing)
from rmslab.rights import ANYONE, Grant, RightsPolicy
from rmslab.xrml import parse, read_protected_file
from rmslab.xrml.model import format_time
from rmslab.xrml.source import decode_text
from rmslab.xrml.writer import sign
from tests.flows.test_licensing_rules import _with_own_validity, acquire, offline, online

DECOMMISSIONED = "Microsoft.RightsManagementServices.ClusterDecommissionedException"
CONTENT = b"the minutes of the board\n" * 300


def decommission(deployment: Deployment, by: str = "rmsadmin") -> None:
    root = deployment.root_cluster
    decommission_cluster(root, root.first_server, by=deployment.user(by),
                         directory=deployment.directory)


def rights_of(use_license: str) -> list[str]:
    return [r.name for r in parse(use_license)[0].rights]


# --- serverDecommissioned -------------------------------------------------------------


def test_only_an_administrator_decommissions_and_it_is_logged(deployment: Deployment) -> None:
    # S-1, E-8: by an administrator of the server, and in the cluster's logging database
    root = deployment.root_cluster
    with pytest.raises(NotAdministratorError):
        decommission(deployment, by="bob")
    assert not root.decommissioned
    decommission(deployment)
    assert root.decommissioned and root.configuration().server_decommissioned
    entries = root.log.entries(kind="decommissioning")
    assert [(e.requester, e.outcome) for e in entries][-1][1] == "accepted"
    assert [e.outcome for e in entries] == ["refused", "accepted"]
    with pytest.raises(RefusedError, match="decommissioned already"):
        decommission(deployment)


def test_a_decommissioned_cluster_answers_none_of_the_operations_that_say_so(
        deployment: Deployment) -> None:
    # MS-RMPR 3.3.4.1, 3.4.4.1, 3.4.4.2, 3.4.4.3, 3.5.4.1, 3.5.4.2, 3.7.4.1
    root, anchor = deployment.root_cluster, deployment.enrollment_service.anchor
    chain = offline(deployment, RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)))
    acquire(deployment, "bob", chain)  # licensed before
    decommission(deployment)
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    attempts = {
        "Certify": lambda: certify_account(root, bob_pc, bob, deployment.directory),
        "GetClientLicensorCert": lambda: enroll_client(root, bob_pc, bob),
        "AcquireLicense": lambda: acquire(deployment, "bob", chain),
        "GetLicensorCertificate": lambda: publish_online(
            root, deployment.clients["ALICE-PC"], deployment.user("alice"),
            RightsPolicy((Grant(ANYONE, ("VIEW",)),)), b"x", io.BytesIO()),
        "AcquireTemplateInformation": lambda: download_templates(root, bob_pc, bob,
                                                                 anchor=anchor),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(ClusterDecommissionedError) as caught:
            attempt()
        assert caught.value.exception_name == DECOMMISSIONED, operation
        assert caught.value.spec_id == SERVER_STATE_RULE and operation in caught.value.reason
    # AcquireIssuanceLicense itself (the client may hold the SLC from before)
    from rmslab.flows.publishing import sign_issuance_license
    from rmslab.trace import Trace
    with pytest.raises(ClusterDecommissionedError):
        sign_issuance_license(root, "<XrML/>", trace=Trace("t"), to="ALICE-PC")
    # the refusals of Certify and GetClientLicensorCert are logged (E-8)
    assert root.log.entries(kind="account-certification", outcome="refused")
    # another cluster is not affected
    licensing = deployment.clusters["contoso-licensing"]
    assert not licensing.decommissioned


def test_the_validity_time_rule_holds_only_while_not_decommissioned(
        deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: IssuanceLicenseIsNotWithinValidTimeRangeException "if the current
    # time is not within the range ... and serverDecommissioned is false"; decommissioned,
    # ClusterDecommissionedException
    chain = _with_own_validity(deployment, issued=timedelta(0), until=timedelta(days=10))
    deployment.lab.advance(days=11)
    with pytest.raises(IssuanceLicenseTimeError):
        acquire(deployment, "bob", chain)
    decommission(deployment)
    with pytest.raises(ClusterDecommissionedError) as caught:
        acquire(deployment, "bob", chain)
    assert not [c for c in caught.value.trace.checks  # type: ignore[union-attr]
                if "VALIDITYTIME" in c.description]


def test_a_decommissioned_cluster_returns_content_keys_to_remove_protection(
        deployment: Deployment) -> None:
    # MS-RMSI 3.2.4.1, 4.1: AcquireContentKey, no policy evaluated, only when decommissioned
    root = deployment.root_cluster
    sink = io.BytesIO()
    publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                    RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)), CONTENT, sink)
    container = read_protected_file(sink.getvalue())
    chain = decode_text(container.license_bytes)
    with pytest.raises(ClusterNotDecommissionedError) as refused:
        acquire_content_key(root, chain)
    assert refused.value.exception_name.endswith("ClusterNotDecommissionedException")
    decommission(deployment)
    content, trace = acquire_content_key(root, chain)
    cipher = ContentCipher(content.key, content.content_mode)
    plain = io.BytesIO()
    cipher.decrypt_stream(io.BytesIO(container.content), plain)
    assert plain.getvalue() == CONTENT and trace.passed
    # a publishing license of another cluster: not this server's to open
    licensing = deployment.clusters["contoso-licensing"]
    other = online(deployment, RightsPolicy((Grant(ANYONE, ("VIEW",)),)), cluster=licensing)
    with pytest.raises(RefusedError) as caught:
        acquire_content_key(root, other)
    assert caught.value.exception_name == NO_MATCHING_PRINCIPAL


def test_a_decommissioned_lab_stays_decommissioned_on_disk(tmp_path: object) -> None:
    # the switch is state of the cluster: a column of its row (schema 4)
    from pathlib import Path
    from rmslab.deployment import standard_deployment
    from rmslab.lab import Lab
    from rmslab.store.labdb import LabStore
    target = Path(str(tmp_path)) / "lab"
    LabStore.create(standard_deployment(Lab(seed=0)), target)
    with LabStore(target).write() as deployment:
        decommission(deployment)
        set_online_publishing(deployment.clusters["contoso-licensing"],
                              deployment.clusters["contoso-licensing"].first_server, False,
                              by=deployment.user("rmsadmin"), directory=deployment.directory)
    with LabStore(target).read() as deployment:
        assert deployment.root_cluster.decommissioned
        assert deployment.root_cluster.online_publishing_enabled
        assert not deployment.clusters["contoso-licensing"].decommissioned
        assert not deployment.clusters["contoso-licensing"].online_publishing_enabled


# --- onlinePublishingEnabled ------------------------------------------------------------


def test_online_publishing_can_be_disabled_and_offline_publishing_goes_on(
        deployment: Deployment) -> None:
    # MS-RMPR 3.5.4.1: OnlinePublishingDisabledException; 3.5.4.2 and offline publishing
    root = deployment.root_cluster
    admin, directory = deployment.user("rmsadmin"), deployment.directory
    with pytest.raises(NotAdministratorError):
        set_online_publishing(root, root.first_server, False, by=deployment.user("bob"),
                              directory=directory)
    assert root.online_publishing_enabled
    set_online_publishing(root, root.first_server, False, by=admin, directory=directory)
    assert not root.configuration().online_publishing_enabled
    assert root.log.entries(kind="server-configuration")[-1].reason == \
        "onlinePublishingEnabled = false"
    policy = RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),))
    with pytest.raises(OnlinePublishingDisabledError) as caught:
        online(deployment, policy)
    assert caught.value.exception_name == ("Microsoft.DigitalRightsManagement.Licensing."
                                           "OnlinePublishingDisabledException")
    # offline: a CLC from GetClientLicensorCert, and the client's own publishing license
    enroll_client(root, deployment.clients["BOB-PC"], deployment.user("bob"))
    sink = io.BytesIO()
    publish_offline(deployment.clients["BOB-PC"], deployment.user("bob"),
                    RightsPolicy((Grant("carol@contoso.example", ("VIEW",)),)), b"x", sink)
    chain = decode_text(read_protected_file(sink.getvalue()).license_bytes)
    assert rights_of(acquire(deployment, "carol", chain)[0]) == ["VIEW"]
    set_online_publishing(root, root.first_server, True, by=admin, directory=directory)
    assert rights_of(acquire(deployment, "bob", online(deployment, policy))[0]) == ["VIEW"]


# --- templates override the publishing license's policy (MS-RMPR 3.4.4.1) --------------


def from_template(deployment: Deployment, name: str) -> str:
    alice_pc = deployment.clients["ALICE-PC"]
    if name not in alice_pc.account("alice").templates:  # issued for the test, then fetched
        issue_template(deployment.root_cluster, name, "Employees of Contoso may view only",
                       RightsPolicy((Grant(ANYONE, ("VIEW",)),)))
        download_templates(deployment.root_cluster, alice_pc, deployment.user("alice"),
                           anchor=deployment.enrollment_service.anchor)
    template = alice_pc.account("alice").templates[name]
    return publish_online(deployment.root_cluster, alice_pc, deployment.user("alice"),
                          RightsPolicy(()), CONTENT, io.BytesIO(),
                          template=template).publishing_license


def test_editing_a_template_changes_what_its_content_is_licensed_with(
        deployment: Deployment) -> None:
    root = deployment.root_cluster
    chain = from_template(deployment, "Contoso-ViewOnly")
    assert rights_of(acquire(deployment, "bob", chain)[0]) == ["VIEW"]
    before = parse(root.templates["Contoso-ViewOnly"])[0].id
    # the administrator edits the template: bob may now also print, carol nothing
    issue_template(root, "Contoso-ViewOnly", "Bob may view and print",
                   RightsPolicy((Grant("bob@contoso.example", ("VIEW", "PRINT")),)))
    assert parse(root.templates["Contoso-ViewOnly"])[0].id == before  # the same GUID
    ul, trace = acquire(deployment, "bob", chain)
    assert rights_of(ul) == ["VIEW", "PRINT"]
    assert any("published template Contoso-ViewOnly" in c.description
               for c in trace.checks)  # type: ignore[attr-defined]
    with pytest.raises(NoRightsForPrincipalError):  # the license itself says ANYONE: VIEW
        acquire(deployment, "carol", chain)
    # archived: not distributed any more, still the rights of its content
    archive_template(root, "Contoso-ViewOnly")
    assert rights_of(acquire(deployment, "bob", chain)[0]) == ["VIEW", "PRINT"]
    with pytest.raises(NoRightsForPrincipalError):
        acquire(deployment, "carol", chain)
    # deleted altogether: the publishing license's own policy again
    remove_template(root, "Contoso-ViewOnly")
    assert "Contoso-ViewOnly" not in root.archived_templates
    assert rights_of(acquire(deployment, "carol", chain)[0]) == ["VIEW"]
    assert rights_of(acquire(deployment, "bob", chain)[0]) == ["VIEW"]
    with pytest.raises(RefusedError):
        remove_template(root, "Contoso-ViewOnly")


def test_an_ad_hoc_license_is_not_overridden(deployment: Deployment) -> None:
    # only the template's GUID in the rights data's DESCRIPTOR makes the server look
    root = deployment.root_cluster
    chain = online(deployment, RightsPolicy((Grant("carol@contoso.example", ("VIEW",)),)))
    issue_template(root, "Contoso-ViewOnly", "nobody", RightsPolicy(
        (Grant("bob@contoso.example", ("VIEW",)),)))
    assert rights_of(acquire(deployment, "carol", chain)[0]) == ["VIEW"]


# --- creationTimeTolerance (MS-RMPR 3.4.4.1) --------------------------------------------


def rac_created(deployment: Deployment, user: str, created: object) -> None:
    """Give the user a RAC that carries a Credential-Creation-Time SECURITYLEVEL — which
    no RAC a real server (or the lab) writes carries — signed by the root cluster."""
    root, lab = deployment.root_cluster, deployment.lab
    account = deployment.clients[f"{user.upper()}-PC"].account(user)
    rac = parse(account.rac_text)[0]
    marker = '<SECURITYLEVEL name="Group-Identity-Credential-Type"'
    assert marker in rac.body_text
    body = re.sub(r'<SECURITYLEVEL name="Credential-Creation-Time" value="[^"]*"/>', "",
                  rac.body_text).replace(
        marker, f'<SECURITYLEVEL name="Credential-Creation-Time" value="{created}"/>'
        + marker, 1)
    assert root.slc_text is not None
    account.rac_text = sign(body, root.key, lab.digest_algorithm) + root.slc_text


def test_an_account_created_long_after_the_content_was_published_is_refused(
        deployment: Deployment) -> None:
    root, lab = deployment.root_cluster, deployment.lab
    chain = online(deployment, RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)))
    issued = parse(chain)[0].issued
    assert issued is not None and root.creation_time_tolerance == timedelta(days=15)
    rac_created(deployment, "bob", format_time(issued + timedelta(days=14)))
    assert rights_of(acquire(deployment, "bob", chain)[0]) == ["VIEW"]
    rac_created(deployment, "bob", format_time(issued + timedelta(days=16)))
    with pytest.raises(CredentialCreationTimeError) as caught:
        acquire(deployment, "bob", chain)
    assert caught.value.exception_name == ("Microsoft.DigitalRightsManagement.Licensing."
                                           "CredentialCreationTimeException")
    root.creation_time_tolerance = timedelta(days=30)
    assert rights_of(acquire(deployment, "bob", chain)[0]) == ["VIEW"]
    rac_created(deployment, "bob", "yesterday")
    with pytest.raises(RefusedError, match="Credential-Creation-Time"):
        acquire(deployment, "bob", chain)
    assert lab is deployment.lab


def test_templates_are_administered_by_an_administrator_and_logged(
        deployment: Deployment) -> None:
    # MS-RMPR 3.1.1.1.1 publishedTemplates, archivedTemplates; S-1, E-8
    from rmslab.errors import NotAdministratorError
    from rmslab.flows.server_state import administer_template
    root, directory = deployment.root_cluster, deployment.directory
    admin, bob = directory.user("rmsadmin"), directory.user("bob")
    policy = RightsPolicy((Grant(ANYONE, ("VIEW",)),))
    with pytest.raises(NotAdministratorError):
        administer_template(root, root.first_server, "T", by=bob, directory=directory,
                            policy=policy)
    assert "T" not in root.templates
    trace = administer_template(root, root.first_server, "T", by=admin, directory=directory,
                                policy=policy, description="view only")
    assert trace.passed and "T" in root.templates
    administer_template(root, root.first_server, "T", by=admin, directory=directory,
                        archive=True)
    assert "T" in root.archived_templates
    for wrong in ({}, {"archive": True, "remove": True}, {"policy": policy, "remove": True}):
        with pytest.raises(ValueError):
            administer_template(root, root.first_server, "T", by=admin,
                                directory=directory, **wrong)  # type: ignore[arg-type]
    kinds = [(e.kind, e.outcome) for e in root.log.entries(kind="server-configuration")]
    assert kinds == [("server-configuration", "refused"),
                     ("server-configuration", "accepted"),
                     ("server-configuration", "accepted")]


def test_protection_is_removed_only_through_a_decommissioned_cluster(
        deployment: Deployment) -> None:
    # MS-RMSI 3.2.4.1: nothing reaches the sink unless the key was returned
    from rmslab.flows.server_state import remove_protection
    sink = io.BytesIO()
    publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                    RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)), CONTENT, sink)
    out = io.BytesIO()
    with pytest.raises(ClusterNotDecommissionedError):
        remove_protection(deployment.root_cluster, io.BytesIO(sink.getvalue()), out)
    assert out.getvalue() == b""
    decommission(deployment)
    size, trace = remove_protection(deployment.root_cluster, io.BytesIO(sink.getvalue()), out)
    assert out.getvalue() == CONTENT and size == len(CONTENT) and trace.passed
