"""Attack: enabling bits moved from one license to another (issue 12 item 11).

ENABLINGBITS carry the content key with a hash of the element they are bound to — a use
license's ISSUER, a publishing license's ISSUEDPRINCIPALS (MS-RMPR 2.2.9.1.13). Bits taken
from one license and put into another, which its signer then signs as its own, open with
the right private key but their hash is not the hash of the new license's element:
binding refuses them (EnablingBitsHashDoesNotMatch), and so does a server signing an
issuance license (3.5.4.1). Property tests go through the documents as wired: protected
content opens again whatever its size and cipher, and a single changed byte of the bits in
a (re-signed) use license is refused.

covers: B-2, P-8, L-1
"""

from __future__ import annotations

import base64
import io
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmslab.crypto.enabling_bits import CipherMode, EnablingBitsHashMismatchError
from rmslab.deployment import Deployment, standard_deployment
from rmslab.errors import RefusedError
from rmslab.flows.binding import AppSession, explain_binding, open_protected
from rmslab.flows.licensing import (acquire_use_license, export_trusted_publishing_domain,
                                    import_trusted_publishing_domain)
from rmslab.flows.publishing import (build_unsigned_license, publish_offline, publish_online,
                                     sign_issuance_license)
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.trace import Trace
from rmslab.xrml.licenses import CONTENT_LICENSE_ROOT, license_bits
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import sign

BOB_VIEWS = RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),))


def _with_bits(license_text: str, bits: bytes) -> str:
    """The BODY of a use license with the VALUE of its first ENABLINGBITS replaced."""
    document = parse(license_text)[0]
    value = document.element.find("BODY/WORK//ENABLINGBITS/VALUE")
    assert value is not None and value.text
    old = f">{value.text}<"
    assert document.body_text.count(old) == 1
    return document.body_text.replace(old, f">{base64.b64encode(bits).decode()}<")


def _hash_refusal(binding_failed_reason: str) -> bool:
    return "EnablingBitsHashDoesNotMatchException" in binding_failed_reason


def test_bits_moved_into_the_authors_owner_license_are_refused(deployment: Deployment) -> None:
    # alice holds her CLC key: she rewrites her owner license with the bits of the use
    # license the server issued her for the same content (bound to the server's ISSUER)
    alice_pc, alice = deployment.clients["ALICE-PC"], deployment.user("alice")
    anchor = deployment.enrollment_service.anchor
    protected = publish_offline(alice_pc, alice, BOB_VIEWS, b"draft", io.BytesIO())
    account = alice_pc.account("alice")
    owner_chain = account.licenses[protected.content_id]
    server_license, _ = acquire_use_license(deployment.root_cluster, alice_pc, alice,
                                            protected.publishing_license, anchor=anchor)
    moved, _, _ = license_bits(parse(server_license)[0])
    owner = parse(owner_chain)
    forged = sign(_with_bits(owner_chain, moved), alice_pc.clc_key("alice"),
                  deployment.lab.digest_algorithm, root_attributes=CONTENT_LICENSE_ROOT)
    account.licenses[protected.content_id] = forged + "".join(d.text for d in owner[1:])
    binding = explain_binding(AppSession(alice_pc, alice), protected.publishing_license,
                              "VIEW", anchor=anchor)
    assert not binding.allowed and binding.failed is not None
    assert binding.failed.description == "the content key is released"
    assert _hash_refusal(binding.failed.reason)
    # the same bits where they belong still open
    account.licenses[protected.content_id] = server_license
    assert explain_binding(AppSession(alice_pc, alice), protected.publishing_license, "VIEW",
                           anchor=anchor).allowed


def test_bits_moved_between_two_servers_use_licenses_are_refused(
        deployment: Deployment) -> None:
    # a server that signs a use license around bits another server bound to its own ISSUER
    anchor = deployment.enrollment_service.anchor
    licensing, root = deployment.clusters["contoso-licensing"], deployment.root_cluster
    import_trusted_publishing_domain(licensing, export_trusted_publishing_domain(
        root, "Tpd-2026!x"), "Tpd-2026!x")
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    protected = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                                BOB_VIEWS, b"minutes", io.BytesIO())
    from_root, _ = acquire_use_license(root, bob_pc, bob, protected.publishing_license,
                                       anchor=anchor)
    from_licensing, _ = acquire_use_license(licensing, bob_pc, bob,
                                            protected.publishing_license, anchor=anchor)
    moved, _, _ = license_bits(parse(from_root)[0])
    chain = parse(from_licensing)
    forged = sign(_with_bits(from_licensing, moved), licensing.key,
                  deployment.lab.digest_algorithm, root_attributes=CONTENT_LICENSE_ROOT)
    bob_pc.account("bob").licenses[protected.content_id] = forged + "".join(
        d.text for d in chain[1:])
    binding = explain_binding(AppSession(bob_pc, bob), protected.publishing_license, "VIEW",
                              anchor=anchor)
    assert binding.failed is not None and _hash_refusal(binding.failed.reason)


