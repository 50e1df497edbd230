"""The lab clock only moves forward (issue 10 item 10): `rmslab lab advance` moves it and
every later command uses it; a clock set back in the lab database is refused as
tampering, so expired content stays expired.

covers: L-1, B-2, E-8
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path

import pytest

from rmslab.cli import build_parser
from rmslab.errors import LabTamperedError
from rmslab.store.labdb import LabStore
from tests.clirun import run


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    target = tmp_path / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


def _set_clock(lab: Path, now: str, *, high_water: str | None = None) -> None:
    with sqlite3.connect(lab / "lab.sqlite") as db:
        db.execute("UPDATE lab SET now = ?", (now,))
        if high_water:
            db.execute("UPDATE store SET clock_high_water = ?", (high_water,))


def test_advance_moves_the_clock_forward_and_it_persists(lab: Path) -> None:
    status, output, _ = run("lab", "advance", str(lab), "--days", "2")
    assert status == 0 and output == ("the lab clock moved from 2026-01-05T09:00Z to "
                                      "2026-01-07T09:00Z\n")
    assert run("lab", "advance", str(lab), "--hours", "3")[1].endswith("2026-01-07T12:00Z\n")
    assert run("lab", "advance", str(lab), "--minutes", "30")[1].endswith("2026-01-07T12:30Z\n")
    with LabStore(lab).read() as deployment:
        assert f"{deployment.lab.now():%Y-%m-%dT%H:%M}" == "2026-01-07T12:30"
    # later commands run at the new time
    status, output, _ = run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "x")
    assert status == 0 and "list signed 2026-01-07 12:30" in output
    status, output, _ = run("audit", str(lab), "--json")
    assert '"at": "2026-01-07T12:30"' in output


def test_advance_refuses_zero_negative_and_absurd_steps(lab: Path) -> None:
    for step in (["--days", "0"], ["--hours", "-1"], ["--minutes", "-30"],
                 ["--days", "99999999999"], ["--days", "3000000"]):
        status, _, error = run("lab", "advance", str(lab), *step)
        assert status == 2 and error.startswith("rmslab: --"), (step, error)
    for bad in (["--days", "1.5"], ["--days", "x"], [], ["--days", "1", "--hours", "1"]):
        with pytest.raises(SystemExit) as exited:
            run("lab", "advance", str(lab), *bad)
        assert exited.value.code == 2
    with LabStore(lab).read() as deployment:
        assert f"{deployment.lab.now():%Y-%m-%dT%H:%M}" == "2026-01-05T09:00"


def test_the_help_shows_examples() -> None:
    text = io.StringIO()
    with contextlib.redirect_stdout(text), pytest.raises(SystemExit):
        build_parser().parse_args(["lab", "advance", "--help"])
    shown = text.getvalue()
    assert "rmslab lab advance lab --days 31" in shown and "--minutes N" in shown
    assert "never moves back" in shown


def test_a_clock_set_back_in_the_database_is_refused_as_tampering(lab: Path,
                                                                    tmp_path: Path) -> None:
    plain = tmp_path / "memo.txt"
    plain.write_text("memo")
    protected = tmp_path / "memo.ptxt"
    assert run("protect", str(plain), str(protected), "--lab", str(lab), "--as", "alice",
               "--grant", "bob:VIEW", "--until", "2026-01-06T09:00")[0] == 0
    assert run("open", str(protected), "--lab", str(lab), "--as", "bob")[0] == 0
    assert run("lab", "advance", str(lab), "--days", "2")[0] == 0
    status, _, error = run("open", str(protected), "--lab", str(lab), "--as", "bob")
    assert status == 3  # expired
    _set_clock(lab, "2026-01-05T10:00")  # the old way back in: edit the clock
    for command in (["open", str(protected), "--lab", str(lab), "--as", "bob"],
                    ["log", str(lab)], ["audit", str(lab)],
                    ["lab", "advance", str(lab), "--minutes", "1"]):
        status, output, error = run(*command)
        assert status == 2 and "tampering" in error and "2026-01-07T09:00" in error, command
        assert "memo" not in output
    with pytest.raises(LabTamperedError):
        LabStore(lab).load()


def test_the_logs_tell_when_the_high_water_mark_was_edited_too(lab: Path) -> None:
    assert run("lab", "advance", str(lab), "--days", "2")[0] == 0
    with LabStore(lab).write() as deployment:  # a request logged at the new time
        from rmslab.flows import certify_account
        certify_account(deployment.root_cluster, deployment.clients["BOB-PC"],
                        deployment.user("bob"), deployment.directory)
    _set_clock(lab, "2026-01-05T10:00", high_water="2026-01-05T10:00")
    status, _, error = run("log", str(lab))
    assert status == 2 and "tampering" in error and "logging.sqlite (2026-01-07T09:00)" in error


def test_a_command_cannot_move_the_clock_back(lab: Path) -> None:
    with pytest.raises(LabTamperedError, match="only moves forward"):
        with LabStore(lab).write() as deployment:
            deployment.lab.advance(days=-1)
    with LabStore(lab).read() as deployment:
        assert f"{deployment.lab.now():%Y-%m-%dT%H:%M}" == "2026-01-05T09:00"
