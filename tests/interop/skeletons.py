"""The skeleton comparison of the interop tests: a skeleton is the set of element paths
under BODY — tag names, with the value of a ``type`` or ``name`` attribute kept in
brackets — and a document's kind is ``DESCRIPTOR/OBJECT/@type``, else ``BODY/@type``. Written
here (the logic of the team's shape tool, which lives outside the repository)."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from rmslab.xrml.pfile import read_protected_file
from rmslab.xrml.source import decode_text

__all__ = ["xrml_documents", "file_documents", "kind", "skeleton", "real_skeletons", "compare"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                          remove_comments=True)
_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>")


def xrml_documents(text: str) -> list[etree._Element]:
    """The XrML elements of a text holding one or more documents."""
    start, end = text.find("<XrML"), text.rfind("</XrML>")
    if start < 0 or end < 0:
        return []
    inner = _XML_DECLARATION.sub("", text[start:end + len("</XrML>")])
    try:
        root = etree.fromstring(("<W>" + inner + "</W>").encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return []
    return [x for x in root if isinstance(x.tag, str) and x.tag == "XrML"]


def file_documents(path: Path) -> list[etree._Element]:
    data = path.read_bytes()
    try:
        return xrml_documents(decode_text(read_protected_file(data).license_bytes))
    except Exception:  # noqa: BLE001 - not a protected file: read it as text
        pass
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return xrml_documents(data.decode("utf-16"))
    at = data.find("<\x00X\x00r\x00M\x00L".encode("latin-1"))
    if at >= 0 and data.find(b"<XrML") < 0:
        return xrml_documents(data[at:].decode("utf-16-le", "replace"))
    return xrml_documents(data.decode("utf-8", "replace"))


def kind(document: etree._Element) -> str | None:
    body = document.find("BODY")
    if body is None:
        return None
    obj = body.find("DESCRIPTOR/OBJECT")
    return obj.get("type") if obj is not None and obj.get("type") else body.get("type")


def skeleton(document: etree._Element) -> frozenset[str]:
    """The element paths under BODY, with ``type``/``name`` attribute values kept."""
    found: set[str] = set()

    def walk(element: etree._Element, path: str) -> None:
        label = element.tag
        for attribute in ("type", "name"):
            if element.get(attribute) is not None:
                label += f"[{attribute}={element.get(attribute)}]"
        here = f"{path}/{label}"
        found.add(here)
        for child in element:
            if isinstance(child.tag, str):
                walk(child, here)
    body = document.find("BODY")
    assert body is not None
    for child in body:
        if isinstance(child.tag, str):
            walk(child, "BODY")
    return frozenset(found)


def real_skeletons(corpus: Path) -> dict[str, list[frozenset[str]]]:
    real: dict[str, list[frozenset[str]]] = {}
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and path.suffix != ".json":
            for document in file_documents(path):
                found = kind(document)
                if found:
                    real.setdefault(found, []).append(skeleton(document))
    return real


def compare(real: list[frozenset[str]], mine: frozenset[str]) -> tuple[list[str], list[str]]:
    """(missing, foreign) of one document against the real ones of its kind."""
    must = frozenset.intersection(*real)
    may = frozenset.union(*real)
    return sorted(must - mine), sorted(mine - may)
