"""From bytes to XrML documents: decoding, the hardened parser, and the exact spans.

docs/wire-format.md "Envelope": files are UTF-8 (with or without BOM) or UTF-16LE, and hold one or
more ``<XrML>`` elements back to back, sometimes after an XML declaration. docs/wire-format.md
"Signature": the signed BODY must be kept exactly as written — so this module finds
each document's and each BODY's character span in the decoded text, and parses the
same text once with one hardened lxml parser (no DTD, no entities, no network, size
limits) for the typed views.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from lxml import etree

from rmslab.errors import (EncodingError, HostileInputError, MalformedXmlError,
                           StructureError)

__all__ = ["MAX_INPUT_BYTES", "decode_text", "DocumentSpan", "parse_chain_text",
           "parse_fragment", "refuse_if_too_large"]

#: Largest XrML text rmslab reads. Real chains are tens of kilobytes; templates and
#: publishing licenses with many principals stay well below a megabyte.
MAX_INPUT_BYTES = 16 * 1024 * 1024

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)

_DTD = re.compile(r"<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST", re.IGNORECASE)
_HIDDEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>")
_XRML_START = re.compile(r"<XrML[\s/>]")
_XRML_END = re.compile(r"</XrML\s*>")
_BODY_START = re.compile(r"""<BODY(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
_BODY_END = re.compile(r"</BODY\s*>")


def decode_text(data: bytes, *, limit: int = MAX_INPUT_BYTES) -> str:
    """Decode XrML file bytes: UTF-8 (BOM optional) or UTF-16 (BOM, or recognised by
    its zero bytes). Trailing NULs and whitespace are dropped (real protected files pad
    the license with a NUL)."""
    refuse_if_too_large(len(data), limit, "the input")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, data = "utf-8", data[3:]
    elif data.startswith(b"\xff\xfe"):
        encoding, data = "utf-16-le", data[2:]
    elif data.startswith(b"\xfe\xff"):
        encoding, data = "utf-16-be", data[2:]
    elif len(data) >= 2 and data[0] != 0 and data[1] == 0:
        encoding = "utf-16-le"
    elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    if encoding.startswith("utf-16") and len(data) % 2:
        data = data[:-1] if data[-1:] == b"\x00" else data
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"the input is not {encoding.upper()} text: byte {exc.start} "
            f"({data[exc.start:exc.start + 1]!r}) cannot be decoded") from None
    return text.rstrip("\x00 \t\r\n")


class DocumentSpan(NamedTuple):
    """Where one document lies in the decoded text: the whole ``<XrML>`` element and its
    ``<BODY>`` element, as character offsets (end exclusive)."""

    start: int
    end: int
    body_start: int
    body_end: int


def parse_chain_text(text: str) -> tuple[list[DocumentSpan], list[etree._Element]]:
    """Find every ``<XrML>`` document in ``text`` and parse it.

    Returns the spans and the parsed ``XrML`` elements, in order. Raises
    :class:`HostileInputError` for DTDs and entity declarations,
    :class:`MalformedXmlError` (with the line) for XML that is not well-formed, and
    :class:`StructureError` for an envelope that is not XrML's.
    """
    # Every pattern below starts with "<!" or "<?". Looking for the single character
    # first is a memchr; looking for the pair scans the text (tens of µs on a chain).
    has_bang = "!" in text and "<!" in text
    has_query = "?" in text and "<?" in text
    if has_bang:
        _refuse_dtd(text)
    # XML declarations may precede each document of a chain; they cannot sit inside the
    # synthetic wrapper the parser sees, so they are blanked (same length: offsets stay).
    # Comments, CDATA and processing instructions can hide markup-like text: they are
    # masked too before looking for tags.
    parsable = text
    unusual = has_bang
    if has_query:
        blanked = _blank_leading_declaration(text)
        unusual = unusual or blanked is None
        parsable = (blanked if blanked is not None
                    else _XML_DECLARATION.sub(lambda m: " " * len(m.group()), text))
    masked = _HIDDEN.sub(lambda m: " " * len(m.group()), parsable) if unusual else parsable
    roots = _parse_one_large_document(parsable)
    if roots is None:
        roots = _parse_wrapped(parsable)
    elements: list[etree._Element] = []
    for child in roots:
        if not isinstance(child.tag, str):
            continue
        if child.tag != "XrML":
            raise StructureError(
                f"line {child.sourceline}: <{child.tag}> found where an <XrML> document "
                "was expected")
        if child.tail and child.tail.strip():
            raise StructureError(f"line {child.sourceline}: text after </XrML>")
        elements.append(child)
    if not elements:
        raise StructureError("no <XrML> document found in the input")

    signatures = sum(_check_envelope(element, position, nested=False)
                     for position, element in enumerate(elements))
    # Each document holds one XrML, one BODY and at most one SIGNATURE element; any more
    # anywhere in the tree stand inside a BODY or a SIGNATURE: let the tree say where.
    envelope_elements = sum(1 for element in elements
                            for _ in element.iter("XrML", "BODY", "SIGNATURE"))
    if envelope_elements != 2 * len(elements) + signatures:
        for position, element in enumerate(elements):
            _check_envelope(element, position, nested=True)
        raise StructureError("an envelope element stands inside another document")
    return _document_spans(masked, len(elements)), elements


