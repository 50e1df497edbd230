"""Licensing and binding: who may license, which rights, and every binding check.

covers: L-1, P-7, B-1, B-2
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import BindingRefusedError, RefusedError
from rmslab.flows.binding import AppSession, bind, explain_binding, open_protected
from rmslab.flows.licensing import (WrongPasswordError, acquire_use_license,
                                    export_trusted_publishing_domain,
                                    import_trusted_publishing_domain)
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml import read_chain

CONTENT = b"Board minutes\n" * 300


def protect(deployment: Deployment, policy: RightsPolicy) -> tuple[bytes, str]:
    sink = io.BytesIO()
    result = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"), policy,
                             CONTENT, sink)
    return sink.getvalue(), result.publishing_license


@pytest.fixture()
def protected(deployment: Deployment) -> tuple[bytes, str]:
    return protect(deployment, RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)))


def license_for(deployment: Deployment, user: str, chain: str) -> str:
    client = deployment.clients[f"{user.upper()}-PC"]
    ul, _ = acquire_use_license(deployment.root_cluster, client, deployment.user(user), chain,
                                anchor=deployment.enrollment_service.anchor)
    return ul


def test_use_license_grants_only_the_users_rights(deployment: Deployment,
                                                  protected: tuple[bytes, str]) -> None:
    # L-1
    _, chain = protected
    ul = read_chain(license_for(deployment, "bob", chain).encode())
    use_license = ul[0]
    assert use_license.kind == "Content-License"
    assert [r.name for r in use_license.rights] == ["VIEW"]
    bob = deployment.clients["BOB-PC"]
    assert use_license.principals[0].public_key == bob.account_key("bob").public
    assert use_license.issuer_key == deployment.root_cluster.key.public
    assert use_license.content_id == read_chain(chain.encode())[0].content_id


def test_a_user_without_rights_gets_no_license(deployment: Deployment,
                                               protected: tuple[bytes, str]) -> None:
    # L-1
    with pytest.raises(RefusedError, match="no rights") as caught:
        license_for(deployment, "carol", protected[1])
    assert caught.value.spec_id == "L-1"


def test_another_server_refuses_then_accepts_with_a_trusted_domain(
        deployment: Deployment, protected: tuple[bytes, str]) -> None:
    # P-7
    licensing = deployment.clusters["contoso-licensing"]
    bob = deployment.clients["BOB-PC"]
    anchor = deployment.enrollment_service.anchor
    with pytest.raises(RefusedError) as caught:
        acquire_use_license(licensing, bob, deployment.user("bob"), protected[1], anchor=anchor)
    assert caught.value.spec_id == "P-7"
    assert "P-7" in {c.spec_id for c in caught.value.trace.failed_checks}  # type: ignore[union-attr]
    exported = export_trusted_publishing_domain(deployment.root_cluster, "correct horse")
    with pytest.raises(WrongPasswordError):
        import_trusted_publishing_domain(licensing, exported, "wrong password")
    assert licensing.trusted_domains == {}  # nothing imported
    assert import_trusted_publishing_domain(licensing, exported, "correct horse") == "contoso-root"
    ul, trace = acquire_use_license(licensing, bob, deployment.user("bob"), protected[1],
                                    anchor=anchor)
    opened = next(c for c in trace.checks if c.spec_id == "P-7")
    assert opened.passed and "trusted publishing domain contoso-root" in opened.reason


def test_binding_view_but_not_print(deployment: Deployment, protected: tuple[bytes, str]) -> None:
    # B-1, B-2
    data, chain = protected
    license_for(deployment, "bob", chain)
    session = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"), "Word")
    anchor = deployment.enrollment_service.anchor
    out = io.BytesIO()
    binding = open_protected(session, io.BytesIO(data), out, "VIEW", anchor=anchor)
    assert out.getvalue() == CONTENT and binding.allowed
    descriptions = [c.description for c in binding.checks]
    assert descriptions[:3] == ["the application asks for one right: VIEW",
                                "the publishing license in the file verifies up to the root",
                                "a use license for this content is in the store"]
    with pytest.raises(BindingRefusedError, match=r"B-2 — the use license grants PRINT: it "
                                                  r"grants VIEW") as caught:
        bind(session, chain, "PRINT", anchor=anchor)
    assert caught.value.check is not None


def test_binding_without_a_license(deployment: Deployment, protected: tuple[bytes, str]) -> None:
    session = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"))
    binding = explain_binding(session, protected[1], "VIEW",
                              anchor=deployment.enrollment_service.anchor)
    assert not binding.allowed
    assert binding.failed is not None and "acquire a use license first" in binding.failed.reason


def test_binding_checks_the_user_and_the_time(deployment: Deployment,
                                              protected: tuple[bytes, str]) -> None:
    # B-2
    data, chain = protected
    ul = license_for(deployment, "bob", chain)
    anchor = deployment.enrollment_service.anchor
    # the license copied into carol's store is not for her
    carol = deployment.clients["CAROL-PC"]
    content_id = read_chain(chain.encode())[0].content_id or ""
    carol.account("carol").licenses[content_id] = ul
    refused = explain_binding(AppSession(carol, deployment.user("carol")), chain, "VIEW",
                              anchor=anchor)
    assert refused.failed is not None
    assert refused.failed.description == "the use license is for carol@contoso.example on this machine"
    # after the use license expires, binding stops
    deployment.lab.advance(days=31)
    late = explain_binding(AppSession(deployment.clients["BOB-PC"], deployment.user("bob")),
                           chain, "VIEW", anchor=anchor)
    assert late.failed is not None and "expired" in late.failed.reason


def test_rights_with_a_time_window(deployment: Deployment) -> None:
    # B-2: the right's own time window
    now = deployment.lab.now()
    _, chain = protect(deployment, RightsPolicy((Grant("bob@contoso.example", ("VIEW",),
                                                       not_after=now + timedelta(days=2)),)))
    license_for(deployment, "bob", chain)
    session = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"))
    anchor = deployment.enrollment_service.anchor
    assert explain_binding(session, chain, "VIEW", anchor=anchor).allowed
    deployment.lab.advance(days=3)
    failed = explain_binding(session, chain, "VIEW", anchor=anchor).failed
    assert failed is not None and failed.description == "the conditions of VIEW hold now"


def test_owner_may_do_everything(deployment: Deployment, protected: tuple[bytes, str]) -> None:
    session = AppSession(deployment.clients["ALICE-PC"], deployment.user("alice"))
    for right in ("VIEW", "EDIT", "PRINT", "EXTRACT", "FORWARD"):
        assert bind(session, protected[1], right,
                    anchor=deployment.enrollment_service.anchor).allowed
