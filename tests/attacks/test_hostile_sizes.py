"""Hostile sizes take linear time (issue 10, item 8): many tiny XrML documents, one
document with very many principals, a chain of many signed documents, a ``.reg`` hex
value continued over megabytes, an LDIF value folded over megabytes.

No test measures time: each reads an input large enough that the quadratic readers
rmslab had would not finish within the (generous) timeout — 100,000 tiny documents took
72 s to inspect, a 4 MB continued .reg value 3 minutes, a 16 MB folded LDIF value about
8 — or counts the Python calls of the work at two sizes. Times per MB are printed by
``bench/hostile_inputs.py``.

covers: A-1, D-4, D-7
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree

from rmslab.discovery.directory import Directory
from rmslab.discovery.ldif import parse_ldif
from rmslab.discovery.regfile import RegType, parse_reg
from rmslab.errors import LdifFormatError, RegistryFormatError
from rmslab.lab import Lab
from rmslab.report import examine
from rmslab.samples import teaching_chain
from rmslab.xrml import read_chain
from rmslab.xrml.document import locate_parts
from tests.attacks.conftest import run


@pytest.mark.timeout(180)
def test_a_hundred_thousand_tiny_documents_are_inspected(tmp_path: Path) -> None:
    path = tmp_path / "tiny.xml"
    path.write_text("\n".join(['<XrML><BODY type="x"/></XrML>'] * 100_000))
    status, output, _ = run("inspect", str(path), "--json")
    documents = json.loads(output)["documents"]
    assert status == 0 and len(documents) == 100_000
    assert documents[-1]["index"] == 99_999 and documents[-1]["body_type"] == "x"


@pytest.mark.timeout(120)
def test_one_document_with_two_hundred_thousand_principals_is_located() -> None:
    principals = "<PRINCIPAL><PUBLICKEY/></PRINCIPAL>" * 200_000
    chain = read_chain(f'<XrML><BODY type="x"><ISSUER><PUBLICKEY/></ISSUER>'
                       f'<ISSUEDPRINCIPALS>{principals}</ISSUEDPRINCIPALS></BODY></XrML>')
    (parts,) = locate_parts([chain[0].element])
    assert len(parts.principal_keys) == 200_000 and parts.issuer_key is not None


def test_a_long_chain_is_located_as_its_documents_are_one_by_one() -> None:
    # chains of more than 16 documents are located one document at a time: the same parts
    texts = [f'<XrML><BODY type="t{i}"><DESCRIPTOR><OBJECT type="k{i}"/></DESCRIPTOR>'
             f'<ISSUER><PUBLICKEY/></ISSUER><ISSUEDPRINCIPALS>'
             + "<PRINCIPAL><PUBLICKEY/></PRINCIPAL>" * (i % 3) +
             f'</ISSUEDPRINCIPALS></BODY>{"<SIGNATURE/>" if i % 2 else ""}</XrML>'
             for i in range(40)]
    for count in (3, 40):  # one XPath for the chain; one per document
        elements = [doc.element for doc in read_chain("".join(texts[:count]))]
        for element, parts in zip(elements, locate_parts(elements)):
            (alone,) = locate_parts([element])
            assert [getattr(parts, s) for s in parts.__slots__] == \
                [getattr(alone, s) for s in alone.__slots__]
            assert etree.tostring(parts.body) == etree.tostring(element.find("BODY"))


def _calls(work: Callable[[], object]) -> int:
    """How many Python functions ``work`` calls (generator resumptions included)."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def test_examining_a_chain_of_many_signed_documents_is_linear() -> None:
    # n copies of a signed publishing license before the certificates that issue it: each
    # copy's issuer is found through the chain's index of certified keys, not by reading
    # every document after it
    teaching = teaching_chain(Lab(mode=1))
    leaf, *issuers = [doc.text for doc in teaching.chain]
    at = Lab().now()

    def examined(copies: int) -> int:
        chain = read_chain("\n".join([leaf] * copies + issuers))
        for doc in chain:  # read what examine reads, outside the count
            doc.compute_digest(), doc.issuer, doc.signature
        calls = _calls(lambda: examine(chain, at=at))
        assert {doc.issuer_index for doc in examine(chain, at=at).documents[:copies]} == {copies}
        return calls

    small, large = examined(150), examined(600)
    assert large <= 4.4 * small, (small, large)  # 4x the documents, 4x the work


def _continued_reg(megabytes: int) -> bytes:
    line = "  " + ",".join(["ab"] * 25) + ",\\\r\n"
    lines = megabytes * 1_000_000 // len(line)
    return ('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\Software\\X]\r\n'
            '"big"=hex:01,\\\r\n' + line * lines + "  ff\r\n").encode("cp1252"), lines


@pytest.mark.timeout(60)
def test_a_reg_hex_value_continued_over_megabytes() -> None:
    data, lines = _continued_reg(4)
    (block,) = parse_reg(data).blocks
    (value,) = block.entries
    assert value.type == RegType.REG_BINARY
    assert value.data == b"\x01" + b"\xab" * (25 * lines) + b"\xff"  # type: ignore[union-attr]


@pytest.mark.timeout(60)
def test_a_reg_line_of_backslashes_over_blank_lines() -> None:
    # each blank line takes one more backslash off the gathered line
    data = ('REGEDIT4\r\n[HKEY_CURRENT_USER\\X]\r\n"v"=hex:01,' + "\\" * 200_000 + "\r\n"
            + "\r\n" * 100_000).encode("cp1252")
    with pytest.raises(RegistryFormatError, match="line 3: the file ends inside a continued"):
        parse_reg(data)


@pytest.mark.timeout(60)
def test_an_ldif_value_folded_over_sixteen_megabytes() -> None:
    folds = 16_000_000 // 80
    data = ("dn: cn=a,dc=x\r\ndescription: start\r\n" + (" " + "x" * 77 + "\r\n") * folds
            + "cn: a\r\n").encode()
    (record,) = parse_ldif(data)
    assert record.values("description") == ("start" + "x" * 77 * folds,)
    assert record.values("cn") == ("a",) and record.line == 1


@pytest.mark.timeout(60)
def test_an_ldif_export_of_many_deletions() -> None:
    # each delete asks how many entries lie below the entry; it used to compare the DN of
    # every entry (2,000 deletions took 52 s)
    count = 20_000
    text = "".join(f"dn: cn=u{i},ou=x,dc=y\nchangetype: add\ncn: u{i}\n\n" for i in range(count))
    text += "dn: ou=x,dc=y\nchangetype: add\nou: x\n\n"
    text += "".join(f"dn: cn=u{i},ou=x,dc=y\nchangetype: delete\n\n" for i in range(count - 1))
    with pytest.raises(LdifFormatError, match="it has 1 entries below it"):
        Directory.from_ldif(parse_ldif(text + "dn: ou=x,dc=y\nchangetype: delete\n\n"))
    last = f"dn: cn=u{count - 1},ou=x,dc=y\nchangetype: delete\n\n"
    directory = Directory.from_ldif(parse_ldif(text + last + "dn: ou=x,dc=y\nchangetype: delete\n"))
    assert len(directory) == 0
