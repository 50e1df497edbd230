"""rmslab.teaching: display helpers for lessons, and tampering on purpose (SPEC A-1)."""

from __future__ import annotations

import pytest

from rmslab.errors import DigestMismatchError
from rmslab.lab import Lab
from rmslab.samples import teaching_chain
from rmslab.teaching import excerpt, outline, tamper
from rmslab.trust import validate_chain
from rmslab.xrml import parse

SMALL = ('<XrML xmlns="" version="1.2"><BODY type="LICENSE"><ISSUEDTIME>2026-01-05T09:00'
         '</ISSUEDTIME><ISSUER><NAME>x</NAME><EMPTY a="1" /><NONE></NONE></ISSUER></BODY>'
         '<SIGNATURE><VALUE encoding="base64">' + "A" * 100 + '</VALUE></SIGNATURE></XrML>')


def test_excerpt_indents_and_shortens() -> None:
    assert excerpt(SMALL, max_text=10) == "\n".join([
        '<XrML xmlns="" version="1.2">',
        '  <BODY type="LICENSE">',
        "    <ISSUEDTIME>2026-…09:00 [16 characters]</ISSUEDTIME>",
        "    <ISSUER>",
        "      <NAME>x</NAME>",
        '      <EMPTY a="1" />',
        "      <NONE></NONE>",
        "    </ISSUER>",
        "  </BODY>",
        "  <SIGNATURE>",
        '    <VALUE encoding="base64">AAAAA…AAAAA [100 characters]</VALUE>',
        "  </SIGNATURE>",
        "</XrML>",
    ])
    assert excerpt("<A>\n  <B>text</B>\n</A>") == "<A>\n  <B>text</B>\n</A>"


def test_outline_maps_offsets() -> None:
    doc = parse(SMALL)[0]
    lines = outline(doc, depth=1).splitlines()
    assert len(lines) == 3
    assert lines[0].split()[0] == f"0–{len(SMALL)}"
    body_start, body_end = doc.span.body_start, doc.span.body_end
    assert lines[1].split()[0] == f"{body_start}–{body_end}"
    assert '<BODY type="LICENSE">' in lines[1]
    assert lines[2].strip().endswith(f"{len(doc.text) - body_end - len('</XrML>')} chars")
    assert len(outline(doc, depth=0).splitlines()) == 1


def test_tamper_changes_one_body_and_the_checks_see_it() -> None:
    tc = teaching_chain(Lab(mode=2))
    old, new = "<UNTIL>2027-01-05T09:00</UNTIL>", "<UNTIL>2029-01-05T09:00</UNTIL>"
    tampered = tamper(tc.chain, 1, old, new)
    assert tampered.text == tc.chain.text.replace(old, new)
    assert [d.text == o.text for d, o in zip(tampered, tc.chain)] == [True, False, True, True]
    assert tampered.source == "teaching chain (tampered)"
    validate_chain(tc.chain, tc.anchor)
    with pytest.raises(DigestMismatchError) as caught:
        validate_chain(tampered, tc.anchor)
    assert caught.value.position == "the client licensor certificate, 2nd in the chain"


def test_tamper_refuses_ambiguous_or_empty_edits() -> None:
    tc = teaching_chain(Lab(mode=2))
    with pytest.raises(ValueError, match="occurs 0 times"):
        tamper(tc.chain, 1, "<SIGNATURE>", "<SIGNATUR>")  # outside the BODY
    with pytest.raises(ValueError, match="occurs 2 times"):
        tamper(tc.chain, 1, "<PARAMETER name=\"modulus\">", "x")
    with pytest.raises(ValueError, match="same text"):
        tamper(tc.chain, 1, "CONTOSO-RMS", "CONTOSO-RMS")


def test_attempt_shows_a_refusal_with_its_rule() -> None:
    from rmslab.deployment import standard_deployment
    from rmslab.errors import NotAdministratorError
    from rmslab.flows import renew_slc_online
    from rmslab.lab import Lab
    from rmslab.teaching import attempt
    d = standard_deployment(Lab())
    root = d.root_cluster
    refused = attempt(renew_slc_online, d.enrollment_service, root, root.first_server,
                      by=d.user("bob"), directory=d.directory)
    assert refused.refused and refused.rule == "S-1"
    assert isinstance(refused.error, NotAdministratorError)
    assert repr(refused).startswith("refused (NotAdministratorError) [S-1]: ")
    assert refused.trace is not None
    done = attempt(renew_slc_online, d.enrollment_service, root, root.first_server,
                   by=d.user("rmsadmin"), directory=d.directory)
    assert not done.refused and repr(done) == "succeeded" and done.trace is done.result


