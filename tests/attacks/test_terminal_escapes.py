"""Text from files never reaches the terminal raw: control characters, bidirectional
overrides and the like are shown escaped in every command's text output and message,
while JSON output keeps the exact values (issue 10, low items).

covers: A-1, D-7
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmslab.cli.output import safe_json_text, safe_text
from rmslab.discovery.regfile import RegFile, KeyBlock, RegValue, write_reg
from rmslab.lab import Lab
from rmslab.samples import teaching_chain
from rmslab.xrml.pfile import write_protected_file
from tests.attacks.conftest import run

# characters that move the cursor, recolour, retitle, clear, reverse or hide text
HOSTILE = ["\x1b", "\x07", "\r", "\x08", "\x7f", "\x9b", "\x9d", "\u202e", "\u2066",
           "\u200b", "\u2028", "\ufeff", "\U000e0041"]


def _raw(text: str) -> list[str]:
    return [c for c in HOSTILE if c in text]


def test_the_escaping_of_text_and_of_json() -> None:
    text = "a\x1b[31mb\tc\nd\u202ee\x9bf\u00a0g\u3000h\u00e9\U0001f600\U000e0041"
    assert safe_text(text) == ("a\\x1b[31mb\tc\nd\\u202ee\\x9bf\u00a0g\u3000h\u00e9"
                               "\U0001f600\\U000e0041")
    encoded = json.dumps({"v": text}, ensure_ascii=False)
    assert json.loads(safe_json_text(encoded)) == {"v": text}
    assert not _raw(safe_json_text(encoded)) and "\\udb40\\udc41" in safe_json_text(encoded)


def test_a_protected_files_extension(tmp_path: Path) -> None:
    extension = "\x1b]0;owned\x07\x1b[2J.txt\u202e\r"
    path = tmp_path / "x.ptxt"
    path.write_bytes(write_protected_file(teaching_chain(Lab()).text, bytes(32),
                                          extension=extension))
    status, output, _ = run("inspect", str(path))
    assert status == 0 and not _raw(output)
    assert "(\\x1b]0;owned\\x07\\x1b[2J.txt\\u202e\\x0d)" in output
    status, output, _ = run("inspect", str(path), "--json")
    assert status == 0 and not _raw(output)
    assert json.loads(output)["container"]["extension"] == extension


def _crafted_document() -> str:
    # XML 1.0 carries no C0 control but CR (as a reference); C1 controls and format
    # characters stand as they are
    return ('<XrML version="1.2"><BODY type="LICENSE" version="3.0">'
            '<ISSUEDTIME>2026-01-01T00:00</ISSUEDTIME>'
            '<DESCRIPTOR><OBJECT type="Microsoft Rights Label"><ID type="MS-GUID">'
            '{id\u202e}</ID></OBJECT></DESCRIPTOR>'
            '<ISSUER><OBJECT type="MS-DRM-Server"><NAME>evil\u009b2J\u202eCORP&#13;chain valid'
            '</NAME></OBJECT></ISSUER>'
            '<DISTRIBUTIONPOINT><OBJECT type="License-Acquisition-URL"><NAME>x</NAME>'
            '<ADDRESS type="URL">https://rms.example/&#13;\u009d0;title\u0007</ADDRESS>'
            '</OBJECT></DISTRIBUTIONPOINT></BODY>'
            '<SIGNATURE><ALGORITHM>RSA PKCS#1-V1.5</ALGORITHM>'
            '<DIGEST><ALGORITHM>SHA256</ALGORITHM><VALUE encoding="base64" size="256">'
            'AAAA</VALUE></DIGEST><VALUE encoding="base64" size="2048">AAAA</VALUE>'
            '</SIGNATURE></XrML>').replace("\u0007", "")


@pytest.mark.parametrize("command", [["inspect"], ["verify"], ["inspect", "--json"],
                                     ["verify", "--json"]])
def test_names_ids_and_urls_of_documents(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "crafted.xml"
    path.write_text(_crafted_document(), encoding="utf-8")
    status, output, error = run(command[0], str(path), *command[1:])
    assert status in (0, 1, 5, 6), error
    assert not _raw(output) and not _raw(error)
    if "--json" in command:
        data = json.loads(output)
        document = data["documents"][0]
        assert document["id"] == "{id\u202e}"
        issuer = document["issuer"]
        assert (issuer["name"] if command[0] == "inspect" else issuer) .count("\r") == 1
    elif command[0] == "inspect":
        assert "evil\\x9b2J\\u202eCORP\\x0dchain valid" in output
        assert "https://rms.example/\\x0d\\x9d0;title" in output


def test_messages_on_stderr_name_files_safely(tmp_path: Path) -> None:
    name = tmp_path / "\x1b[2Jmissing\u202e.xml"
    status, output, error = run("verify", str(name))
    assert status == 2 and not _raw(error) and "\\x1b[2Jmissing\\u202e.xml" in error
    broken = tmp_path / "b.xml"
    broken.write_text("<XrML><BODY>\u009b</BOD></XrML>", encoding="utf-8")
    status, _, error = run("inspect", str(broken))
    assert status == 2 and not _raw(error)


def test_discovery_shows_registry_urls_safely(tmp_path: Path) -> None:
    url = "https://rms.example/_wmcs/certification\x1b]8;;https://evil\x07"
    reg = tmp_path / "hostile.reg"
    base = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\MSIPC\\ServiceLocation"
    reg.write_bytes(write_reg(RegFile("5.00", (
        KeyBlock(f"{base}\\EnterpriseCertification", (RegValue.sz("", url),)),
        KeyBlock(f"{base}\\EnterprisePublishing",
                 (RegValue.sz("", url.replace("certification", "licensing")),)),
    ))))
    status, output, error = run("discover", "--reg", str(reg))
    assert not _raw(output) and not _raw(error) and "\\x1b]8;;https://evil\\x07" in output
    status, output, error = run("discover", "--reg", str(reg), "--json")
    assert not _raw(output) and json.loads(output)["certification_url"] == url


def test_opened_content_printed_to_the_terminal(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    plain, protected, written = tmp_path / "p.txt", tmp_path / "p.ptxt", tmp_path / "o.txt"
    content = "line one\n\x1b[2J\x1b]0;owned\x07line two\r\n"
    plain.write_bytes(content.encode())
    assert run("protect", str(plain), str(protected), "--lab", str(lab), "--as", "alice",
               "--grant", "bob:VIEW", "--cluster", "contoso-root")[0] == 0
    status, output, _ = run("open", str(protected), "--lab", str(lab), "--as", "bob")
    assert status == 0 and not _raw(output)
    assert output == "line one\n\\x1b[2J\\x1b]0;owned\\x07line two\\x0d\n"
    # -o writes the content exactly
    assert run("open", str(protected), "--lab", str(lab), "--as", "bob", "-o",
               str(written))[0] == 0
    assert written.read_bytes() == content.encode()
