"""Hostile and broken input: a clear rmslab error, exit status 2, never a traceback.

covers: A-1
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from rmslab.cli import main
from rmslab.errors import (ContainerError, EncodingError, HostileInputError, InputError,
                           MalformedXmlError, StructureError)
from rmslab.samples import TeachingChain
from rmslab.xrml import read_chain, read_file, write_protected_file

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<XrML version="1.2"><BODY type="LICENSE">&lol3;</BODY></XrML>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<XrML version="1.2"><BODY type="LICENSE">&secret;</BODY></XrML>"""

DTD_ONLY = """<!DOCTYPE XrML SYSTEM "http://example.invalid/xrml.dtd">
<XrML version="1.2"><BODY type="LICENSE"/></XrML>"""

UNDECLARED_ENTITY = """<XrML version="1.2"><BODY type="LICENSE">&secret;</BODY></XrML>"""


def cli_status(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    err = io.StringIO()
    saved = sys.stderr
    sys.stderr = err
    try:
        status = main(["verify", str(path)], out=out)
    finally:
        sys.stderr = saved
    return status, err.getvalue()


@pytest.mark.parametrize("text,error", [
    (BILLION_LAUGHS, HostileInputError),
    (EXTERNAL_ENTITY, HostileInputError),
    (DTD_ONLY, HostileInputError),
    (UNDECLARED_ENTITY, HostileInputError),
])
def test_dtds_and_entities_are_refused(text: str, error: type[Exception], tmp_path: Path) -> None:
    with pytest.raises(error):
        read_chain(text.encode("utf-8"))
    path = tmp_path / "hostile.xml"
    path.write_text(text)
    status, message = cli_status(path)
    assert status == 2
    assert message.startswith("rmslab: ") and "Traceback" not in message


def test_a_100_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as handle:
        handle.write(b"<XrML>")
        handle.seek(100 * 1024 * 1024)
        handle.write(b"</XrML>")
    with pytest.raises(HostileInputError, match="100.0 MB"):
        read_file(path)
    assert cli_status(path)[0] == 2


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(InputError):
        read_file(path)
    status, message = cli_status(path)
    assert status == 2 and "garbage.bin" in message


def test_invalid_utf8_names_the_byte() -> None:
    with pytest.raises(EncodingError, match="byte 6"):
        read_chain(b"<XrML>\xff\xfe\xfa</XrML>")


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(MalformedXmlError, match="line 3") as caught:
        read_chain(b'<XrML version="1.2">\n<BODY type="LICENSE">\n<ISSUEDTIME></BODY>\n</XrML>')
    assert caught.value.line == 3


def test_empty_and_non_xrml(tmp_path: Path) -> None:
    with pytest.raises(StructureError, match="no <XrML>"):
        read_chain(b"   ")
    with pytest.raises(StructureError, match="<html>"):
        read_chain(b"<html><body/></html>")


def test_a_second_body_is_refused(teaching: TeachingChain) -> None:
    doc = teaching.chain[1].text
    body = teaching.chain[1].body_text
    twice = doc.replace(body, body + body)
    with pytest.raises(StructureError, match="second <BODY>"):
        read_chain(twice.encode())


def test_a_signature_that_moved_is_refused(teaching: TeachingChain) -> None:
    doc = teaching.chain[1]
    signature = doc.text[doc.text.index("<SIGNATURE>"):doc.text.index("</XrML>")]
    without = doc.text.replace(signature, "")
    inside = without.replace("</BODY>", signature + "</BODY>")
    with pytest.raises(StructureError, match="inside <BODY>"):
        read_chain(inside.encode())
    before = without.replace("<BODY", signature + "<BODY", 1)
    with pytest.raises(StructureError, match="before <BODY>"):
        read_chain(before.encode())


def test_nested_xrml_is_refused(teaching: TeachingChain) -> None:
    doc = teaching.chain[1].text
    nested = doc.replace("</BODY>", teaching.chain[2].text + "</BODY>", 1)
    with pytest.raises(StructureError):
        read_chain(nested.encode())


def test_deeply_nested_xml_is_refused() -> None:
    deep = "<XrML><BODY>" + "<A>" * 100_000 + "</A>" * 100_000 + "</BODY></XrML>"
    with pytest.raises(InputError):
        read_chain(deep.encode())


def test_truncated_containers_name_what_is_missing(teaching: TeachingChain, tmp_path: Path) -> None:
    data = write_protected_file(teaching.text, b"\x00" * 64)
    assert read_chain(data).container is not None
    for cut in (3, 10, 16, 30, 220, 300, len(data) - 500, len(data) - 65):
        with pytest.raises((ContainerError, InputError)):
            read_chain(data[:cut])
        path = tmp_path / f"cut{cut}.pfile"
        path.write_bytes(data[:cut])
        status, message = cli_status(path)
        assert status == 2, (cut, message)
        assert "Traceback" not in message


def test_truncated_container_message(teaching: TeachingChain) -> None:
    data = write_protected_file(teaching.text, b"\x00" * 64)
    with pytest.raises(ContainerError, match="truncated"):
        read_chain(data[: len(data) - 100])


def test_unknown_container_version() -> None:
    with pytest.raises(ContainerError, match="version 9.0"):
        read_chain(b".pfile\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")


@pytest.mark.parametrize("payload", [BILLION_LAUGHS.encode(), bytes(range(256)), b".pfile\x03"])
def test_no_traceback_from_the_real_command(payload: bytes, tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(payload)
    result = subprocess.run([sys.executable, "-m", "rmslab.cli", "inspect", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("rmslab: ")


def test_missing_file(tmp_path: Path) -> None:
    status, message = cli_status(tmp_path / "nope.xml")
    assert status == 2 and "cannot be read" in message


def test_a_moved_signature_is_found_in_a_chain_too(teaching: TeachingChain) -> None:
    docs = teaching.chain
    doc = docs[1]
    signature = doc.text[doc.text.index("<SIGNATURE>"):doc.text.index("</XrML>")]
    moved = doc.text.replace(signature, "").replace("</BODY>", signature + "</BODY>")
    text = docs[0].text + moved + docs[2].text + docs[3].text
    with pytest.raises(StructureError, match="document 2 .*<SIGNATURE> found inside <BODY>"):
        read_chain(text.encode())
    nested_body = doc.text.replace("</BODY>", "<BODY/></BODY>")
    with pytest.raises(StructureError, match="<BODY> found inside <BODY>"):
        read_chain((docs[0].text + nested_body).encode())
