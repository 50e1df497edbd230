"""The attacks of notebook 12 ("Attacks and what stops them"), asserted outside the
notebook: each :mod:`rmslab.attacks` call performs its attack in a fresh default lab, and
each test checks what the notebook shows — which check caught each attempt, with its rule,
or that nothing could — and, where the result claims something more, checks that claim on
its own.

Three of the attacks were attack tests before the notebook, and stay the primary proof:
the forged use license (tests/attacks/test_forged_use_license.py), the tampered
publishing license behind a cached use license
(tests/attacks/test_cached_license_tampered_pl.py) and the lab clock set back
(tests/attacks/test_clock.py).

covers: B-2, P-7, L-1, A-1
"""

from __future__ import annotations

import hashlib
import io

import pytest

from rmslab import attacks
from rmslab.attacks import AttackResult, Outcome
from rmslab.audit.findings import CHECKS
from rmslab.crypto import enabling_bits as eb
from rmslab.crypto.content import ContentCipher
from rmslab.errors import SealError
from rmslab.deployment import standard_deployment
from rmslab.lab import Lab
from rmslab.rules import RULES
from rmslab.xrml.pfile import read_protected_file
from rmslab.xrml.reader import parse
from tests.docs.repo import REPO, anchors


def _stopped_by(outcome: Outcome, rule: str | None, *words: str) -> None:
    assert outcome.stopped, outcome.to_text()
    assert outcome.rule == rule, outcome.to_text()
    for word in words:
        assert word in outcome.reason or word in outcome.by, (word, outcome.to_text())


@pytest.fixture(scope="module")
def results() -> dict[str, AttackResult]:
    return {result.number: result for result in (attack() for attack in attacks.ATTACKS)}


def test_every_attack_is_one_call_with_a_numbered_result(results: dict[str, AttackResult]
                                                        ) -> None:
    assert list(results) == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10a", "10b"]
    for result in results.values():
        assert result.outcomes and result.conclusion
        text = result.to_text()
        assert text.startswith(f"Attack {result.number}: {result.title}")
        if result.stoppable:
            assert "→ what stops it:" in text
        else:
            assert "→ NOTHING in the system can stop it:" in text


def test_the_three_that_nothing_in_the_system_can_stop(results: dict[str, AttackResult]
                                                       ) -> None:
    assert {n for n, r in results.items() if not r.stoppable} == {"5", "7", "8"}


def test_every_link_of_every_result_resolves(results: dict[str, AttackResult]) -> None:
    """A rule's link goes to its entry in docs/rules.md (a rule or an audit finding);
    every other reference to a heading of a page of docs/."""
    for result in results.values():
        for outcome in result.outcomes:
            link = outcome.link
            if outcome.rule is not None:
                assert outcome.rule in RULES or outcome.rule in CHECKS, outcome.rule
            if link is None:
                continue
            page, _, anchor = link.partition("#")
            path = REPO / page
            assert path.is_file(), link
            assert anchor in anchors(path.read_text(encoding="utf-8")), link
            assert f'href="../{link}"' in result._repr_html_()


# --- 1 ---------------------------------------------------------------------------------------


def test_1_a_changed_body_is_caught_by_the_digest_and_a_restated_digest_by_the_signature(
        results: dict[str, AttackResult]) -> None:
    changed, as_verify_sees_it, restated = results["1"].outcomes
    _stopped_by(changed, "B-2", "the use license's chain verifies up to the root",
                "surface-coding digest of the BODY does not match")
    _stopped_by(as_verify_sees_it, None, "digest-mismatch, document #0")
    _stopped_by(restated, "B-2", "the RSA signature does not match the stated digest")


# --- 2 ---------------------------------------------------------------------------------------


