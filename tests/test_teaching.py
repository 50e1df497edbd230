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
    from rmslab.crypto.seal import SealError
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
    with pytest.raises(SealError, match="not sealed for this private key"):
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
