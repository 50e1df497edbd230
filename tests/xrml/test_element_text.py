"""XrmlDocument.span, element_span and element_text: exact slices of the text as written
(docs/wire-format.md "Signature": nothing is re-serialised)."""

from __future__ import annotations

import pytest

from rmslab.errors import StructureError
from rmslab.xrml import parse

DOC = ('<XrML xmlns="" version="1.2"><BODY type="LICENSE" version="3.0">'
       '<ISSUEDTIME>2026-01-05T09:00</ISSUEDTIME>'
       '<DESCRIPTOR><OBJECT type="Client-Licensor-Certificate">'
       '<ID type="MS-GUID">{00000000-0000-4000-8000-000000000001}</ID></OBJECT></DESCRIPTOR>'
       "<WORK><RIGHTSLIST><RIGHT name='a>b'><PRINCIPAL internal-id=\"1\" />"
       '<!-- <ISSUEDTIME>hidden</ISSUEDTIME> --></RIGHT></RIGHTSLIST>'
       '<OBJECT  type = "x" ></OBJECT ></WORK></BODY>'
       '<SIGNATURE><DIGEST><VALUE encoding="base64">AAAA</VALUE></DIGEST>'
       '<VALUE encoding="base64">BBBB</VALUE></SIGNATURE></XrML>')


def test_element_text_is_the_exact_slice() -> None:
    doc = parse('<?xml version="1.0"?>' + DOC)[0]
    assert doc.element_text(".") == DOC
    assert doc.element_text("BODY/ISSUEDTIME") == "<ISSUEDTIME>2026-01-05T09:00</ISSUEDTIME>"
    assert doc.element_text("BODY/DESCRIPTOR/OBJECT/ID") == (
        '<ID type="MS-GUID">{00000000-0000-4000-8000-000000000001}</ID>')
    assert doc.element_text("BODY") == doc.body_text
    assert doc.element_text("SIGNATURE/VALUE") == '<VALUE encoding="base64">BBBB</VALUE>'
    assert doc.element_text("SIGNATURE/DIGEST/VALUE") == '<VALUE encoding="base64">AAAA</VALUE>'


def test_odd_tags_comments_and_elements() -> None:
    doc = parse(DOC)[0]
    # an attribute value holding ">", a self-closing tag, spaces inside tags, a comment
    assert doc.element_text("BODY/WORK/RIGHTSLIST/RIGHT/PRINCIPAL") == '<PRINCIPAL internal-id="1" />'
    right = doc.element_text("BODY/WORK/RIGHTSLIST/RIGHT")
    assert right.startswith("<RIGHT name='a>b'>") and right.endswith("--></RIGHT>")
    assert doc.element_text("BODY/WORK/OBJECT") == '<OBJECT  type = "x" ></OBJECT >'
    element = doc.element.find("BODY/ISSUEDTIME")
    start, end = doc.element_span(element)
    assert doc.text[start:end] == "<ISSUEDTIME>2026-01-05T09:00</ISSUEDTIME>"


def test_span_places_the_document_in_its_chain() -> None:
    chain = parse(DOC + DOC.replace("09:00", "10:00"))
    second = chain[1]
    assert chain.text[second.span.start:second.span.end] == second.text
    assert chain.text[second.span.body_start:second.span.body_end] == second.body_text


def test_missing_or_foreign_element() -> None:
    doc = parse(DOC)[0]
    with pytest.raises(StructureError, match="no element at 'BODY/ISSUER'"):
        doc.element_text("BODY/ISSUER")
    other = parse(DOC)[0]
    with pytest.raises(StructureError, match="not part of this document"):
        doc.element_span(other.element.find("BODY"))
