"""Each document's BODY is found exactly as written, whatever surrounds it: declarations
before each document, comments and CDATA that look like tags, spaces inside end tags,
elements whose names start like BODY, a self-closed BODY (docs/wire-format.md "Envelope",
"Signature": the digest covers the BODY's exact characters).

covers: A-1
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmslab.errors import StructureError
from rmslab.xrml import read_chain

SIGNATURE = "<SIGNATURE><ALGORITHM>RSA</ALGORITHM></SIGNATURE>"


def doc(body: str, *, head: str = '<XrML version="1.2" xmlns="">', tail: str = "</XrML>") -> str:
    return f"{head}{body}{SIGNATURE}{tail}"


BODIES = [
    '<BODY type="a"><ISSUER/></BODY>',
    "<BODY type='b' version=\"3.0\" >\n  <BODYGUARD>x</BODYGUARD>\n</BODY >",
    '<BODY type="c"><!-- <BODY> </BODY> <SIGNATURE> --><X/></BODY>',
    '<BODY type="d"><X><![CDATA[</BODY></XrML><XrML>]]></X></BODY>',
    '<BODY type="e"/>',
    '<BODY\n type="f"\n><?rmslab note </BODY>?><X a="&gt;&lt;/BODY&gt;"/></BODY\n>',
    '<BODY type="g"><ADDRESS>https://rms.example/_wmcs?a=1&amp;b=</ADDRESS></BODY>',
]


@pytest.mark.parametrize("declarations", ["none", "first", "each"])
def test_every_body_is_the_exact_text_between_its_tags(declarations: str) -> None:
    parts = []
    for position, body in enumerate(BODIES):
        declaration = ('<?xml version="1.0"?>' if declarations == "each"
                       or (declarations == "first" and position == 0) else "")
        parts.append(declaration + doc(body))
    text = "\n".join(parts) + "\n"
    chain = read_chain(text)
    assert [d.body_text for d in chain] == BODIES
    assert [d.body_type for d in chain] == list("abcdefg")
    for d in chain:
        assert d.text.startswith("<XrML") and d.text.endswith("</XrML>")
        assert text[d.span.start:d.span.end] == d.text


def test_a_question_mark_in_text_after_the_only_declaration() -> None:
    body = BODIES[-1]
    chain = read_chain('<?xml version="1.0"?>' + doc(body) + doc(BODIES[0]))
    assert [d.body_text for d in chain] == [body, BODIES[0]]


def test_the_same_in_utf16_and_after_a_bom() -> None:
    text = "\n".join(doc(b) for b in BODIES)
    for data in (text.encode("utf-16-le"), b"\xff\xfe" + text.encode("utf-16-le"),
                 b"\xef\xbb\xbf" + text.encode("utf-8")):
        assert [d.body_text for d in read_chain(data)] == BODIES


def test_envelope_elements_inside_a_body_are_named() -> None:
    for inner, named in (("<SIGNATURE/>", "<SIGNATURE> found inside <BODY>"),
                         ("<X><BODY/></X>", "<BODY> found inside <BODY>"),
                         ('<XrML><BODY/></XrML>', "found inside <BODY>")):
        text = doc(f'<BODY type="a">{inner}</BODY>') + doc('<BODY type="b"/>')
        with pytest.raises(StructureError, match=named):
            read_chain(text)


# --- any arrangement ------------------------------------------------------------------------

DECOYS = st.sampled_from([
    "", " ", "\n  ", "<!-- <BODY> </BODY> <XrML> -->", "<?rmslab </BODY>?>",
])
INSIDE = st.sampled_from([
    "", "<X/>", "<BODYLINE>t</BODYLINE>", "<!-- </BODY> -->", "<X><![CDATA[</BODY>]]></X>",
    "<?pi <BODY>?>", '<X a="&lt;BODY&gt;">&lt;/BODY&gt;</X>', "text?&amp;",
])


@st.composite
def arranged_chains(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A chain text and, for each document, the exact BODY written into it."""
    text, bodies = "", []
    for number in range(draw(st.integers(1, 4))):
        declaration = draw(st.sampled_from(["", '<?xml version="1.0"?>',
                                            "<?xml version='1.0' encoding='utf-8'?>\n"]))
        inside = "".join(draw(st.lists(INSIDE, max_size=4)))
        open_tag = draw(st.sampled_from([f'<BODY type="t{number}">', f"<BODY type='t{number}' >",
                                         f'<BODY\n type="t{number}">']))
        close_tag = draw(st.sampled_from(["</BODY>", "</BODY >", "</BODY\n>"]))
        body = (f'<BODY type="t{number}"/>' if not inside and draw(st.booleans())
                else open_tag + inside + close_tag)
        signature = draw(st.sampled_from(["", SIGNATURE]))
        text += (declaration + draw(DECOYS) + '<XrML version="1.2" xmlns="">' + draw(DECOYS)
                 + body + draw(DECOYS) + signature + "</XrML>" + draw(DECOYS))
        bodies.append(body)
    return text, bodies


@settings(max_examples=300, deadline=None)
@given(arranged_chains())
def test_any_arrangement_yields_the_bodies_as_written(arranged: tuple[str, list[str]]) -> None:
    text, bodies = arranged
    chain = read_chain(text)
    assert [d.body_text for d in chain] == bodies
    for d in chain:
        assert d.text.startswith("<XrML") and d.text.endswith("</XrML>")
