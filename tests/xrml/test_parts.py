"""The parts every view reads first (BODY, DESCRIPTOR/OBJECT, ISSUER and its key, the
principals' keys, SIGNATURE) are located for a whole chain by one XPath evaluation.
Whatever the shape of a document — repeated, missing or misplaced elements — that must
find exactly what walking each document's tree finds, and the same for a document read
alone as inside a chain.

covers: A-1
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from rmslab.xrml import read_chain
from rmslab.xrml.document import DocumentParts, locate_parts

KEY = ('<PUBLICKEY><ALGORITHM>RSA</ALGORITHM>'
       '<PARAMETER name="public-exponent"><VALUE encoding="integer32">65537</VALUE></PARAMETER>'
       '<PARAMETER name="modulus"><VALUE encoding="base64" size="1024">{}</VALUE></PARAMETER>'
       '</PUBLICKEY>')


def _key(n: int) -> str:
    return KEY.format(f"key{n}")


# Pieces of a BODY, some of them repeated or out of their usual place on purpose.
BODY_PIECES = st.sampled_from([
    '<ISSUEDTIME>2026-01-01T00:00</ISSUEDTIME>',
    '<DESCRIPTOR><OBJECT type="Client-Licensor-Certificate"><ID>a</ID></OBJECT></DESCRIPTOR>',
    '<DESCRIPTOR><ID>no object</ID></DESCRIPTOR>',
    '<DESCRIPTOR><OBJECT type="Machine-Certificate"/><OBJECT type="second"/></DESCRIPTOR>',
    '<ISSUER><OBJECT type="MS-DRM-Server"><NAME>s</NAME></OBJECT>{k}</ISSUER>',
    '<ISSUER><OBJECT type="no key"/></ISSUER>',
    '<ISSUER>{k}{k}</ISSUER>',
    '<ISSUEDPRINCIPALS><PRINCIPAL>{k}</PRINCIPAL></ISSUEDPRINCIPALS>',
    '<ISSUEDPRINCIPALS><PRINCIPAL><OBJECT/></PRINCIPAL><PRINCIPAL>{k}{k}</PRINCIPAL>'
    '</ISSUEDPRINCIPALS>',
    '<ISSUEDPRINCIPALS/>',
    '<WORK><OBJECT type="content"/>{k}<ISSUER>{k}</ISSUER></WORK>',
    '<DISTRIBUTIONPOINT><OBJECT type="License-Acquisition-URL"/>{k}</DISTRIBUTIONPOINT>',
])


@st.composite
def documents(draw: st.DrawFn) -> str:
    counter = iter(range(10_000))
    pieces = draw(st.lists(BODY_PIECES, max_size=7))
    body = "".join(p.replace("{k}", _key(next(counter))) for p in pieces)
    if draw(st.booleans()):
        body_element = f'<BODY type="LICENSE" version="3.0">{body}</BODY>'
    else:
        body_element = f'<BODY type="LICENSE">{body}</BODY>' if body else '<BODY type="x"/>'
    signature = draw(st.sampled_from([
        "", "<SIGNATURE><ALGORITHM>RSA PKCS#1-V1.5</ALGORITHM></SIGNATURE>"]))
    return f'<XrML version="1.2" xmlns="">{body_element}{signature}</XrML>'


def _first(element: etree._Element | None, tag: str) -> etree._Element | None:
    if element is None:
        return None
    return next((child for child in element if child.tag == tag), None)


def walked(xrml: etree._Element) -> tuple[object, ...]:
    """What each part is, found by walking the tree of one document (the reference)."""
    body = _first(xrml, "BODY")
    descriptor = next((obj for d in body if d.tag == "DESCRIPTOR"  # type: ignore[union-attr]
                       for obj in d if obj.tag == "OBJECT"), None)
    issuer = _first(body, "ISSUER")
    principals = _first(body, "ISSUEDPRINCIPALS")
    principal_keys = ([k for p in principals if p.tag == "PRINCIPAL"
                       for k in [_first(p, "PUBLICKEY")] if k is not None]
                      if principals is not None else [])
    return (body, descriptor, issuer, _first(issuer, "PUBLICKEY"), principal_keys,
            _first(xrml, "SIGNATURE"))


def located(parts: DocumentParts) -> tuple[object, ...]:
    return (parts.body, parts.descriptor, parts.issuer, parts.issuer_key,
            parts.principal_keys, parts.signature)


@settings(max_examples=200, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=4))
def test_located_parts_are_the_parts_the_tree_holds(texts: list[str]) -> None:
    chain = read_chain("\n".join(texts))
    elements = [doc.element for doc in chain]
    in_chain = locate_parts(elements)
    for element, parts in zip(elements, in_chain):
        assert located(parts) == walked(element)
        assert located(locate_parts([element])[0]) == walked(element)


def test_each_document_of_a_real_chain_gets_its_own_parts(corpus: Path) -> None:
    chain = read_chain((corpus / "chains" / "rmssdk-platform_ut-pl.xml.xml").read_bytes())
    for doc in chain:
        assert located(locate_parts([doc.element])[0]) == walked(doc.element)
        assert doc.issuer_key is not None and doc.signature is not None
    keys = [doc.issuer_key for doc in chain]
    assert len(set(k.fingerprint for k in keys if k)) > 1


@settings(max_examples=30, deadline=None)
@given(st.lists(documents(), min_size=17, max_size=20))
def test_long_chains_located_one_document_at_a_time_find_the_same(texts: list[str]) -> None:
    # past 16 documents the parts are located per document (one XPath for the whole
    # chain would cost its size times its length)
    elements = [doc.element for doc in read_chain("\n".join(texts))]
    for element, parts in zip(elements, locate_parts(elements)):
        assert located(parts) == walked(element)
