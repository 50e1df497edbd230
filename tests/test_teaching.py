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
