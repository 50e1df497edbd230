"""`rmslab protect` writes Office, mail and PDF containers; `inspect`, `verify` and
`chain` read every container.

covers: A-1, P-6, P-8
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmslab.containers.convert import WRITABLE, rewrap

from tests.clirun import run
from tests.containers.conftest import Published


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("labs") / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


@pytest.mark.parametrize("name,kind", [("Board.docx", "office-ooxml"),
                                       ("Budget.xls", "office-binary"),
                                       ("Note.msg", "outlook-msg"),
                                       ("Scan.pdf", "pdf-irm-v2-wrapper")])
def test_protect_writes_the_container_its_name_asks_for(lab: Path, tmp_path: Path,
                                                        name: str, kind: str) -> None:
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"PK\x03\x04 the board's plans" * 20)
    target = tmp_path / name
    status, output, _ = run("protect", str(plain), str(target), "--lab", str(lab),
                            "--as", "alice", "--grant", "bob:VIEW")
    assert status == 0, output
    status, output, _ = run("inspect", str(target), "--json")
    assert status == 0
    data = json.loads(output)
    assert data["artefact"]["kind"] == kind
    assert data["documents"][0]["kind"] == "Microsoft Rights Label"
    status, output, _ = run("verify", str(target), "--anchor", str(lab / "anchor.pem"))
    assert status == 0 and "ANCHORED" in output
    # Office documents and mail are sealed in ECB, as their containers prescribe
    from rmslab.store.labdb import LabStore
    from rmslab.xrml.licenses import license_content_key
    from rmslab.xrml.reader import read_file
    with LabStore(lab).read() as deployment:
        cipher = license_content_key(read_file(target).leaf, deployment.root_cluster.key).cipher
    assert (cipher.name == "ECB") == (kind != "pdf-irm-v2-wrapper"), (kind, cipher)
    # open reads protected files only, and says so naming the container
    status, output, error = run("open", str(target), "--lab", str(lab), "--as", "bob")
    assert status == 2 and output == "" and data["artefact"]["kind_name"] in error
    assert "inspect, verify and chain read this container" in error


@pytest.mark.parametrize("kind", WRITABLE)
def test_verify_and_chain_accept_every_container(published: Published, tmp_path: Path,
                                                 kind: str) -> None:
    path = tmp_path / f"sample-{kind}"
    path.write_bytes(rewrap(published.pfile, kind))
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(published.deployment.enrollment_service.anchor.to_pem())
    status, output, _ = run("verify", str(path), "--anchor", str(anchor))
    assert status == 0 and "ANCHORED" in output
    status, output, _ = run("verify", str(path))
    assert status == 5 and "NOT ANCHORED" in output.upper()
    status, output, _ = run("inspect", str(path))
    assert status == 0 and "sealed bytes" in output or kind == "protected-file"
    status, output, _ = run("chain", str(path), "-o", str(tmp_path / "chain.dot"))
    assert status == 0 and (tmp_path / "chain.dot").read_text().startswith("digraph")


def test_an_unprotected_file_is_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    status, out, err = run("inspect", str(path))
    assert status == 2 and out == "" and "rmslab:" in err


def test_protect_refuses_a_container_too_large_to_write_in_memory(
        lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Containers are written in memory: past the bound, protect says so (exit 2), writes
    nothing and keeps nothing in the lab; a protected file has no such bound."""
    import rmslab.cli.content as content
    monkeypatch.setattr(content, "MAX_CONTAINER_BYTES", 4096)
    plain = tmp_path / "big.bin"
    plain.write_bytes(b"x" * 10_000)
    before = (lab / "lab.sqlite").read_bytes()
    status, _, error = run("protect", str(plain), str(tmp_path / "big.docx"), "--lab",
                           str(lab), "--as", "alice", "--grant", "bob:VIEW")
    assert status == 2 and "up to 0 MB" in error and "protected file (.pfile)" in error
    assert not list(tmp_path.glob("big.docx*"))
    assert (lab / "lab.sqlite").read_bytes() == before
    status, _, _ = run("protect", str(plain), str(tmp_path / "big.ptxt"), "--lab", str(lab),
                       "--as", "alice", "--grant", "bob:VIEW")
    assert status == 0