def test_2_every_wrapping_is_refused_by_the_reader_or_unsigned(
        results: dict[str, AttackResult]) -> None:
    second_body, inside, tucked, in_front = results["2"].outcomes
    _stopped_by(second_body, None, "StructureError", "a second <BODY>")
    _stopped_by(inside, None, "<SIGNATURE> found inside <BODY>")
    _stopped_by(tucked, None, "<BODY> found inside <SIGNATURE>")
    for refused in (second_body, inside, tucked):
        assert refused.by == "the reader, before anything is verified"
        assert refused.link == "docs/wire-format.md#envelope"
    _stopped_by(in_front, "B-2", "the document has no SIGNATURE")


# --- 3 ---------------------------------------------------------------------------------------


def test_3_a_substituted_key_is_not_certified_and_a_substituted_certificate_is_not_signed(
        results: dict[str, AttackResult]) -> None:
    own_key, in_the_clc = results["3"].outcomes
    _stopped_by(own_key, None, "issuer-key-not-found, document #0")
    _stopped_by(in_the_clc, None, "bad-signature, document #1")


# --- 4 ---------------------------------------------------------------------------------------


def test_4_bobs_use_license_replayed_by_carol_is_for_another_principal(
        results: dict[str, AttackResult]) -> None:
    none, replayed = results["4"].outcomes
    _stopped_by(none, "B-2", "a use license for this content is in the store")
    _stopped_by(replayed, "B-2", "the use license is for carol@contoso.example on this machine",
                "issued to Group-Identity:'bob@contoso.example', with another key")


def test_4_and_carols_key_cannot_open_the_content_key_in_bobs_license() -> None:
    """The conclusion's second claim: a client that skipped the check still could not."""
    deployment = standard_deployment(Lab())
    scene = attacks.publish_for_bob(deployment)
    carol_pc, bob_pc = deployment.clients["CAROL-PC"], deployment.clients["BOB-PC"]
    use_license = parse(scene.use_license("bob"))[0]
    opened = attacks._opened_content_key(use_license, bob_pc.account_key("bob"))
    assert len(opened.key) == 16
    with pytest.raises(SealError):  # the enabling bits' errors are SealErrors too
        attacks._opened_content_key(use_license, carol_pc.account_key("carol"))


# --- 5 (and tests/attacks/test_clock.py) -----------------------------------------------------


def test_5_the_lab_refuses_its_clock_set_back_and_a_client_in_the_field_does_not(
        results: dict[str, AttackResult]) -> None:
    lab_expired, command, edited, field_expired, field_moved = results["5"].outcomes
    for expired in (lab_expired, field_expired):
        _stopped_by(expired, "B-2", "the conditions of VIEW hold now", "2026-01-07 09:00")
    _stopped_by(command, None, "LabTamperedError", "a lab's clock only moves forward")
    _stopped_by(edited, None, "LabTamperedError", "lab/lab.sqlite", "refused as tampering")
    assert "/tmp" not in edited.reason and "rmslab-clock-" not in edited.reason
    assert not field_moved.stopped and field_moved.by == "nothing: binding allowed it"
    assert "MS-RMPR gives it no trusted time" in results["5"].conclusion


# --- 6 ---------------------------------------------------------------------------------------


def test_6_moved_enabling_bits_are_refused_by_the_binding_hash_where_the_issuer_differs(
        results: dict[str, AttackResult]) -> None:
    other_issuer, same_issuer, in_the_xml = results["6"].outcomes
    _stopped_by(other_issuer, None, "EnablingBitsHashMismatchError",
                "Microsoft.DigitalRightsManagement.EnablingBitsHashDoesNotMatchException")
    assert "contoso-licensing" in other_issuer.tried
    assert not same_issuer.stopped and "the hash matches" in same_issuer.by
    _stopped_by(in_the_xml, None, "digest-mismatch, document #0")


