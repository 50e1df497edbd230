"""The `rmslab` command: inspect, verify and chain, and the stable JSON schema.

covers: A-1
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rmslab.cli import main
from rmslab.samples import TeachingChain


LAB_TIME = "2026-01-05T09:00"  # the teaching chain's lab: every certificate is valid then


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.fixture()
def chain_file(teaching: TeachingChain, tmp_path: Path) -> Path:
    path = tmp_path / "chain.xml"
    path.write_text(teaching.text, encoding="utf-16")  # UTF-16 with BOM, as Windows writes
    return path


@pytest.fixture()
def anchor_file(teaching: TeachingChain, tmp_path: Path) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(teaching.anchor.to_pem())
    return path


INSPECT_KEYS = {"index", "kind", "id", "issued", "issuer", "principals", "content_id", "owner",
                "license_acquisition_urls", "validity"}
VERIFY_KEYS = {"index", "kind", "id", "issuer", "digest_algorithm", "key_bits", "digest_matches",
               "digest_matches_after_whitespace_recovery", "signature_valid", "issuer_index",
               "errors"}


def test_inspect_json_schema(chain_file: Path) -> None:
    status, output = run("inspect", str(chain_file), "--json")
    data = json.loads(output)
    assert status == 0 and data["file"] == str(chain_file)
    for doc in data["documents"]:
        assert INSPECT_KEYS <= set(doc)
        assert set(doc["issuer"]) >= {"type", "name", "id"}
        assert set(doc["validity"]) == {"from", "until"}
    pl, clc = data["documents"][0], data["documents"][1]
    assert pl["kind"] == "Microsoft Rights Label" and pl["owner"] == "alice@contoso.example"
    assert pl["license_acquisition_urls"] == ["https://rms.contoso.example/_wmcs/licensing"] * 2
    assert clc["principals"][0]["key"]["bits"] == 2048
    assert len(clc["principals"][0]["key"]["fingerprint"]) == 64
    assert clc["validity"]["until"] == "2027-01-05T09:00"
    assert clc["rights"][0]["name"] == "ISSUE"


def test_inspect_text(chain_file: Path) -> None:
    status, output = run("inspect", str(chain_file))
    assert status == 0
    assert "#1 client licensor certificate (Client-Licensor-Certificate)" in output
    assert "License-Acquisition-URL: https://rms.contoso.example/_wmcs/licensing" in output


def test_verify_json_schema_and_anchor(chain_file: Path, anchor_file: Path) -> None:
    status, output = run("verify", str(chain_file), "--anchor", str(anchor_file), "--json",
                         "--require-mode", "2", "--at", "2026-06-01T00:00")
    data = json.loads(output)
    assert status == 0 and data["chain_valid"] is True
    assert data["schema"] == 2 and data["verdict"] == "valid" and data["anchored"] is True
    assert data["checked_at"] == "2026-06-01T00:00"
    assert [d["issuer_index"] for d in data["documents"]] == [1, 2, 3, None]
    assert data["documents"][3]["anchored"] is True
    for doc in data["documents"]:
        assert VERIFY_KEYS <= set(doc) and doc["errors"] == []


def test_verify_reports_expiry_and_mode(chain_file: Path, teaching: TeachingChain,
                                       tmp_path: Path) -> None:
    clc = tmp_path / "clc.xml"  # a leaf certificate: may it still issue?
    clc.write_text(teaching.text[teaching.chain[1].span.start:], encoding="utf-8")
    status, output = run("verify", str(clc), "--json", "--at", "2030-01-01T00:00")
    data = json.loads(output)
    assert status == 6 and data["verdict"] == "expired"  # and not anchored: expiry first
    assert data["anchored"] is False and data["chain_valid"] is False
    assert [e["code"] for e in data["documents"][0]["errors"]] == ["expired"]
    status, output = run("verify", str(chain_file), "--json", "--at", LAB_TIME,
                         "--require-mode", "2")
    assert status == 5 and json.loads(output)["verdict"] == "unanchored"


def test_verify_text_output(chain_file: Path, anchor_file: Path, teaching: TeachingChain,
                            tmp_path: Path) -> None:
    status, output = run("verify", str(chain_file), "--anchor", str(anchor_file), "--at",
                         LAB_TIME)
    assert status == 0 and "\nchain VALID AND ANCHORED: " in output
    broken = tmp_path / "broken.xml"
    broken.write_text(teaching.text.replace("CONTOSO-RMS", "CONTOSO-RMX", 1))
    status, output = run("verify", str(broken), "--at", LAB_TIME)
    assert status == 1
    assert "✗ digest-mismatch" in output and "\nchain NOT VALID: 1 check failed" in output


def test_anchor_from_xml_publickey(chain_file: Path, teaching: TeachingChain,
                                   tmp_path: Path) -> None:
    from rmslab.xrml.writer import public_key_xml
    key = tmp_path / "root.xml"
    key.write_text(public_key_xml(teaching.anchor))
    status, _ = run("verify", str(chain_file), "--anchor", str(key), "--at", LAB_TIME)
    assert status == 0


def test_bad_anchor_file(chain_file: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a key")
    status, _ = run("verify", str(chain_file), "--anchor", str(junk))
    assert status == 2


@pytest.mark.parametrize("suffix,marker", [(".svg", b"<svg"), (".png", b"\x89PNG"),
                                           (".dot", b"digraph")])
def test_chain_picture(chain_file: Path, anchor_file: Path, tmp_path: Path, suffix: str,
                       marker: bytes) -> None:
    target = tmp_path / f"chain{suffix}"
    status, _ = run("chain", str(chain_file), "-o", str(target), "--anchor", str(anchor_file))
    assert status == 0
    data = target.read_bytes()
    assert marker in data[:400]
    if suffix != ".png":
        text = data.decode()
        assert "client licensor certificate" in text and "pinned anchor key" in text


def test_chain_picture_bad_suffix(chain_file: Path, tmp_path: Path) -> None:
    status, _ = run("chain", str(chain_file), "-o", str(tmp_path / "x.pdf"))
    assert status == 2


def test_an_output_that_cannot_be_written(chain_file: Path, tmp_path: Path) -> None:
    import sys
    err = io.StringIO()
    saved = sys.stderr
    sys.stderr = err
    try:
        status = main(["chain", str(chain_file), "-o", str(tmp_path / "missing" / "x.svg")])
    finally:
        sys.stderr = saved
    assert status == 2 and "No such file or directory" in err.getvalue()