def test_a_server_refuses_bits_bound_to_another_issuedprincipals(
        deployment: Deployment) -> None:
    # AcquireIssuanceLicense (MS-RMPR 3.5.4.1): the client's ISSUEDPRINCIPALS changed after
    # the bits were bound to it — the server's SECURITYLEVEL rewritten — is refused
    root, lab = deployment.root_cluster, deployment.lab
    assert root.slc_text is not None
    unsigned, _, _ = build_unsigned_license(lab, deployment.user("alice"), root.slc_text,
                                            BOB_VIEWS)
    level = 'name="Server-SKU" value="'
    at = unsigned.rindex(level)  # the one in ISSUEDPRINCIPALS, after the ISSUER's
    assert at > unsigned.index("<ISSUEDPRINCIPALS>")
    changed = unsigned[:at + len(level)] + "x" + unsigned[at + len(level):]
    with pytest.raises(RefusedError) as caught:
        sign_issuance_license(root, changed, trace=Trace("issuance"), to="ALICE-PC")
    assert caught.value.exception_name == EnablingBitsHashMismatchError.exception_name
    signed = sign_issuance_license(root, unsigned, trace=Trace("issuance"), to="ALICE-PC")
    assert parse(signed)[0].issuer_key == root.key.public


# --- properties, through the documents ----------------------------------------------------


@pytest.fixture(scope="module")
def lab_deployment() -> Iterator[Deployment]:
    yield standard_deployment(Lab())


@settings(max_examples=12, deadline=None)
@given(content=st.binary(max_size=9000), online=st.booleans(),
       cipher=st.sampled_from([CipherMode.ECB, CipherMode.CBC4K]))
def test_protected_content_opens_again(lab_deployment: Deployment, content: bytes,
                                       online: bool, cipher: CipherMode) -> None:
    deployment = lab_deployment
    alice_pc, alice = deployment.clients["ALICE-PC"], deployment.user("alice")
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    anchor = deployment.enrollment_service.anchor
    sink = io.BytesIO()
    if online:
        protected = publish_online(deployment.root_cluster, alice_pc, alice, BOB_VIEWS,
                                   content, sink, cipher=cipher)
    else:
        protected = publish_offline(alice_pc, alice, BOB_VIEWS, content, sink, cipher=cipher)
    acquire_use_license(deployment.root_cluster, bob_pc, bob, protected.publishing_license,
                        anchor=anchor)
    out = io.BytesIO()
    sink.seek(0)
    binding = open_protected(AppSession(bob_pc, bob), sink, out, "VIEW", anchor=anchor)
    assert out.getvalue() == content
    assert binding.content is not None and binding.content.cipher is cipher


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_changed_byte_of_the_bits_is_refused(lab_deployment: Deployment,
                                               data: st.DataObject) -> None:
    deployment = lab_deployment
    root = deployment.root_cluster
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    anchor = deployment.enrollment_service.anchor
    protected = publish_online(root, deployment.clients["ALICE-PC"], deployment.user("alice"),
                               BOB_VIEWS, b"secret", io.BytesIO())
    issued, _ = acquire_use_license(root, bob_pc, bob, protected.publishing_license,
                                    anchor=anchor)
    bits, _, _ = license_bits(parse(issued)[0])
    at = data.draw(st.integers(0, len(bits) - 1), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    changed = bits[:at] + bytes([bits[at] ^ flip]) + bits[at + 1:]
    chain = parse(issued)
    forged = sign(_with_bits(issued, changed), root.key, deployment.lab.digest_algorithm,
                  root_attributes=CONTENT_LICENSE_ROOT)
    bob_pc.account("bob").licenses[protected.content_id] = forged + "".join(
        d.text for d in chain[1:])
    binding = explain_binding(AppSession(bob_pc, bob), protected.publishing_license, "VIEW",
                              anchor=anchor)
    assert not binding.allowed and binding.failed is not None
    assert binding.failed.description == "the content key is released"