def test_6_two_use_licenses_of_one_server_bind_their_bits_to_the_same_issuer_text() -> None:
    """Why the hash cannot tell them apart (MS-RMPR 2.2.9.1.13: a UL's hash is of its
    ISSUER), and the hash itself, sealed and opened with rmslab.crypto.enabling_bits."""
    deployment = standard_deployment(Lab())
    first = attacks.publish_for_bob(deployment)
    second = attacks.publish_for_bob(deployment, content=b"another\n")
    other = attacks.publish_for_bob(deployment, cluster="contoso-licensing")
    issuer = {name: parse(s.use_license("bob"))[0].element_text("BODY/ISSUER")
              for name, s in (("first", first), ("second", second), ("other", other))}
    assert issuer["first"] == issuer["second"] != issuer["other"]
    key = deployment.clients["BOB-PC"].account_key("bob")
    kind = eb.EnablingBitsType.SEALED_KEY_V2
    bits = eb.seal_content_key(bytes(16), eb.CipherMode.CBC4K, to=key.public,
                               bound_to=issuer["first"], bits_type=kind,
                               random=deployment.lab.random_bytes)
    assert eb.open_content_key(bits, key, bound_to=issuer["second"], bits_type=kind).key \
        == bytes(16)
    with pytest.raises(eb.EnablingBitsHashMismatchError):
        eb.open_content_key(bits, key, bound_to=issuer["other"], bits_type=kind)


# --- 7 ---------------------------------------------------------------------------------------


def test_7_view_releases_the_key_and_a_modified_application_writes_the_plaintext() -> None:
    result = attacks.strip_protection()
    export, view, stripped = result.outcomes
    _stopped_by(export, "B-2", "the use license grants EXPORT", "it grants VIEW")
    assert not view.stopped and not stripped.stopped
    assert result.written == attacks.MINUTES
    assert "How to Break Microsoft Rights Management Services" in result.conclusion
    assert "2016" in result.conclusion


def test_7_the_key_released_for_view_decrypts_the_file_outside_any_check() -> None:
    deployment = standard_deployment(Lab())
    scene = attacks.publish_for_bob(deployment)
    binding = scene.bind("bob", "VIEW")
    assert binding.allowed and binding.content_key is not None
    content = read_protected_file(scene.protected_file).content
    assert attacks._content_cipher(binding).decrypt(content) == attacks.MINUTES
    assert attacks.write_plaintext(binding, scene.protected_file) == attacks.MINUTES
    assert not scene.bind("bob", "EXPORT").allowed


# --- 8 ---------------------------------------------------------------------------------------


def test_8_ecb_keeps_the_pictures_equal_blocks_and_cbc4k_does_not() -> None:
    result = attacks.ecb_picture()
    blocks = len(result.picture.pixels) // 16
    counts = result.distinct_blocks
    assert counts["ECB"] == counts["picture"] < blocks // 20
    assert counts["CBC4K"] == blocks
    key = Lab().random_bytes(16, "content-key")
    size = len(result.picture.pixels)
    assert result.ecb.pixels == ContentCipher(key, 1).encrypt(result.picture.pixels)[:size]
    assert result.cbc4k.pixels == ContentCipher(key, 2).encrypt(result.picture.pixels)[:size]
    ecb, cbc, audited = result.outcomes
    assert not ecb.stopped and cbc.stopped
    assert audited.rule == "RMS-003" and audited.link == "docs/rules.md#rms-003"
    side = result.pictures
    assert side.width == 3 * result.picture.width + 16 and side.height == result.picture.height


def test_8_the_audit_does_report_a_mode_1_deployment() -> None:
    from rmslab.audit import audit_deployment
    report = audit_deployment(standard_deployment(Lab(mode=1)))
    assert "RMS-003" in {finding.id for finding in report.findings}


# --- 9 ---------------------------------------------------------------------------------------


def test_9_pkcs1_v15_shows_its_structure_and_oaep_hides_it() -> None:
    result = attacks.key_sealing_paddings()
    mode1, mode2 = result.mode1, result.mode2
    assert (mode1.key_bits, mode2.key_bits) == (1024, 2048)
    assert mode1.block[:2] == b"\x00\x02" and mode1.block[-29] == 0
    assert 0 not in mode1.block[2:-29]
    assert mode1.predictable_bytes == 1 + 1 + 1 + eb.KEY_HEADER_SIZE
    assert mode2.block[0] == 0 and mode2.predictable_bytes == 1
    lhash = next(s for s in mode2.unmasked if s.name == "lHash")
    assert lhash.data == hashlib.sha256(b"").digest()
    session_header = eb.KeyHeader.for_session_key(bytes(16)).to_bytes()
    for block in (mode1, mode2):
        header = next(s for s in (*block.segments, *block.unmasked)
                      if s.name == "session KeyHeader")
        assert header.data == session_header and header.predictable
    one, two = result.outcomes
    assert not one.stopped and two.stopped
    assert "CryptoUnsupportedSymKeyException" in result.conclusion
    assert "No oracle attack is run here" in result.conclusion