def _document_spans(masked: str, count: int) -> list[DocumentSpan]:
    """The spans of the ``count`` documents of a text whose tree has been checked: exactly
    one BODY per document and no envelope element inside another. In the masked text
    (comments, CDATA and processing instructions blanked) every ``<BODY`` and ``<XrML``
    tag is one of those elements, in document order ("<" cannot stand in text or in
    attribute values), so plain searches find them; only the BODYs are scanned through,
    and the last one from the end (a revocation list is one document of megabytes)."""
    spans: list[DocumentSpan] = []
    position = 0
    for number in range(1, count + 1):
        body = _find_tag(masked, _BODY_START, "<BODY", position)
        start = _find_tag(masked, _XRML_START, "<XrML", position)
        if body is None or start is None or not start.start() < body.start():
            raise StructureError(f"document {number}: its <BODY> tag cannot be placed")
        if body.group(1):  # <BODY .../>
            body_end = body.end()
        else:
            last = number == count
            closing = (_rfind_tag(masked, _BODY_END, "</BODY", body.end()) if last
                       else _find_tag(masked, _BODY_END, "</BODY", body.end()))
            if closing is None:
                raise StructureError(f"document {number}: <BODY> is not closed")
            body_end = closing.end()
        end = (_rfind_tag(masked, _XRML_END, "</XrML", body_end) if number == count
               else _find_tag(masked, _XRML_END, "</XrML", body_end))
        if end is None:
            raise StructureError(f"document {number}: <XrML> is not closed")
        spans.append(DocumentSpan(start.start(), end.end(), body.start(), body_end))
        position = end.end()
    return spans


def _find_tag(text: str, pattern: re.Pattern[str], prefix: str,
              at: int) -> re.Match[str] | None:
    """The first tag ``pattern`` matches at or after ``at`` (searching for its literal
    ``prefix`` first: a plain search is several times faster than a regex scan)."""
    found = text.find(prefix, at)
    while found >= 0:
        match = pattern.match(text, found)
        if match is not None:
            return match
        found = text.find(prefix, found + 1)
    return None


def _rfind_tag(text: str, pattern: re.Pattern[str], prefix: str,
               at: int) -> re.Match[str] | None:
    """The last tag ``pattern`` matches at or after ``at``."""
    found = text.rfind(prefix, at)
    while found >= 0:
        match = pattern.match(text, found)
        if match is not None:
            return match
        found = text.rfind(prefix, at, found)
    return None


def _blank_leading_declaration(text: str) -> str | None:
    """``text`` with its XML declaration blanked, when that declaration is the only
    ``<?`` in it and stands first (most real files); else None."""
    match = _XML_DECLARATION.match(text, len(text) - len(text.lstrip()))
    if match is None:
        return None
    if text.find("?", match.end()) >= 0 and text.find("<?", match.end()) >= 0:
        return None  # another processing instruction (a "?" alone may sit in a URL)
    return text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]


#: Texts at least this long that start with ``<XrML`` are first parsed as one document,
#: without the wrapper that a chain of several documents needs (saves copying megabytes).
_DIRECT_PARSE_MIN = 1_000_000


