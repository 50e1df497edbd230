"""An audit log that disappears or loses requests is noticed, never silently recreated
(issue 10 low items): commands refuse the lab naming the file and what it held, `rmslab
log` says so, `rmslab audit` reports RMS-009; `rmslab log` reads without changing a byte.

covers: E-8, A-2
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Callable

import pytest

from tests.clirun import run
from tests.logedit import edit_log as _edit

ROOT_LOG = Path("clusters/contoso-root/logging.sqlite")


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    target = tmp_path / "lab"
    assert run("lab", "create", str(target), "--enrollment-service")[0] == 0
    return target


def _delete(path: Path) -> None:
    path.unlink()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _truncate_a_little(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-100])


def _lose_rows(path: Path) -> None:
    _edit(path, "DELETE FROM enrollment_log WHERE id > 5")


def _drop_table(path: Path) -> None:
    _edit(path, "DROP TABLE enrollment_log")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "deleted": (_delete, "missing"),
    "emptied": (_empty, "empty"),
    "garbage": (_garbage, "not"),
    "truncated": (_truncate, "damaged|not a readable|malformed"),
    "truncated by 100 bytes": (_truncate_a_little, "damaged"),
    "rows deleted": (_lose_rows, "lost requests: it holds 5"),
    "table dropped": (_drop_table, "no enrollment_log table"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_log_is_noticed(lab: Path, damage: str) -> None:
    spoil, said = DAMAGE[damage]
    log = lab / ROOT_LOG
    spoil(log)
    spoiled = log.read_bytes() if log.exists() else None
    # a command that would use the lab refuses it, naming the file and what it held
    status, _, error = run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "bob")
    assert status == 2 and str(log) in error and "held 6 request(s)" in error, error
    import re
    assert re.search(said, error), error
    assert "Traceback" not in error
    # `rmslab log` shows the others and names the damaged one
    status, output, error = run("log", str(lab))
    assert status == 2 and "contoso-root: DAMAGED" in output and str(log) in error
    assert "contoso-licensing: 0 request(s)" in output and "enrollment-service: 1 request(s)" in output
    # the audit reports it as a finding
    status, output, _ = run("audit", str(lab), "--json")
    findings = [f for f in json.loads(output)["findings"] if f["id"] == "RMS-009"]
    assert status == 1 and len(findings) == 1
    assert findings[0]["severity"] == "high" and findings[0]["subject"] == "cluster contoso-root"
    assert findings[0]["remediation"] and findings[0]["spec_id"] == "E-8"
    # and nothing recreated or repaired it
    assert (log.read_bytes() if log.exists() else None) == spoiled


def test_the_enrollment_service_log_too(lab: Path) -> None:
    (lab / "enrollment-service/log.sqlite").unlink()
    status, _, error = run("lab", "advance", str(lab), "--days", "1")
    assert status == 2 and "enrollment-service/log.sqlite" in error and "missing" in error
    status, output, _ = run("audit", str(lab))
    assert status == 1 and "RMS-009 high   the enrollment service" in output
    assert not (lab / "enrollment-service/log.sqlite").exists()


def _digests(lab: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((lab / ROOT_LOG).parent.glob("logging.sqlite*"))}


def test_rmslab_log_reads_without_changing_a_byte(lab: Path) -> None:
    log = lab / ROOT_LOG
    before = _digests(lab)
    tables = sqlite3.connect(f"{log.as_uri()}?mode=ro", uri=True).execute(
        "SELECT name FROM sqlite_master").fetchall()
    for args in ([], ["--json"], ["--cluster", "contoso-root"], ["--outcome", "refused"]):
        assert run("log", str(lab), *args)[0] == 0
    assert run("audit", str(lab))[0] == 0
    after = _digests(lab)
    assert after["logging.sqlite"] == before["logging.sqlite"]
    assert set(after) - set(before) <= {"logging.sqlite-wal", "logging.sqlite-shm"}
    assert sqlite3.connect(f"{log.as_uri()}?mode=ro", uri=True).execute(
        "SELECT name FROM sqlite_master").fetchall() == tables
    # a log without its table stays without it: rmslab log creates nothing
    _drop_table(log)
    dropped = log.read_bytes()
    assert run("log", str(lab))[0] == 2
    assert log.read_bytes() == dropped
    assert "enrollment_log" not in str(sqlite3.connect(f"{log.as_uri()}?mode=ro", uri=True)
                                       .execute("SELECT name FROM sqlite_master").fetchall())
