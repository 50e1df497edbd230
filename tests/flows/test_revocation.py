"""Revocation: signed lists, registration per application session, the binding checks
in the documented order (R-3), and the documentation's worked example (R-9).

covers: R-1, R-2, R-3, R-4, R-5, R-6, R-7, R-8, R-9
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import BindingRefusedError
from rmslab.flows.binding import AppSession, bind, explain_binding
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import issue_template, policy_from_template, publish_online
from rmslab.flows.revocation import issue_cluster_list, requirement_for
from rmslab.revocation import Revoke, RevocationIndex
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml import parse
from rmslab.xrml.verify import verify_document

A_URL = "https://licensing.contoso.example/_wmcs/revocation/a.xml"


@dataclass
class World:
    deployment: Deployment
    contents: dict[str, str]  # name -> publishing license chain

    @property
    def anchor(self):  # type: ignore[no-untyped-def]
        return self.deployment.enrollment_service.anchor

    def session(self, user: str = "bob", application: str = "Word") -> AppSession:
        d = self.deployment
        return AppSession(d.clients[f"{user.upper()}-PC"], d.user(user), application, web=d.web)

    def content_id(self, name: str) -> str:
        return parse(self.contents[name])[0].content_id or ""


def build(deployment: Deployment, *, a_requires: bool = True) -> World:
    """Entity A = the licensing-only cluster, entity C = the root cluster (A is not in C's
    chain of trust). Bob may view three documents."""
    a = deployment.clusters["contoso-licensing"]
    c = deployment.root_cluster
    bob, carol = deployment.user("bob"), deployment.user("carol")
    requirement = requirement_for(A_URL, a.key.public, interval_days=7)
    contents = {}
    plans = [("content 1", a, requirement if a_requires else None), ("content 2", a, None),
             ("content 3", c, None)]
    for name, cluster, needs in plans:
        sink = io.BytesIO()
        policy = RightsPolicy((Grant(bob.email, ("VIEW",)),), revocation=needs)
        result = publish_online(cluster, deployment.clients["CAROL-PC"], carol, policy,
                                name.encode(), sink)
        contents[name] = result.publishing_license
        acquire_use_license(cluster, deployment.clients["BOB-PC"], bob,
                            result.publishing_license,
                            anchor=deployment.enrollment_service.anchor)
    return World(deployment, contents)


def publish_a_list(world: World, entries: list[Revoke]) -> str:
    a = world.deployment.clusters["contoso-licensing"]
    text = issue_cluster_list(a, A_URL, entries)
    world.deployment.web.publish(A_URL, text)
    return text


def test_lists_are_signed_xrml(deployment: Deployment) -> None:
    #
    world = build(deployment)
    text = publish_a_list(world, [Revoke("content", "content-id", world.content_id("content 2"))])
    document = parse(text)[0]
    assert document.kind == "Revocation-List"
    verify_document(document)
    index = RevocationIndex(document)
    assert len(index) == 1 and index.url == A_URL
    assert index.revokes_id("content-id", world.content_id("content 2").lower())
    tampered = parse(text.replace("content-id", "license-id"))[0]
    with pytest.raises(Exception):
        verify_document(tampered)


def test_the_seeds_worked_example(deployment: Deployment) -> None:
    # R-9 exactly as the revocation documentation tells it (and along the way)
    world = build(deployment)
    publish_a_list(world, [Revoke("content", "content-id", world.content_id("content 2"))])
    word = world.session()
    # content 1: UL from A requires A's list: downloaded, registered, bound
    first = explain_binding(word, world.contents["content 1"], "VIEW", anchor=world.anchor)
    assert first.allowed
    assert A_URL in word.registered_lists
    assert "downloaded from the URL in the use license" in [
        c.reason for c in first.checks if c.spec_id == "R-4"]
    # content 2: UL from A, not requiring it — still checked while the application is open
    second = explain_binding(word, world.contents["content 2"], "VIEW", anchor=world.anchor)
    assert not second.allowed
    assert [c.spec_id for c in second.checks if c.spec_id == "R-8"] == ["R-8"]
    assert second.failed is not None and second.failed.spec_id == "R-1"
    assert "content-id" in second.failed.reason
    # content 3: UL from C, not requiring it — A's list does not apply
    third = explain_binding(word, world.contents["content 3"], "VIEW", anchor=world.anchor)
    assert third.allowed
    assert "no list applies" in [c.reason for c in third.checks if c.spec_id == "R-3"][-1]
    # the application closes and reopens: content 2 is no longer checked
    word.close()
    assert word.registered_lists == {}
    reopened = word.reopen()
    again = explain_binding(reopened, world.contents["content 2"], "VIEW", anchor=world.anchor)
    assert again.allowed
    assert not [c for c in again.checks if c.spec_id == "R-8"]


def test_revocation_is_optional(deployment: Deployment) -> None:
    # without a requirement and without registered lists nothing is consulted
    world = build(deployment, a_requires=False)
    binding = explain_binding(world.session(), world.contents["content 1"], "VIEW",
                              anchor=world.anchor)
    assert binding.allowed
    assert [c.reason for c in binding.checks if c.spec_id == "R-3"][0] == "no"


def test_a_template_can_require_revocation(deployment: Deployment) -> None:
    # licenses made from the template carry the requirement
    a = deployment.clusters["contoso-licensing"]
    template = issue_template(a, "Revocable", "requires A's list", RightsPolicy(
        (Grant("ANYONE", ("VIEW",)),), revocation=requirement_for(A_URL, a.key.public)))
    policy = policy_from_template(template)
    assert policy.revocation is not None and policy.revocation.url == A_URL
    sink = io.BytesIO()
    result = publish_online(a, deployment.clients["CAROL-PC"], deployment.user("carol"), policy,
                            b"x", sink)
    ul, _ = acquire_use_license(a, deployment.clients["BOB-PC"], deployment.user("bob"),
                                result.publishing_license,
                                anchor=deployment.enrollment_service.anchor)
    rights = parse(ul)[0].rights
    assert rights[0].revocation_list is not None and rights[0].revocation_list.address == A_URL


def test_required_list_must_be_present(deployment: Deployment) -> None:
    # nothing published, nothing placed
    world = build(deployment)
    with pytest.raises(BindingRefusedError) as caught:
        bind(world.session(), world.contents["content 1"], "VIEW", anchor=world.anchor)
    assert caught.value.spec_id == "R-7"


def test_an_administrator_may_place_the_list(deployment: Deployment) -> None:
    # placed on the client; binding works even offline
    world = build(deployment)
    text = issue_cluster_list(deployment.clusters["contoso-licensing"], A_URL, [])
    bob_pc = deployment.clients["BOB-PC"]
    bob_pc.placed_revocation_lists[A_URL] = text
    bob_pc.connected = False
    binding = explain_binding(world.session(), world.contents["content 1"], "VIEW",
                              anchor=world.anchor)
    assert binding.allowed
    assert "placed on the client by an administrator" in [
        c.reason for c in binding.checks if c.spec_id == "R-4"]


def test_a_stale_list_refuses(deployment: Deployment) -> None:
    # older than the refresh interval of the use license
    world = build(deployment)
    publish_a_list(world, [])
    deployment.lab.advance(days=8)
    binding = explain_binding(world.session(), world.contents["content 1"], "VIEW",
                              anchor=world.anchor)
    assert binding.failed is not None and binding.failed.spec_id == "R-7"
    assert "may be 7 days old at most" in binding.failed.reason


def test_a_list_signed_by_someone_who_may_not_revoke(deployment: Deployment) -> None:
    # R-3 step 3: C signs a list and puts it at A's URL
    world = build(deployment)
    forged = issue_cluster_list(deployment.root_cluster, A_URL, [])
    deployment.web.publish(A_URL, forged)
    binding = explain_binding(world.session(), world.contents["content 1"], "VIEW",
                              anchor=world.anchor)
    assert binding.failed is not None
    assert binding.failed.description.startswith("step 3:")


@pytest.mark.parametrize("entry_for,expected", [
    (lambda w: Revoke("user", "principal-key",
                      key=w.deployment.clients["BOB-PC"].account_key("bob").public),
     "principal-key"),
    (lambda w: Revoke("user", "principal-id", "bob@contoso.example"), "principal-id"),
    (lambda w: Revoke("application", "principal-id", "Word"), "the principal Word"),
    (lambda w: Revoke("issuer", "issuer-key",
                      key=w.deployment.root_cluster.key.public), "issuer-key"),
    (lambda w: Revoke("license", "license-id", parse(
        w.deployment.clients["BOB-PC"].account("bob").licenses[w.content_id("content 1")]
    )[0].id), "license-id"),
])
def test_revoked_entities_refuse_binding(deployment: Deployment, entry_for: object,
                                         expected: str) -> None:
    # step 4: a revoked user, application, issuer in the middle of the chain
    # (the root cluster signed A's SLC), or license
    world = build(deployment)
    publish_a_list(world, [entry_for(world)])  # type: ignore[operator]
    with pytest.raises(BindingRefusedError) as caught:
        bind(world.session(), world.contents["content 1"], "VIEW", anchor=world.anchor)
    assert caught.value.spec_id == "R-1"
    assert expected in caught.value.reason
    # another application is not revoked by an application entry
    if expected == "the principal Word":
        assert bind(world.session(application="Viewer"), world.contents["content 1"], "VIEW",
                    anchor=world.anchor).allowed
