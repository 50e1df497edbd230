"""`rmslab protect`, `rmslab open` and `rmslab inspect --lab`.

covers: P-3, P-6, P-8, L-1, B-1, B-2, D-7
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmslab.deployment import DEFAULT_TEMPLATE_RIGHTS
from tests.clirun import run


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("labs") / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


def test_protect_offline_and_open(lab: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plan.txt"
    plain.write_text("the secret plan\n")
    protected = tmp_path / "plan.ptxt"
    status, output, _ = run("protect", str(plain), str(protected), "--lab", str(lab),
                            "--as", "alice", "--offline", "--grant", "bob:VIEW,EDIT")
    assert status == 0 and "offline, signed with the CLC" in output
    assert b"the secret plan" not in protected.read_bytes()
    status, output, _ = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                            "--right", "VIEW")
    assert status == 0 and output == "the secret plan\n"
    status, _, error = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                           "--right", "PRINT")
    assert status == 3 and "B-2" in error and "grants PRINT" in error
    status, _, error = run("open", str(protected), "--lab", str(lab), "--as", "carol")
    assert status == 3 and "[L-1]" in error
    target = tmp_path / "out.txt"
    status, output, _ = run("open", str(protected), "--lab", str(lab), "--as", "alice",
                            "--right", "EDIT", "-o", str(target))
    assert status == 0 and target.read_text() == "the secret plan\n"


def test_protect_online_with_a_template_and_inspect_the_rights(lab: Path, tmp_path: Path) -> None:
    plain = tmp_path / "memo.txt"
    plain.write_text("memo")
    protected = tmp_path / "memo.ptxt"
    status, output, _ = run("protect", str(plain), str(protected), "--lab", str(lab),
                            "--as", "carol", "--template", "Contoso-Confidential")
    assert status == 0 and "online, signed by the server" in output
    # D-7: with no --cluster, the client finds its server in its registry
    assert "found contoso-root by service discovery (registry:" in output
    status, output, _ = run("inspect", str(protected), "--lab", str(lab), "--json")
    document = json.loads(output)["documents"][0]
    assert document["decrypted_rights"]["grants"] == [
        {"user": "ANYONE", "rights": list(DEFAULT_TEMPLATE_RIGHTS), "until": None}]
    status, output, _ = run("inspect", str(protected))
    assert "decrypted" not in output and "rights    (encrypted" not in output
    assert run("open", str(protected), "--lab", str(lab), "--as", "bob")[0] == 0


def test_bad_requests(lab: Path, tmp_path: Path) -> None:
    plain = tmp_path / "x.txt"
    plain.write_text("x")
    assert run("protect", str(plain), str(tmp_path / "x.ptxt"), "--lab", str(lab),
               "--as", "alice")[0] == 2  # no rights stated
    assert run("protect", str(plain), str(tmp_path / "x.ptxt"), "--lab", str(lab),
               "--as", "alice", "--template", "Nope")[0] == 2
    assert run("protect", str(tmp_path / "missing.txt"), str(tmp_path / "x.ptxt"), "--lab",
               str(lab), "--as", "alice", "--grant", "bob:VIEW")[0] == 2
    assert not (tmp_path / "x.ptxt").exists() and not (tmp_path / "x.ptxt.part").exists()
    assert run("open", str(plain), "--lab", str(lab), "--as", "bob")[0] == 2


def test_unknown_names_are_input_errors(lab: Path, tmp_path: Path) -> None:
    plain = tmp_path / "n.txt"
    plain.write_text("n")
    status, _, error = run("protect", str(plain), str(tmp_path / "n.ptxt"), "--lab", str(lab),
                           "--as", "nobody", "--grant", "bob:VIEW")
    assert status == 2 and "no user 'nobody'" in error
    status, _, error = run("protect", str(plain), str(tmp_path / "n.ptxt"), "--lab", str(lab),
                           "--as", "alice", "--grant", "bob:VIEW", "--cluster", "nope")
    assert status == 2 and "no cluster 'nope'" in error
    status, _, error = run("open", str(plain), "--lab", str(lab), "--as", "bob")
    assert status == 2 and "not a protected file" in error