def _parse_one_large_document(parsable: str) -> list[etree._Element] | None:
    if len(parsable) < _DIRECT_PARSE_MIN or not parsable.lstrip().startswith("<XrML"):
        return None
    try:
        return [etree.fromstring(parsable, _PARSER)]
    except etree.XMLSyntaxError:
        return None  # several documents, or an error: the wrapped parse says which


def refuse_if_too_large(size: int, limit: int, what: str) -> None:
    """:class:`HostileInputError` when ``size`` bytes of text exceed ``limit``."""
    if size > limit:
        raise HostileInputError(
            f"{what} is {size / 1_048_576:.1f} MB; rmslab reads at most "
            f"{limit / 1_048_576:.0f} MB of XrML text")


def _refuse_dtd(text: str) -> None:
    if _DTD.search(text):
        raise HostileInputError(
            "the input declares a DTD or entities; XrML never does, and rmslab refuses "
            "them (entity expansion and external entities are classic attacks)")


def parse_fragment(text: str) -> etree._Element:
    """Parse XML text that may hold several top-level elements (XML declarations blanked)
    with the hardened parser, inside a synthetic root element, which is returned. DTDs,
    entities and malformed XML raise the same errors as XrML chains."""
    if "<!" in text:
        _refuse_dtd(text)
    if "<?" in text:
        text = _XML_DECLARATION.sub(lambda m: " " * len(m.group()), text)
    return _parse_wrapper(text)


def _parse_wrapped(parsable: str) -> list[etree._Element]:
    """Parse a text of one or more documents inside a synthetic root element."""
    wrapper = _parse_wrapper(parsable)
    if wrapper.text and wrapper.text.strip():
        raise StructureError("the input has text outside any <XrML> document "
                             "(is it an XrML file?)")
    return list(wrapper)


def _parse_wrapper(parsable: str) -> etree._Element:
    try:
        return etree.fromstring(f"<rmslab-chain>{parsable}</rmslab-chain>", _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        message = str(exc.msg if hasattr(exc, "msg") else exc)
        message = re.sub(r",? line \d+, column \d+", "", message)
        if "Entity" in message or "entity" in message:
            raise HostileInputError(
                f"line {line}: entity reference refused ({message}); XrML uses no "
                "entities beyond the five predefined ones") from None
        raise MalformedXmlError(f"line {line}: the XML is not well-formed: {message}",
                                line) from None


def _check_envelope(element: etree._Element, position: int, *, nested: bool = True) -> int:
    """Check one document's envelope; return how many SIGNATUREs stand beside its BODY.
    With ``nested`` the BODY and SIGNATURE subtrees are searched for envelope elements
    too (the caller may instead compare tag counts in the text, which is cheaper)."""
    where = f"document {position + 1} (line {element.sourceline})"
    children = [c for c in element if isinstance(c.tag, str)]
    names = [c.tag for c in children]
    if names.count("BODY") > 1:
        raise StructureError(f"{where}: a second <BODY>; an XrML document has exactly one")
    if "BODY" not in names:
        raise StructureError(f"{where}: no <BODY>")
    if names.count("SIGNATURE") > 1:
        raise StructureError(f"{where}: a second <SIGNATURE>")
    body = children[names.index("BODY")]
    if nested:
        for inner in body.iter("BODY", "SIGNATURE", "XrML"):
            if inner is not body:
                raise StructureError(
                    f"{where}: <{inner.tag}> found inside <BODY> (line {inner.sourceline}); "
                    f"the {'signature' if inner.tag == 'SIGNATURE' else 'element'} "
                    "must stand beside the BODY, not in it")
        for signature in (c for c in children if c.tag == "SIGNATURE"):
            for inner in signature.iter("BODY", "XrML"):
                raise StructureError(f"{where}: <{inner.tag}> found inside <SIGNATURE> "
                                     f"(line {inner.sourceline})")
    for other in names:
        if other not in ("BODY", "SIGNATURE"):
            raise StructureError(f"{where}: unexpected <{other}> beside <BODY>")
    if "SIGNATURE" in names and names.index("SIGNATURE") < names.index("BODY"):
        raise StructureError(f"{where}: <SIGNATURE> stands before <BODY>; it must follow it")
    return names.count("SIGNATURE")
