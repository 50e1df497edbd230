"""The request log beside the enrollment log in each logging database, under the lab's
guard (RMS-009): its rows and last entry are recorded by every write, and a log that
lost request rows, lost its request table, or was replaced while open is noticed; a log
made before the table gets it when opened for writing. And a write starts from what the
store's last write committed only while nothing else changed the lab.

covers: E-8, A-2
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from rmslab.errors import LogDamagedError
from rmslab.revocation import Revoke
from rmslab.store.labdb import REQUEST_LOG_KEY, LabStore
from rmslab.store.logdb import LoggingDatabase
from tests.clirun import run
from tests.logedit import edit_log as _edit

ROOT_LOG = Path("clusters/contoso-root/logging.sqlite")
AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    target = tmp_path / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


def _log_requests(lab: Path, count: int) -> None:
    """``count`` requests answered by the root cluster, as a server logs them; then a
    write of the lab records how far the log goes."""
    log = LoggingDatabase.open(lab / ROOT_LOG)
    for number in range(count):
        log.record_request(at=AT, service="Server", operation="GetLicensorCertificate",
                           account="anonymous", sid=None, client="127.0.0.1",
                           outcome="answered", status=200, exception=None, detail="",
                           duration_ms=1.5 + number)
    log.close()
    with LabStore(lab).write():
        pass


def _recorded(lab: Path) -> tuple[int, int]:
    with sqlite3.connect(lab / "lab.sqlite") as db:
        row = db.execute("SELECT rows, last_id FROM logs WHERE path = ?",
                         (str(ROOT_LOG) + REQUEST_LOG_KEY,)).fetchone()
    return int(row[0]), int(row[1])


def test_the_lab_records_how_far_the_request_log_goes(lab: Path) -> None:
    assert _recorded(lab) == (0, 0)
    _log_requests(lab, 4)
    assert _recorded(lab) == (4, 4)
    status, output, _ = run("log", str(lab), "--requests", "--cluster", "contoso-root")
    assert status == 0 and "contoso-root: 4 service request(s)" in output
    assert "Server/GetLicensorCertificate" in output and "by anonymous from 127.0.0.1" in output


@pytest.mark.parametrize("damage, said", [
    ("DELETE FROM request_log WHERE id > 2", "request log lost requests: it holds 2"),
    ("DROP TABLE request_log", "request log lost requests: it holds 0"),
])
def test_lost_request_rows_are_noticed(lab: Path, damage: str, said: str) -> None:
    _log_requests(lab, 4)
    _edit(lab / ROOT_LOG, damage)
    status, _, error = run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "bob")
    assert status == 2 and said in error and "it held 4 request(s)" in error
    status, _, error = run("log", str(lab), "--requests")
    assert status == 2 and said in error
    status, output, _ = run("audit", str(lab), "--json")
    assert "RMS-009" in [f["id"] for f in json.loads(output)["findings"]]


def test_a_log_made_before_the_request_table_gets_it_when_written(lab: Path) -> None:
    _edit(lab / ROOT_LOG, "DROP TABLE request_log")  # as a log of an older rmslab
    status, output, _ = run("log", str(lab), "--requests")  # read-only: reads as empty
    assert status == 0 and "contoso-root: 0 service request(s)" in output
    with sqlite3.connect(lab / ROOT_LOG) as db:
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'request_log'").fetchall()
    assert run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "bob")[0] == 0
    with sqlite3.connect(lab / ROOT_LOG) as db:
        assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'request_log'").fetchall()


def test_a_log_replaced_while_open_is_not_written_to(lab: Path, tmp_path: Path) -> None:
    log = LoggingDatabase.open(lab / ROOT_LOG)
    assert log.in_place()
    copy = tmp_path / "copy.sqlite"
    shutil.copy(lab / ROOT_LOG, copy)
    os.replace(copy, lab / ROOT_LOG)
    assert not log.in_place()
    with pytest.raises(LogDamagedError, match="removed or replaced"):
        log.record_request(at=AT, service="Server", operation="GetServerInfo",
                           account="anonymous", sid=None, client="", outcome="answered",
                           status=200, exception=None, detail="", duration_ms=1.0)
    log.close()


def test_a_log_truncated_to_part_of_a_page_is_damaged(lab: Path) -> None:
    path = lab / ROOT_LOG
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(LogDamagedError, match="truncated"):
        LoggingDatabase.open(path)


def _values(deployment: object) -> set[str]:
    return {r.value for r in deployment.clusters["contoso-licensing"].revocations}  # type: ignore[attr-defined]


def test_a_write_starts_from_the_last_commit_only_while_nothing_else_changed(lab: Path) -> None:
    server, command = LabStore(lab), LabStore(lab)  # e.g. rmslab serve, and a command
    with server.write() as first:
        first.clusters["contoso-licensing"].revocations.append(
            Revoke("application", "principal-id", "x"))
    with server.write() as second:  # nothing else wrote: the same deployment, no reload
        assert second is first
    with command.write() as other:
        other.clusters["contoso-licensing"].revocations.append(
            Revoke("application", "principal-id", "y"))
    with server.write() as third:  # the lab moved on: loaded again, with the command's change
        assert third is not first and _values(third) == {"x", "y"}
        third.clusters["contoso-licensing"].revocations.append(
            Revoke("application", "principal-id", "z"))
    with pytest.raises(RuntimeError):
        with server.write() as failed:  # a write that raises keeps nothing, in memory too
            failed.clusters["contoso-licensing"].revocations.append(
                Revoke("application", "principal-id", "lost"))
            raise RuntimeError("the request failed")
    with server.write() as fourth:
        assert fourth is not failed and _values(fourth) == {"x", "y", "z"}
    with LabStore(lab).read() as snapshot:
        assert _values(snapshot) == {"x", "y", "z"}


def test_a_log_damaged_between_two_writes_is_noticed_from_the_kept_deployment(lab: Path) -> None:
    server = LabStore(lab)
    with server.write():
        pass
    _edit(lab / ROOT_LOG, "DELETE FROM enrollment_log WHERE id > 3")
    with pytest.raises(LogDamagedError, match="lost requests: it holds 3"):
        with server.write():
            pass


def test_how_far_a_log_goes_is_read_without_reading_every_row(lab: Path) -> None:
    """The lab reads how far each log goes at every request it serves: the newest time
    comes from an index and the last ID from the key, whatever the log holds (a log
    made before the index gets it when opened for writing)."""
    from rmslab.store.logdb import _EXTENT
    path = lab / ROOT_LOG
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX IF EXISTS request_log_at")
        db.execute("DROP INDEX IF EXISTS enrollment_log_at")
    LoggingDatabase.open(path).close()
    with sqlite3.connect(path) as db:
        for table in ("request_log", "enrollment_log"):
            plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN "
                                             + _EXTENT.format(table=table))]
            assert f"SEARCH {table} USING COVERING INDEX {table}_at" in plan, plan
            assert plan.count(f"SEARCH {table}") == 1, plan  # MAX(id): the primary key
