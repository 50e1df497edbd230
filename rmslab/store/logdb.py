"""A cluster's logging database: every enrollment and renewal request, accepted or
refused, with who, what, when and the outcome (SPEC E-8).

A real SQLite database — a file when the deployment lives on disk (WAL mode, opened in
place, never created or replaced by a command), in memory until then
(:meth:`LoggingDatabase.copy_to` copies it with SQLite's backup API).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, NamedTuple, TypeVar

from rmslab.errors import InputError, LabBusyError, LogDamagedError
from rmslab.xrml.model import format_time, parse_time

__all__ = ["LogEntry", "LogExtent", "LoggingDatabase", "REQUEST_KINDS"]

_T = TypeVar("_T")

#: The kinds of request the log knows (E-9 and S-2/S-3).
REQUEST_KINDS = (
    "root-enrollment", "sub-enrollment", "client-enrollment", "machine-activation",
    "account-certification", "slc-renewal",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS enrollment_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    requester   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('accepted', 'refused')),
    reason      TEXT NOT NULL DEFAULT '',
    spec_id     TEXT,
    request_id  TEXT
);
"""


class LogExtent(NamedTuple):
    """How far a log goes: its number of requests, last row ID and newest time."""

    rows: int
    last_id: int
    newest: datetime | None


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: str
    kind: str
    requester: str
    subject: str
    channel: str
    outcome: str
    reason: str
    spec_id: str | None
    request_id: str | None

    def __str__(self) -> str:
        rule = f" [{self.spec_id}]" if self.spec_id else ""
        why = f" — {self.reason}" if self.reason else ""
        return (f"{self.id:>3} {self.at} {self.kind:<22} {self.outcome:<8} "
                f"by {self.requester} for {self.subject} ({self.channel}){why}{rule}")


class LoggingDatabase:
    """The enrollment log of one cluster (or of the enrollment service).

    ``LoggingDatabase()`` is a log in memory (a deployment not yet on disk);
    :meth:`open` opens a log file in place — in WAL mode, so a server and commands can
    log into it at once — and never creates one: a log that is missing, emptied or not a
    logging database raises :class:`~rmslab.errors.LogDamagedError` naming the file.
    ``readonly=True`` opens it with ``mode=ro``: nothing can be written through it.
    ``damage`` says what is wrong with a log the lab noticed damaged (then it is empty,
    and refuses to record)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.readonly = False
        self.damage: str | None = None
        # A service thread (the loopback HTTP service) may log too: one connection,
        # shared under a lock.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False,
             timeout: float = 30.0) -> "LoggingDatabase":
        """The log in the file at ``path``, opened in place (see the class)."""
        log = cls.__new__(cls)
        log.path, log.readonly, log.damage = str(path), readonly, None
        log._lock = threading.Lock()
        log._db = _connect(Path(path), readonly=readonly, timeout=timeout)
        return log

    @classmethod
    def damaged(cls, path: str | Path, damage: str) -> "LoggingDatabase":
        """An empty stand-in for the log at ``path`` that the lab found damaged: it reads
        as empty and refuses to record (``damage`` says why)."""
        log = cls()
        log.path, log.damage = str(path), damage
        return log

    def record(self, *, at: datetime, kind: str, requester: str, subject: str,
               channel: str, accepted: bool, reason: str = "", spec_id: str | None = None,
               request_id: str | None = None) -> int:
        if kind not in REQUEST_KINDS:
            raise ValueError(f"unknown request kind {kind!r}")
        if self.damage is not None:
            raise LogDamagedError(f"{self.path}: {self.damage}; nothing more is logged into it")
        if self.readonly:
            raise LogDamagedError(f"{self.path}: opened read-only; nothing is logged into it")
        try:
            with self._lock, self._db:
                cursor = self._db.execute(
                    "INSERT INTO enrollment_log (at, kind, requester, subject, channel, "
                    "outcome, reason, spec_id, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (format_time(at), kind, requester, subject, channel,
                     "accepted" if accepted else "refused", reason, spec_id, request_id))
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LabBusyError(f"{self.path}: another process holds the log too long; the "
                                   f"request was not logged ({exc})") from None
            raise LogDamagedError(f"{self.path}: the request cannot be logged ({exc})") from None
        except sqlite3.Error as exc:
            raise LogDamagedError(f"{self.path}: the request cannot be logged ({exc})") from None
        return int(cursor.lastrowid or 0)

    def entries(self, *, kind: str | None = None, outcome: str | None = None) -> list[LogEntry]:
        query = ("SELECT id, at, kind, requester, subject, channel, outcome, reason, spec_id, "
                 "request_id FROM enrollment_log")
        clauses, params = [], []
        if kind:
            clauses.append("kind = ?")
            params.append(kind)
        if outcome:
            clauses.append("outcome = ?")
            params.append(outcome)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        with self._lock:
            rows = self._guarded(lambda: self._db.execute(query + " ORDER BY id",
                                                           params).fetchall())
        return [LogEntry(*row) for row in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._guarded(lambda: self._db.execute(
                "SELECT COUNT(*) FROM enrollment_log").fetchone())[0])

    def extent(self) -> LogExtent:
        """How many requests the log holds, its last row ID and newest time."""
        with self._lock:
            rows, last, newest = self._guarded(lambda: self._db.execute(
                "SELECT COUNT(*), COALESCE(MAX(id), 0), MAX(at) FROM enrollment_log"
            ).fetchone())
        try:
            moment = parse_time(newest, f"{self.path}: the newest entry") if newest else None
        except InputError as exc:
            raise LogDamagedError(str(exc)) from None
        return LogExtent(int(rows), int(last), moment)

    def _guarded(self, query: Callable[[], _T]) -> _T:
        try:
            return query()
        except sqlite3.Error as exc:
            raise LogDamagedError(f"{self.path}: the log cannot be read ({exc})") from None

    def copy_to(self, path: str | Path) -> None:
        """Write a copy of the log into a new database file (SQLite's backup API), in WAL
        mode."""
        target = sqlite3.connect(str(path))
        try:
            with self._lock, target:
                self._db.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()

    def attach(self, path: str | Path) -> None:
        """Continue in the database file at ``path`` (a copy made by :meth:`copy_to`),
        opened in place."""
        with self._lock:
            self._db.close()
            self._db = _connect(Path(path), readonly=False, timeout=30.0)
            self.path = str(path)
            self.readonly = False

    def close(self) -> None:
        self._db.close()


def _connect(path: Path, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    """Open an existing log file in place — never create one — and check it is one."""
    if not path.is_file():
        raise LogDamagedError(f"{path}: the logging database is missing")
    if path.stat().st_size == 0:
        raise LogDamagedError(f"{path}: the logging database is empty (emptied)")
    uri = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    except sqlite3.Error as exc:
        raise LogDamagedError(f"{path}: the logging database cannot be opened ({exc})") from None
    try:
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "enrollment_log" not in tables:
            raise LogDamagedError(f"{path}: not a logging database (it holds no "
                                  "enrollment_log table: emptied or replaced)")
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LogDamagedError(f"{path}: the logging database is damaged "
                                  f"({'; '.join(problems)[:200]})")
        if not readonly:  # only a log found whole is touched
            db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        db.close()
        raise LogDamagedError(f"{path}: not a readable logging database ({exc})") from None
    except LogDamagedError:
        db.close()
        raise
    return db