# --- 10a (and tests/attacks/test_forged_use_license.py) ---------------------------------------


def test_10a_a_use_license_signed_with_a_clc_is_refused_by_p7(
        results: dict[str, AttackResult]) -> None:
    honest, herself, for_carol = results["10a"].outcomes
    _stopped_by(honest, "B-2", "the use license grants PRINT")
    for forged in (herself, for_carol):
        _stopped_by(forged, "P-7", "a CLC issues no use licenses")
    assert results["10a"].rules == ("B-2", "P-7")


def test_10a_the_forgery_is_sound_but_for_who_signed_it() -> None:
    """What makes P-7 the check that matters: the license alice rewrites for carol verifies
    up to the root, is issued to carol's RAC principal, and its content key opens with
    carol's account key to the content key of bob's file."""
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_online
    from rmslab.rights import Grant, RightsPolicy
    from rmslab.trust import validate_chain
    deployment = standard_deployment(Lab())
    alice_pc, carol_pc = deployment.clients["ALICE-PC"], deployment.clients["CAROL-PC"]
    anchor = deployment.enrollment_service.anchor
    protected = publish_online(deployment.root_cluster, deployment.clients["BOB-PC"],
                               deployment.user("bob"),
                               RightsPolicy((Grant("alice@contoso.example", ("VIEW",)),)),
                               b"bob's plans", io.BytesIO())
    acquire_use_license(deployment.root_cluster, alice_pc, deployment.user("alice"),
                        protected.publishing_license, anchor=anchor)
    real = alice_pc.account("alice").licenses[protected.content_id]
    carol = carol_pc.account("carol").rac.principals[0].identity(with_levels=False)
    forged = parse(attacks._forged_use_license(
        real, signer=alice_pc, signer_user="alice", holder=carol,
        holder_email="carol@contoso.example", rename=None, lab=deployment.lab))
    validated = validate_chain(forged, anchor, at=deployment.lab.now())
    assert validated.path[1].document.kind == "Client-Licensor-Certificate"
    holder = forged[0].principals[0]
    assert holder.public_key == carol.public_key and holder.name == carol.name
    alice_key = attacks._opened_content_key(parse(real)[0], alice_pc.account_key("alice"))
    carol_key = attacks._opened_content_key(forged[0], carol_pc.account_key("carol"))
    assert carol_key.key == alice_key.key
    assert "alice@contoso.example" not in forged[0].element_text("BODY/WORK/RIGHTSGROUP")


# --- 10b (and tests/attacks/test_cached_license_tampered_pl.py) -------------------------------


def test_10b_a_tampered_publishing_license_does_not_open_with_a_cached_license(
        results: dict[str, AttackResult]) -> None:
    opened, changed_url, no_chain = results["10b"].outcomes
    assert not opened.stopped
    for tampered, words in ((changed_url, "digest of the BODY does not match"),
                            (no_chain, "no certificate in the chain holds its issuer's key")):
        _stopped_by(tampered, "B-2",
                    "the publishing license in the file verifies up to the root", words)


def test_results_show_as_html_with_rules_linked(results: dict[str, AttackResult]) -> None:
    page = results["10a"]._repr_html_()
    assert '<a href="../docs/rules.md#p-7">' in page
    wrapping = results["2"]._repr_html_()  # the reader's words name tags: escaped
    assert "a second &lt;BODY&gt;" in wrapping and "a second <BODY>" not in wrapping
