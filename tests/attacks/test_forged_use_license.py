"""Attack: a use license signed with a CLC (issue 10 item 1).

Alice holds a CLC and a use license for bob's content that grants her VIEW. She has
the content key (her use license gives it to her), so she can write any use license she
likes and sign it with her CLC key: PRINT for herself, VIEW for carol, who had no grant.
Every signature is sound and the chain reaches the root. Binding must ask *who* issued
the use license: only a licensing server (SLC), or the author's own CLC making an owner
license for the author alone, may.

covers: P-7, B-2
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest

from rmslab.actors.client import Client
from rmslab.crypto.enabling_bits import ContentKey, EnablingBitsType, seal_content_key
from rmslab.deployment import Deployment
from rmslab.errors import BindingRefusedError
from rmslab.flows.binding import AppSession, bind, explain_binding
from rmslab.flows.licensing import (acquire_use_license, export_trusted_publishing_domain,
                                    import_trusted_publishing_domain)
from rmslab.flows.publishing import publish_offline, publish_online
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml.licenses import (CONTENT_LICENSE_ROOT, UseLicenseRight, license_content_key,
                                  owner_metadata_xml, use_license_body, use_license_right)
from rmslab.xrml.model import Principal
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import principal_xml, sign

FORGED_ID = "{0f0f0f0f-0000-4000-8000-00000000f0f0}"


def _content_key(client: Client, user: str, content_id: str) -> ContentKey:
    """What the holder of a use license can always learn: the content key in it."""
    use_license = parse(client.account(user).licenses[content_id])[0]
    return license_content_key(use_license, client.account_key(user))


def _forge(deployment: Deployment, *, holder: Principal, email: str, rights: tuple[str, ...],
           pl_text: str, content_key: ContentKey) -> str:
    """A use license for ``holder`` granting ``rights`` (every right of a use license is
    its holder's; ``email`` names whom the forger means), signed by alice's CLC key, with
    her CLC chain — every signature sound, every ENABLINGBITS bound to its ISSUER."""
    alice_pc = deployment.clients["ALICE-PC"]
    account = alice_pc.account("alice")
    assert account.clc is not None and account.clc_text is not None
    pl = parse(pl_text)[0]
    lab = deployment.lab
    now = lab.now()
    assert holder.public_key is not None
    issuer = principal_xml(account.clc.principals[0].identity(), tag="ISSUER")
    bits_type = EnablingBitsType.for_mode(lab.mode)
    written = [use_license_right(
        UseLicenseRight(right, now, now + timedelta(days=30)),
        seal_content_key(content_key.key, content_key.cipher, to=holder.public_key,
                         bound_to=issuer, bits_type=bits_type, random=lab.random_bytes),
        bits_type) for right in rights]
    body = use_license_body(
        id=FORGED_ID, issued=now, issuer=issuer, holder=principal_xml(holder, internal_id="1"),
        referral=None, content_id=pl.content_id or "",
        owner=owner_metadata_xml(pl.owner) if pl.owner else None, revocation=None,
        rights=written)
    return sign(body, alice_pc.clc_key("alice"), lab.digest_algorithm,
                root_attributes=CONTENT_LICENSE_ROOT) + account.clc_text


def _rac_principal(client: Client, user: str) -> Principal:
    return client.account(user).rac.principals[0].identity(with_levels=False)


@pytest.fixture()
def bobs_content(deployment: Deployment) -> str:
    """Bob's content, protected online, granting alice VIEW; alice holds her use license."""
    bob_pc, alice_pc = deployment.clients["BOB-PC"], deployment.clients["ALICE-PC"]
    protected = publish_online(deployment.root_cluster, bob_pc, deployment.user("bob"),
                               RightsPolicy((Grant("alice@contoso.example", ("VIEW",)),)),
                               b"bob's plans", io.BytesIO())
    acquire_use_license(deployment.root_cluster, alice_pc, deployment.user("alice"),
                        protected.publishing_license,
                        anchor=deployment.enrollment_service.anchor)
    return protected.publishing_license


def test_alice_cannot_grant_herself_print_with_her_clc(deployment: Deployment,
                                                       bobs_content: str) -> None:
    alice_pc = deployment.clients["ALICE-PC"]
    anchor = deployment.enrollment_service.anchor
    content_id = parse(bobs_content)[0].content_id or ""
    session = AppSession(alice_pc, deployment.user("alice"))
    assert bind(session, bobs_content, "VIEW", anchor=anchor).allowed  # her real license
    forged = _forge(deployment, holder=_rac_principal(alice_pc, "alice"),
                    email="alice@contoso.example", rights=("VIEW", "PRINT"),
                    pl_text=bobs_content, content_key=_content_key(alice_pc, "alice", content_id))
    alice_pc.account("alice").licenses[content_id] = forged
    with pytest.raises(BindingRefusedError) as caught:
        bind(AppSession(alice_pc, deployment.user("alice")), bobs_content, "PRINT", anchor=anchor)
    assert caught.value.spec_id == "P-7"
    assert "Group-Identity:'alice@contoso.example'" in str(caught.value)
    assert "a CLC issues no use licenses" in str(caught.value)
    check = caught.value.check
    assert check is not None and check.spec_id == "P-7" and not check.passed


def test_alice_cannot_license_carol_with_her_clc(deployment: Deployment,
                                                 bobs_content: str) -> None:
    alice_pc, carol_pc = deployment.clients["ALICE-PC"], deployment.clients["CAROL-PC"]
    anchor = deployment.enrollment_service.anchor
    content_id = parse(bobs_content)[0].content_id or ""
    forged = _forge(deployment, holder=_rac_principal(carol_pc, "carol"),
                    email="carol@contoso.example", rights=("VIEW",), pl_text=bobs_content,
                    content_key=_content_key(alice_pc, "alice", content_id))
    carol_pc.account("carol").licenses[content_id] = forged
    binding = explain_binding(AppSession(carol_pc, deployment.user("carol")), bobs_content,
                              "VIEW", anchor=anchor)
    assert not binding.allowed
    assert binding.failed is not None and binding.failed.spec_id == "P-7"
    assert binding.content_key is None


def test_the_authors_clc_makes_an_owner_license_for_the_author_alone(
        deployment: Deployment) -> None:
    # alice's own offline content: her CLC signed the publishing license, so an owner
    # license signed by it binds for her — and for nobody else, however it is dressed
    alice_pc, carol_pc = deployment.clients["ALICE-PC"], deployment.clients["CAROL-PC"]
    anchor = deployment.enrollment_service.anchor
    protected = publish_offline(alice_pc, deployment.user("alice"),
                                RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
                                b"alice's draft", io.BytesIO())
    pl_text, content_id = protected.publishing_license, protected.content_id
    owner = bind(AppSession(alice_pc, deployment.user("alice")), pl_text, "EDIT", anchor=anchor)
    assert "the author's owner license" in owner.issued_by
    key = _content_key(alice_pc, "alice", content_id)
    session = AppSession(carol_pc, deployment.user("carol"))
    # for carol, signed by the very CLC that signed the publishing license
    carol_pc.account("carol").licenses[content_id] = _forge(
        deployment, holder=_rac_principal(carol_pc, "carol"), email="carol@contoso.example",
        rights=("VIEW",), pl_text=pl_text, content_key=key)
    refused = explain_binding(session, pl_text, "VIEW", anchor=anchor)
    assert refused.failed is not None and refused.failed.spec_id == "P-7"
    assert "for the author alone" in refused.failed.reason
    # alice's OBJECT with carol's key, granted to ANYONE: the principal is not carol's RAC's
    dressed = replace(_rac_principal(alice_pc, "alice"),
                      public_key=_rac_principal(carol_pc, "carol").public_key)
    carol_pc.account("carol").licenses[content_id] = _forge(
        deployment, holder=dressed, email="ANYONE", rights=("VIEW",), pl_text=pl_text,
        content_key=key)
    refused = explain_binding(session, pl_text, "VIEW", anchor=anchor)
    assert not refused.allowed and refused.failed is not None
    assert refused.failed.description == "the use license is for carol@contoso.example on this machine"


def test_a_server_of_a_trusted_publishing_domain_issues_with_its_own_slc(
        deployment: Deployment) -> None:
    # MS-RMPR 3.4.4.1: the licensing-only cluster licenses contoso-root's content with its
    # own SLC and key; binding accepts it and says so
    anchor = deployment.enrollment_service.anchor
    licensing = deployment.clusters["contoso-licensing"]
    import_trusted_publishing_domain(
        licensing, export_trusted_publishing_domain(deployment.root_cluster, "Tpd-2026!x"),
        "Tpd-2026!x")
    protected = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                                RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
                                b"minutes", io.BytesIO())
    bob_pc = deployment.clients["BOB-PC"]
    acquire_use_license(licensing, bob_pc, deployment.user("bob"),
                        protected.publishing_license, anchor=anchor)
    binding = bind(AppSession(bob_pc, deployment.user("bob")), protected.publishing_license,
                   "VIEW", anchor=anchor)
    assert "a licensing server certified by its own SLC" in binding.issued_by
    assert "trusted publishing domain" in binding.issued_by
    # and a license from the server the publishing license names says that
    acquire_use_license(deployment.root_cluster, bob_pc, deployment.user("bob"),
                        protected.publishing_license, anchor=anchor)
    binding = bind(AppSession(bob_pc, deployment.user("bob")), protected.publishing_license,
                   "VIEW", anchor=anchor)
    assert "the licensing server the publishing license names" in binding.issued_by