def test_frozen_pictures_keep_the_deployment_as_it_was() -> None:
    # E-2: a later server joins; the stepper of the earlier flow does not show it
    from rmslab.deployment import standard_deployment
    from rmslab.flows import join_server
    from rmslab.teaching import frozen_pictures
    from rmslab.trace import Step
    from rmslab.viz.deployment import deployment_graph
    d = standard_deployment(Lab())
    enrollment = d.history[0]
    picture = frozen_pictures(d, enrollment)
    before = [picture(step) for step in enrollment]
    assert [g.source for g in before if g is not None] == [
        deployment_graph(d, step).source for step in enrollment]
    join_server(d.root_cluster, "RMS03")
    after = [picture(step) for step in enrollment]
    assert [g.source for g in after if g is not None] == [g.source for g in before if g]
    assert all("RMS03" not in g.source for g in after if g is not None)
    assert "RMS03" in deployment_graph(d, enrollment[1]).source
    assert picture(Step("RMS01", "not a step of this trace")) is None


def test_open_sealed_key_shows_what_each_key_is_sealed_to() -> None:
    # E-7, E-9: account key → machine key (RAC); CLC key → account key (CLC)
    from rmslab.errors import SealError
    from rmslab.deployment import standard_deployment
    from rmslab.teaching import attempt, open_sealed_key
    d = standard_deployment(Lab())
    alice_pc, bob_pc = d.clients["ALICE-PC"], d.clients["BOB-PC"]
    rac, clc = alice_pc.account("alice").rac, alice_pc.account("alice").clc
    assert clc is not None
    account_key = open_sealed_key(rac, alice_pc.machine_key)
    assert account_key.public == rac.subject.public_key  # type: ignore[union-attr]
    clc_key = open_sealed_key(clc, account_key)
    assert clc_key.public == clc.subject.public_key  # type: ignore[union-attr]
    with pytest.raises(SealError, match="not sealed to this"):
        open_sealed_key(rac, bob_pc.machine_key)
    refused = attempt(open_sealed_key, clc, alice_pc.machine_key)
    assert refused.refused and isinstance(refused.error, SealError)
    with pytest.raises(SealError, match="holds no sealed key"):
        open_sealed_key(d.root_cluster.slc, alice_pc.machine_key)


def test_frozen_pictures_draw_a_user_named_by_email() -> None:
    # P-2: publishing names the author by e-mail; the picture highlights that user
    import io
    from dataclasses import replace

    from rmslab.deployment import standard_deployment
    from rmslab.flows.publishing import publish_offline
    from rmslab.rights import Grant, RightsPolicy
    from rmslab.teaching import frozen_pictures
    from rmslab.viz.deployment import deployment_graph
    d = standard_deployment(Lab())
    alice = d.user("alice")
    protected = publish_offline(d.clients["ALICE-PC"], alice,
                                RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
                                b"notes", io.BytesIO())
    stating, signing = protected.trace[0], protected.trace[2]
    assert stating.actor == alice.email
    picture = frozen_pictures(d, protected.trace)
    drawn = picture(stating)
    assert drawn is not None
    assert drawn.source == deployment_graph(d, replace(stating, actor=str(alice))).source
    assert drawn.source != deployment_graph(d, stating).source
    assert 'user_alice -> "client_ALICE-PC"' in drawn.source
    assert stating.actor == alice.email  # the trace itself is not changed
    # a step that names no one by e-mail is drawn as it is
    again = picture(signing)
    assert again is not None and again.source == deployment_graph(d, signing).source


from typing import TYPE_CHECKING  # noqa: E402 (the revocation helpers' tests start here)

if TYPE_CHECKING:
    from rmslab.deployment import Deployment


