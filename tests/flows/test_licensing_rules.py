"""The licensing server decides as MS-RMPR 3.4.4.1 says: validity at issuance, trusted user
domains, owner and super-users, group membership, exclusion policies — and an expired SLC
issues nothing (MS-RMPR 3.1.6.2).

covers: L-1, P-7, E-9, MS-RMPR 3.4.4.1, MS-RMPR 3.1.6.2
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from rmslab.actors.client import Client
from rmslab.actors.cluster import LICENSING_ONLY, ROOT, ApplicationExclusion, Cluster
from rmslab.actors.people import User
from rmslab.deployment import Deployment
from rmslab.errors import (DrmacExcludedError, InvalidPersonaCertTimeError,
                           IssuanceLicenseTimeError, NoRightsForPrincipalError, RefusedError,
                           SlcExpiredError, UntrustedPersonaCertError)
from rmslab.flows.binding import AppSession, bind
from rmslab.flows.certification import activate_machine, certify_account, enroll_client
from rmslab.flows.enrollment import enroll_root_cluster, sub_enroll
from rmslab.flows.licensing import (LICENSING_RULE, acquire_use_license, distrust_user_domain,
                                    exclude_account, exclude_application, set_super_user_group,
                                    trust_user_domain)
from rmslab.flows.publishing import (issue_template, publish_offline, publish_online)
from rmslab.flows.renewal import renew_slc_online
from rmslab.rights import ANYONE, Grant, RightsPolicy
from rmslab.xrml import parse
from rmslab.xrml.licenses import (descriptor_xml, license_points_xml, owner_metadata_xml,
                                  pl_work_xml, publishing_license_body)
from rmslab.xrml.writer import Markup
from rmslab.xrml.model import format_time
from rmslab.xrml.writer import sign

EXCEPTIONS = "Microsoft.DigitalRightsManagement.Licensing."


def view_for(*users: str) -> RightsPolicy:
    return RightsPolicy(tuple(Grant(u, ("VIEW",)) for u in users))


def online(deployment: Deployment, policy: RightsPolicy, *, author: str = "alice",
           cluster: Cluster | None = None) -> str:
    result = publish_online(cluster or deployment.root_cluster,
                            deployment.clients[f"{author.upper()}-PC"], deployment.user(author),
                            policy, b"the plan\n", io.BytesIO())
    return result.publishing_license


def offline(deployment: Deployment, policy: RightsPolicy) -> str:
    result = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"), policy,
                             b"the plan\n", io.BytesIO())
    return result.publishing_license


def acquire(deployment: Deployment, user: str, chain: str,
            cluster: Cluster | None = None) -> tuple[str, object]:
    return acquire_use_license(cluster or deployment.root_cluster,
                               deployment.clients[f"{user.upper()}-PC"], deployment.user(user),
                               chain, anchor=deployment.enrollment_service.anchor)


def renew_and_recertify(deployment: Deployment, *, days: int) -> None:
    """Renew the root cluster's SLC, move past the first SLC's end, and give Bob and Carol
    new RACs (theirs ended with it); Alice keeps her old RAC and CLC."""
    lab, root = deployment.lab, deployment.root_cluster
    admin = deployment.user("rmsadmin")
    lab.advance(days=300)
    renew_slc_online(deployment.enrollment_service, root, root.first_server, by=admin,
                     directory=deployment.directory)
    lab.advance(days=days)
    for name in ("bob", "carol"):
        certify_account(root, deployment.clients[f"{name.upper()}-PC"], deployment.user(name),
                        deployment.directory)


# --- 1. validity at issuance, not at use (MS-RMPR 3.1.6.2, 3.4.4.1) -------------------------


def test_online_content_stays_licensable_after_its_slc_is_renewed_and_expires(
        deployment: Deployment) -> None:
    # L-1, MS-RMPR 3.1.6.2: the first SLC issued the publishing license while it could
    chain = online(deployment, view_for("bob@contoso.example"))
    renew_and_recertify(deployment, days=70)
    first_slc = parse(deployment.root_cluster.previous_slcs[0])[0]
    assert first_slc.validity is not None and first_slc.validity.not_after is not None
    assert first_slc.validity.not_after < deployment.lab.now()  # the SLC in the chain expired
    assert parse(chain)[1].id == first_slc.id
    ul, trace = acquire(deployment, "bob", chain)
    assert [r.name for r in parse(ul)[0].rights] == ["VIEW"]
    checked = next(c for c in trace.checks  # type: ignore[attr-defined]
                   if c.description == "the publishing license verifies up to the root")
    assert checked.passed and "MS-RMPR 3.1.6.2" in checked.reason


def test_offline_content_stays_licensable_after_the_authors_clc_expires(
        deployment: Deployment) -> None:
    # L-1, MS-RMPR 3.1.6.2: the CLC signed the publishing license while it could
    chain = offline(deployment, view_for("bob@contoso.example"))
    clc = parse(chain)[1]
    renew_and_recertify(deployment, days=70)
    assert clc.validity is not None and clc.validity.not_after is not None
    assert clc.validity.not_after < deployment.lab.now()
    ul, _ = acquire(deployment, "bob", chain)
    assert parse(ul)[0].content_id == parse(chain)[0].content_id
    # and the content opens with the new use license
    binding = bind(AppSession(deployment.clients["BOB-PC"], deployment.user("bob")), chain,
                   "VIEW", anchor=deployment.enrollment_service.anchor)
    assert binding.allowed


def test_a_license_issued_after_its_issuer_expired_is_refused(deployment: Deployment) -> None:
    # MS-RMPR 3.1.6.2: a CLC that had expired could not issue this publishing license
    renew_and_recertify(deployment, days=70)
    chain = offline(deployment, view_for("bob@contoso.example"))  # signed with an expired CLC
    with pytest.raises(IssuanceLicenseTimeError) as caught:
        acquire(deployment, "bob", chain)
    error = caught.value
    assert error.exception_name == EXCEPTIONS + "IssuanceLicenseIsNotWithinValidTimeRangeException"
    assert "client licensor certificate" in error.reason and "could issue" in error.reason
    failed = error.trace.failed_checks  # type: ignore[union-attr]
    assert failed[0].description == "each issuer of the publishing license could issue when it did"


def _with_own_validity(deployment: Deployment, *, issued: timedelta, until: timedelta) -> str:
    """An online publishing license, re-signed by the root cluster with a VALIDITYTIME (and
    an ISSUEDTIME moved by ``issued``)."""
    root, lab = deployment.root_cluster, deployment.lab
    pl = parse(online(deployment, view_for("bob@contoso.example")))[0]
    assert pl.issued is not None
    body = pl.body_text.replace(
        f"<ISSUEDTIME>{format_time(pl.issued)}</ISSUEDTIME>",
        f"<ISSUEDTIME>{format_time(pl.issued + issued)}</ISSUEDTIME><VALIDITYTIME>"
        f"<FROM>{format_time(lab.now())}</FROM><UNTIL>{format_time(lab.now() + until)}</UNTIL>"
        "</VALIDITYTIME>", 1)
    assert body != pl.body_text
    assert root.slc_text is not None
    return sign(body, root.key, lab.digest_algorithm) + root.slc_text


def test_the_publishing_licenses_own_validity_is_checked_now(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: VALIDITYTIME of the publishing license at the current time
    chain = _with_own_validity(deployment, issued=timedelta(0), until=timedelta(days=10))
    _, trace = acquire(deployment, "bob", chain)
    assert any(c.description == "the publishing license is within its VALIDITYTIME now"
               and c.passed for c in trace.checks)  # type: ignore[attr-defined]
    deployment.lab.advance(days=11)
    with pytest.raises(IssuanceLicenseTimeError) as caught:
        acquire(deployment, "bob", chain)
    assert caught.value.spec_id == LICENSING_RULE
    failed = caught.value.trace.failed_checks  # type: ignore[union-attr]
    assert failed[0].description == "the publishing license is within its VALIDITYTIME now"


def test_a_publishing_license_issued_in_the_future_is_refused(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: backdating is the issuer's word; a license from the future is not
    chain = _with_own_validity(deployment, issued=timedelta(days=2), until=timedelta(days=10))
    with pytest.raises(IssuanceLicenseTimeError, match="not valid before it was issued"):
        acquire(deployment, "bob", chain)


def test_an_expired_rac_is_refused_with_its_exception_name(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: the RAC itself must be valid now
    chain = online(deployment, view_for("bob@contoso.example"))
    root = deployment.root_cluster
    deployment.lab.advance(days=300)
    renew_slc_online(deployment.enrollment_service, root, root.first_server,
                     by=deployment.user("rmsadmin"), directory=deployment.directory)
    deployment.lab.advance(days=70)  # bob's RAC ended with the first SLC; he is not recertified
    with pytest.raises(InvalidPersonaCertTimeError) as caught:
        acquire(deployment, "bob", chain)
    assert caught.value.exception_name == EXCEPTIONS + "InvalidPersonaCertTimeException"


# --- 2. trusted user domains (MS-RMPR 3.1.1.1.1 trustedRacIssuers, 3.4.4.1) ------------------


def foreign_organisation(deployment: Deployment, *, name: str = "fabrikam-root",
                         url: str = "https://rms.fabrikam.example/_wmcs") -> tuple[Cluster, Client, User]:
    """Another organisation enrolled with the same enrollment service: its root cluster
    chains to the same root key as contoso's, and certifies its own user, dave."""
    other = Deployment(deployment.lab, domain="fabrikam.example",
                       enrollment_service=deployment.enrollment_service)
    admin = other.directory.add_user("fabadmin", groups=("Domain Admins",))
    dave = other.directory.add_user("dave")
    cluster = other.add_cluster(name, url, role=ROOT, first_server="FAB01",
                                administrators={"fabadmin"})
    enroll_root_cluster(other.enrollment_service, cluster, by=admin)
    client = other.add_client("DAVE-PC")
    activate_machine(client)
    certify_account(cluster, client, dave, other.directory)
    return cluster, client, dave