def _revocation_world() -> tuple[Deployment, list[str]]:
    """Bob holds use licenses for one document of the licensing-only cluster (requiring
    its list) and one of the root cluster; the licensing cluster's list revokes two
    things."""
    import io

    from rmslab.deployment import standard_deployment
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_online
    from rmslab.flows.revocation import requirement_for, revoke
    from rmslab.revocation import Revoke
    from rmslab.rights import Grant, RightsPolicy
    d = standard_deployment(Lab())
    a, c = d.clusters["contoso-licensing"], d.root_cluster
    bob, carol = d.user("bob"), d.user("carol")
    anchor = d.enrollment_service.anchor
    chains = []
    for cluster, needs in ((a, requirement_for(a.revocation_url, a.key.public)), (c, None)):
        policy = RightsPolicy((Grant(bob.email, ("VIEW",)),), revocation=needs)
        pl = publish_online(cluster, d.clients["CAROL-PC"], carol, policy, b"x",
                            io.BytesIO()).publishing_license
        acquire_use_license(cluster, d.clients["BOB-PC"], bob, pl, anchor=anchor)
        chains.append(pl)
    alice_key = d.clients["ALICE-PC"].account_key("alice").public
    revoke(a, [Revoke("content", "content-id", "{00000000-0000-0000-0000-000000000001}"),
               Revoke("user", "principal-key", key=alice_key)], web=d.web)
    return d, chains


def test_describe_registered_lists_reads_the_session() -> None:
    # what a session has registered, until it closes
    from rmslab.flows.binding import AppSession, explain_binding
    from rmslab.teaching import describe_registered_lists
    d, (from_a, _) = _revocation_world()
    word = AppSession(d.clients["BOB-PC"], d.user("bob"), "Word", web=d.web)
    assert describe_registered_lists(word) == (
        "Word on BOB-PC for bob@contoso.example: no revocation list registered")
    assert explain_binding(word, from_a, "VIEW", anchor=d.enrollment_service.anchor).allowed
    a = d.clusters["contoso-licensing"]
    alice_key = d.clients["ALICE-PC"].account_key("alice").public
    assert describe_registered_lists(word).splitlines() == [
        "Word on BOB-PC for bob@contoso.example: 1 revocation list registered",
        f"  {a.revocation_url}",
        f"    signed by MS-DRM-Server:'contoso-licensing', key {a.key.public.short_fingerprint}",
        "    issued 2026-01-05 09:00 UTC; 2 entries",
        "    revokes content {00000000-0000-0000-0000-000000000001} (content-id)",
        f"    revokes user key {alice_key.short_fingerprint} (principal-key)",
    ]
    assert describe_registered_lists(word, entries=1).splitlines()[-1] == "    … and 1 more"
    word.close()
    assert describe_registered_lists(word) == (
        "Word on BOB-PC for bob@contoso.example (closed): no revocation list registered")


def test_binding_picture_draws_the_chain_and_the_registered_lists() -> None:
    # an arrow from a list to what its signer issued in the chain — or none
    from rmslab.errors import InputError
    from rmslab.flows.binding import AppSession, explain_binding
    from rmslab.teaching import binding_picture, binding_pictures
    d, (from_a, from_c) = _revocation_world()
    anchor = d.enrollment_service.anchor
    word = AppSession(d.clients["BOB-PC"], d.user("bob"), "Word", web=d.web)
    before = binding_picture(word, from_a, anchor=anchor)
    assert "list_none" in before.source and "list1" not in before.source
    first = explain_binding(word, from_a, "VIEW", anchor=anchor)
    drawn = binding_picture(word, from_a, anchor=anchor, binding=first)
    assert drawn.name == "binding"
    assert "list1 -> d0" in drawn.source and "list1 -> d1" not in drawn.source
    assert "it requires the revocation list at" in drawn.source
    assert "binding for VIEW: allowed" in drawn.source
    third = explain_binding(word, from_c, "VIEW", anchor=anchor)
    other = binding_picture(word, from_c, anchor=anchor, binding=third)
    assert "list1 ->" not in other.source
    assert "its signer issued no document of this chain" in other.source
    assert "it requires no revocation list" in other.source
    # fixed when called: closing the session later does not change the stepper's picture
    picture = binding_pictures(word, from_a, anchor=anchor, binding=first)
    word.close()
    assert all(picture(step) is picture(first.trace[0]) for step in first.trace)
    assert picture(first.trace[0]).source == drawn.source
    with pytest.raises(InputError, match="holds no use license"):
        binding_picture(AppSession(d.clients["ALICE-PC"], d.user("alice"), "Word"), from_a,
                        anchor=anchor)