def test_a_rac_from_a_foreign_cluster_is_refused_until_its_domain_is_trusted(
        deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: UntrustedPersonaCertException
    root, anchor = deployment.root_cluster, deployment.enrollment_service.anchor
    fabrikam, dave_pc, dave = foreign_organisation(deployment)
    chain = online(deployment, RightsPolicy((Grant(ANYONE, ("VIEW",)),)))
    with pytest.raises(UntrustedPersonaCertError) as caught:
        acquire_use_license(root, dave_pc, dave, chain, anchor=anchor)
    error = caught.value
    assert error.exception_name == EXCEPTIONS + "UntrustedPersonaCertException"
    assert error.spec_id == LICENSING_RULE
    assert [c.description for c in error.trace.failed_checks] == [  # type: ignore[union-attr]
        "the RAC's issuer is a trusted user domain of contoso-root"]
    assert dave.email not in str(root.configuration())

    assert fabrikam.slc_text is not None
    imported = trust_user_domain(root, fabrikam.slc_text, name="fabrikam")
    assert imported.checks[-1].passed and imported.checks[-1].spec_id == LICENSING_RULE
    configuration = root.configuration()
    assert [t.source for t in configuration.trusted_rac_issuers] == [
        "contoso-root (its own SLC)", "trusted user domain fabrikam"]
    assert "trustedRacIssuers: contoso-root (its own SLC)" in str(configuration)
    ul, trace = acquire_use_license(root, dave_pc, dave, chain, anchor=anchor)
    assert parse(ul)[0].principals[0].name == dave.email
    assert "issued by trusted user domain fabrikam" in [c.reason for c in trace.checks]

    removed = distrust_user_domain(root, "fabrikam")
    assert removed.checks[-1].passed
    with pytest.raises(UntrustedPersonaCertError):
        acquire_use_license(root, dave_pc, dave, chain, anchor=anchor)
    with pytest.raises(RefusedError, match="no trusted user domain"):
        distrust_user_domain(root, "fabrikam")


def test_a_cluster_that_impersonates_ours_by_name_and_url_is_still_untrusted(
        deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: trust goes by the issuer's key, never by its name
    root = deployment.root_cluster
    impostor, mallory_pc, mallory = foreign_organisation(
        deployment, name="contoso-root-copy", url=root.url)
    rac = parse(mallory_pc.account(mallory.name).rac_text)[0]
    assert rac.issuer is not None and rac.issuer.url == root.url
    chain = online(deployment, RightsPolicy((Grant(ANYONE, ("VIEW",)),)))
    with pytest.raises(UntrustedPersonaCertError):
        acquire_use_license(root, mallory_pc, mallory, chain,
                            anchor=deployment.enrollment_service.anchor)


def test_a_licensing_only_cluster_trusts_the_racs_of_its_root_cluster(
        deployment: Deployment) -> None:
    # MS-RMPR 3.1.1.1.1: the accounts of the forest are certified by the root cluster
    licensing = deployment.clusters["contoso-licensing"]
    assert licensing.role == LICENSING_ONLY
    sources = [t.source for t in licensing.configuration().trusted_rac_issuers]
    assert sources[0] == "contoso-licensing (its own SLC)"
    assert "the root certification cluster that sub-enrolled it" in sources[1]
    chain = online(deployment, view_for("bob@contoso.example"), cluster=licensing)
    acquire(deployment, "bob", chain, cluster=licensing)


def test_importing_a_trusted_user_domain_checks_the_chain(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: only a verified SLC chain becomes a trusted user domain
    root = deployment.root_cluster
    fabrikam, _, _ = foreign_organisation(deployment)
    assert fabrikam.slc_text is not None and root.slc_text is not None
    changed = fabrikam.slc_text.replace("rms.fabrikam.example", "rms.fabrikan.example", 1)
    with pytest.raises(RefusedError, match="does not verify") as caught:
        trust_user_domain(root, changed, name="fabrikam")
    assert caught.value.trace is not None
    with pytest.raises(RefusedError, match="own SLC"):
        trust_user_domain(root, root.slc_text)
    alice_rac = deployment.clients["ALICE-PC"].account("alice").rac_text
    with pytest.raises(RefusedError, match="not a rights account certificate"):
        trust_user_domain(root, alice_rac, name="accounts")
    assert root.trusted_user_domains == {}


def test_trusted_publishing_domains_are_the_trusted_licensing_servers(
        deployment: Deployment) -> None:
    # P-7: trustedLicensingServers
    from rmslab.flows.licensing import (export_trusted_publishing_domain,
                                        import_trusted_publishing_domain)
    licensing = deployment.clusters["contoso-licensing"]
    assert licensing.configuration().trusted_licensing_servers == ()
    exported = export_trusted_publishing_domain(deployment.root_cluster, "correct horse")
    import_trusted_publishing_domain(licensing, exported, "correct horse")
    servers = licensing.configuration().trusted_licensing_servers
    assert [(s.source, s.key) for s in servers] == [
        ("trusted publishing domain contoso-root", deployment.root_cluster.key.public)]


# --- 3. owner, super-users, groups, exclusions (MS-RMPR 3.4.4.1) ------------------------------


def test_the_owner_gets_owner_even_when_the_rights_do_not_name_them(
        deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: the OWNER of the publishing license receives OWNER
    chain = online(deployment, view_for("bob@contoso.example"), author="alice")
    ul, trace = acquire(deployment, "alice", chain)
    use_license = parse(ul)[0]
    assert [r.name for r in use_license.rights] == ["OWNER"]
    assert any(c.description == "alice@contoso.example is the owner the publishing license "
                                "names" and c.passed for c in trace.checks)  # type: ignore[attr-defined]
    # and offline content too: the author asks the server from another computer
    offline_chain = offline(deployment, view_for("bob@contoso.example"))
    ul, _ = acquire(deployment, "alice", offline_chain)
    assert [r.name for r in parse(ul)[0].rights] == ["OWNER"]


def test_an_owner_claim_around_copied_encrypted_parts_is_not_honoured(
        deployment: Deployment) -> None:
    # attack (MS-RMPR 3.4.4.1): Carol re-signs Alice's content key and rights with her own
    # CLC, naming herself owner; the rights data, written under the content key, names Alice
    root = deployment.root_cluster
    carol_pc, carol = deployment.clients["CAROL-PC"], deployment.user("carol")
    enroll_client(root, carol_pc, carol)
    original = parse(online(deployment, view_for("bob@contoso.example"), author="alice"))[0]
    clc_chain = carol_pc.account("carol").clc_text
    assert clc_chain is not None
    clc = parse(clc_chain)[0]
    lab = deployment.lab
    author = clc.principals[0].identity()
    forged = sign(publishing_license_body(
        issued=lab.now(), descriptor=descriptor_xml(lab.guid("license")), issuer=author,
        license_points=license_points_xml((lab.guid("point"), f"{root.url}/licensing"), None),
        # the sealed content key and the encrypted rights, copied as they are
        issued_principals=Markup(original.element_text("BODY/ISSUEDPRINCIPALS")),
        referral=None,
        work=pl_work_xml(original.content_id or "", owner_metadata_xml(carol.email)),
        authenticated_data=[Markup(original.element_text("BODY/AUTHENTICATEDDATA"))]),
        carol_pc.clc_key("carol"), lab.digest_algorithm) + clc_chain
    with pytest.raises(NoRightsForPrincipalError) as caught:
        acquire(deployment, "carol", forged)
    assert caught.value.exception_name == EXCEPTIONS + "NoRightsForRequestedPrincipalException"
    claim = next(c for c in caught.value.trace.checks  # type: ignore[union-attr]
                 if c.description.endswith("is the owner the publishing license names"))
    assert not claim.passed and "names alice@contoso.example" in claim.reason


def test_members_of_the_super_user_group_get_owner(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: superUserEnabled, superUserGroup
    root = deployment.root_cluster
    deployment.directory.add_group("rms-superusers", members={"carol"})
    chain = online(deployment, view_for("bob@contoso.example"))
    with pytest.raises(NoRightsForPrincipalError):
        acquire(deployment, "carol", chain)
    set_super_user_group(root, "rms-superusers@contoso.example")
    assert root.configuration().super_user_group == "rms-superusers@contoso.example"
    ul, trace = acquire(deployment, "carol", chain)
    assert [r.name for r in parse(ul)[0].rights] == ["OWNER"]
    assert "a member of the super-user group" in [c.reason for c in trace.checks  # type: ignore[attr-defined]
                                                  if "super-user" in c.description][0]
    with pytest.raises(NoRightsForPrincipalError):  # bob is no super-user: VIEW only
        ul, _ = acquire(deployment, "bob", online(deployment, view_for("carol@contoso.example")))
    set_super_user_group(root, None)
    with pytest.raises(NoRightsForPrincipalError):
        acquire(deployment, "carol", chain)


def test_a_grant_to_a_group_licenses_its_members(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1 and MS-RMPRS 3.5.4.1: group membership, nested groups too
    directory = deployment.directory
    directory.add_group("finance", members={"carol"})
    directory.add_group("staff", members={"finance@contoso.example"})
    for group in ("finance@contoso.example", "staff@contoso.example"):
        chain = online(deployment, RightsPolicy((Grant(group, ("VIEW", "PRINT")),)))
        ul, trace = acquire(deployment, "carol", chain)
        use_license = parse(ul)[0]
        assert sorted(r.name for r in use_license.rights) == ["PRINT", "VIEW"]
        assert f"carol@contoso.example is a member of the group {group}" in [
            c.description for c in trace.checks]  # type: ignore[attr-defined]
        session = AppSession(deployment.clients["CAROL-PC"], deployment.user("carol"))
        assert bind(session, chain, "PRINT",
                    anchor=deployment.enrollment_service.anchor).allowed
        with pytest.raises(NoRightsForPrincipalError):
            acquire(deployment, "bob", chain)
    assert not directory.is_principal_member_of("nobody@contoso.example",
                                                ["finance@contoso.example"])
    assert not directory.is_principal_member_of("carol@contoso.example",
                                                ["unknown@contoso.example"])


def test_nested_groups_that_loop_end(deployment: Deployment) -> None:
    # MS-RMPRS 3.5.4.1: group expansion is bounded
    directory = deployment.directory
    directory.add_group("a", members={"b@contoso.example"})
    directory.add_group("b", members={"a@contoso.example"})
    assert not directory.is_principal_member_of("carol@contoso.example", ["a@contoso.example"])


def test_an_excluded_rac_is_refused(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: racExclusionPolicy → DrmacIsExcludedException
    root = deployment.root_cluster
    chain = online(deployment, view_for("bob@contoso.example"))
    exclude_account(root, deployment.clients["BOB-PC"].account_key("bob").public)
    with pytest.raises(DrmacExcludedError) as caught:
        acquire(deployment, "bob", chain)
    assert caught.value.exception_name == EXCEPTIONS + "DrmacIsExcludedException"
    assert len(root.configuration().rac_exclusion_policy) == 1


def test_application_exclusions_travel_in_every_use_license(deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1, 2.2.9.9.7, 2.2.9.9.8: applicationExclusionPolicy → POLICY elements
    root = deployment.root_cluster
    exclusion = ApplicationExclusion("oldviewer.exe", "1.0.0.0", "2.5.0.0")
    exclude_application(root, exclusion)
    chain = online(deployment, view_for("bob@contoso.example"))
    ul, trace = acquire(deployment, "bob", chain)
    policy = parse(ul)[0].element.find("BODY/POLICYLIST")
    assert policy is not None and policy.get("type") == "exclusion"
    assert policy.findtext("POLICY/OBJECT/ID") == "oldviewer.exe"
    assert policy.find("POLICY/OBJECT/ID").get("type") == "filename"  # type: ignore[union-attr]
    span = policy.find("POLICY/OBJECT/VERSIONSPAN")
    assert span is not None and (span.get("min"), span.get("max")) == ("1.0.0.0", "2.5.0.0")
    assert root.configuration().application_exclusion_policy == (exclusion,)
    with pytest.raises(ValueError):
        ApplicationExclusion("viewer.exe", "one", "2")


# --- 4. an expired SLC issues nothing (MS-RMPR 3.1.6.2) ---------------------------------------


def test_a_cluster_whose_slc_expired_issues_nothing(deployment: Deployment) -> None:
    # MS-RMPR 3.1.6.2, E-8, E-9
    root, lab = deployment.root_cluster, deployment.lab
    chain = online(deployment, view_for("bob@contoso.example"))
    window = root.issue_window
    assert window is not None and window.not_after is not None
    lab.advance(days=366)
    assert lab.now() > window.not_after
    end = f"expired on {window.not_after:%Y-%m-%d %H:%M} UTC"
    newcomer = deployment.add_client("DAVE-PC")
    dave = deployment.directory.add_user("dave")
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    activate_machine(newcomer)  # the client's own act (MS-RMPR 3.8.4.1): no SLC needed
    attempts = [
        lambda: certify_account(root, bob_pc, bob, deployment.directory),
        lambda: enroll_client(root, bob_pc, bob),
        lambda: acquire(deployment, "bob", chain),
        lambda: issue_template(root, "Late", "too late", view_for(ANYONE)),
        lambda: online(deployment, view_for("bob@contoso.example")),
    ]
    for attempt in attempts:
        with pytest.raises(SlcExpiredError, match=end) as caught:
            attempt()
        assert caught.value.spec_id == "MS-RMPR 3.1.6.2"
        assert caught.value.not_after == window.not_after
    refused = root.log.entries(outcome="refused")
    assert {e.spec_id for e in refused} == {"MS-RMPR 3.1.6.2"}
    assert {e.kind for e in refused} == {"account-certification", "client-enrollment"}
    late = Cluster(lab, "late-licensing", "https://late.contoso.example/_wmcs",
                   role=LICENSING_ONLY)
    late.add_server("LATE01")
    with pytest.raises(SlcExpiredError):
        sub_enroll(root, late, by=deployment.user("rmsadmin"))
    assert dave.name in deployment.directory.users
    # renewed, the cluster issues again
    renew_slc_online(deployment.enrollment_service, root, root.first_server,
                     by=deployment.user("rmsadmin"), directory=deployment.directory)
    certify_account(root, bob_pc, bob, deployment.directory)
    acquire(deployment, "bob", chain)
