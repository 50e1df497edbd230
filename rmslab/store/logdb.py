"""A cluster's logging database, as AD RMS keeps one (SPEC E-8; MS-RMPR 3.1.4).

Two tables:

* ``enrollment_log`` — every enrollment, certification and renewal request, accepted or
  refused, with who, what, when and the outcome (E-8);
* ``request_log`` — every request the cluster's SOAP services answered (certification,
  licensing, publishing, templates, server information; the enrollment service's log:
  Enroll), one row each: the lab's time, service, operation, the account that
  authenticated (``DOMAIN\\user`` and SID) or ``anonymous``, the client's address, the
  outcome (``answered``, ``fault`` — the exception name of MS-RMPR 3.1.4.5 kept — or
  ``rejected``: the request could not be read), the HTTP status and the wall-clock
  duration. The server writes the row before it sends the answer
  (:mod:`rmslab.service.app`).

A real SQLite database — a file when the deployment lives on disk (WAL mode, opened in
place, never created or replaced by a command), in memory until then
(:meth:`LoggingDatabase.copy_to` copies it with SQLite's backup API). A log file made
before the request table existed gets it the first time it is opened for writing.

**Durability.** The lab database and its logs run in WAL mode with
``synchronous=NORMAL`` (:data:`SYNCHRONOUS`), chosen for a server that answers a request
per commit: a commit has written its pages to the WAL file — to the operating system —
before it returns, so a process that is killed (SIGKILL, a crash of Python) loses no
committed row and never leaves a database that fails ``PRAGMA integrity_check``
(tests/attacks/test_load.py kills a server mid-burst and checks exactly that); only the
WAL is not synced to the disk at every commit but at each checkpoint. What NORMAL gives up
is the last commits before a power failure or an operating-system crash: those may be
rolled back (the databases stay consistent). ``FULL`` would sync at every commit — two
syncs per request served, the largest single cost of a use license on a virtual disk — to
keep answers of the last moments before a power cut; a lab is a workbench, and after such
a loss the lab's guard says so: a log that lost requests the lab had recorded is reported
(RMS-009), and random streams rolled back are refused nowhere but can repeat a GUID only
in answers that went out in those last moments.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, NamedTuple, TypeVar

from rmslab.errors import InputError, LabBusyError, LogDamagedError
from rmslab.xrml.model import format_time, parse_time

__all__ = ["LogEntry", "LogExtent", "LoggingDatabase", "REQUEST_KINDS", "RequestEntry",
           "REQUEST_OUTCOMES", "ANONYMOUS_ACCOUNT", "SYNCHRONOUS"]

_T = TypeVar("_T")

#: How the lab's databases (the lab and its logs, all in WAL mode) are synced: NORMAL — a
#: commit is written to the WAL before it returns, and the WAL is synced to disk at each
#: checkpoint (see the module docstring).
SYNCHRONOUS = "NORMAL"

#: The kinds of request the log knows (E-9 and S-2/S-3), and the administrator's changes
#: of a cluster's ServerState (MS-RMPR 3.1.1.1.1: decommissioning; online publishing and
#: the published and archived templates, as server-configuration).
REQUEST_KINDS = (
    "root-enrollment", "sub-enrollment", "client-enrollment", "machine-activation",
    "account-certification", "slc-renewal", "decommissioning", "server-configuration",
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

#: What became of a request to a SOAP service: ``answered`` (the operation's response),
#: ``fault`` (a SOAP fault naming MS-RMPR's exception: refused or failed), ``rejected``
#: (the request could not be read: a ``soap:Client`` fault, or a 4xx).
REQUEST_OUTCOMES = ("answered", "fault", "rejected")

#: The account of a request that did not authenticate (MS-RMPR 3.1.1.1.8).
ANONYMOUS_ACCOUNT = "anonymous"

_REQUEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    service     TEXT NOT NULL,
    operation   TEXT NOT NULL,
    account     TEXT NOT NULL,
    sid         TEXT,
    client      TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL CHECK (outcome IN ('answered', 'fault', 'rejected')),
    status      INTEGER NOT NULL,
    exception   TEXT,
    detail      TEXT NOT NULL DEFAULT '',
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS request_log_at ON request_log (at);
CREATE INDEX IF NOT EXISTS enrollment_log_at ON enrollment_log (at);
"""
#: How far a log's table goes: each aggregate on its own, so that SQLite answers it from
#: the primary key or the index on the time rather than by reading every row (a server's
#: request log grows by a row per request, and the lab checks how far it goes at each).
_EXTENT = ("SELECT (SELECT COUNT(*) FROM {table}), (SELECT COALESCE(MAX(id), 0) FROM "
           "{table}), (SELECT MAX(at) FROM {table})")
_REQUEST_COLUMNS = ("id, at, service, operation, account, sid, client, outcome, status, "
                    "exception, detail, duration_ms")


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


@dataclass(frozen=True)
class RequestEntry:
    """One row of the request log: a request one of the services answered."""

    id: int
    at: str
    service: str
    operation: str
    account: str
    sid: str | None
    client: str
    outcome: str
    status: int
    exception: str | None
    detail: str
    duration_ms: float

    def __str__(self) -> str:
        what = f" {self.exception}" if self.exception else ""
        why = f" — {self.detail}" if self.detail and self.outcome != "answered" else ""
        return (f"{self.id:>4} {self.at} {self.service + '/' + self.operation:<44} "
                f"{self.outcome:<8} {self.status} {self.duration_ms:>7.1f} ms  by "
                f"{self.account}{f' from {self.client}' if self.client else ''}{what}{why}")


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
        self._db.executescript(_SCHEMA + _REQUEST_SCHEMA)
        self._identity: tuple[int, int] | None = None

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False,
             timeout: float = 30.0) -> "LoggingDatabase":
        """The log in the file at ``path``, opened in place (see the class)."""
        log = cls.__new__(cls)
        log.path, log.readonly, log.damage = str(path), readonly, None
        log._lock = threading.Lock()
        log._db, log._identity = _connect(Path(path), readonly=readonly, timeout=timeout)
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
        return self._insert(
            "INSERT INTO enrollment_log (at, kind, requester, subject, channel, outcome, "
            "reason, spec_id, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (format_time(at), kind, requester, subject, channel,
             "accepted" if accepted else "refused", reason, spec_id, request_id))

    def _insert(self, sql: str, values: tuple[object, ...]) -> int:
        """One row added and committed; its ID. A damaged, read-only or busy log refuses
        with the error that says which."""
        if self.damage is not None:
            raise LogDamagedError(f"{self.path}: {self.damage}; nothing more is logged into it")
        if self.readonly:
            raise LogDamagedError(f"{self.path}: opened read-only; nothing is logged into it")
        try:
            with self._lock, self._db:
                cursor = self._db.execute(sql, values)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LabBusyError(f"{self.path}: another process holds the log too long; the "
                                   f"request was not logged ({exc})") from None
            raise LogDamagedError(f"{self.path}: the request cannot be logged ({exc})") from None
        except sqlite3.Error as exc:
            raise LogDamagedError(f"{self.path}: the request cannot be logged ({exc})") from None
        return int(cursor.lastrowid or 0)

    def record_request(self, *, at: datetime, service: str, operation: str, account: str,
                       sid: str | None, client: str, outcome: str, status: int,
                       exception: str | None, detail: str, duration_ms: float) -> int:
        """Add one row to the request log and commit it (the server calls this before it
        sends the answer); returns the row's ID."""
        if outcome not in REQUEST_OUTCOMES:
            raise ValueError(f"unknown request outcome {outcome!r}")
        if self.damage is None and not self.readonly and not self.in_place():
            raise LogDamagedError(f"{self.path}: the logging database was removed or replaced "
                                  "while the server had it open; the request is not logged")
        return self._insert(
            "INSERT INTO request_log (at, service, operation, account, sid, client, outcome, "
            "status, exception, detail, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (format_time(at), service, operation, account, sid, client, outcome, status,
             exception, detail[:500], round(duration_ms, 3)))

    def requests(self, *, service: str | None = None, operation: str | None = None,
                 outcome: str | None = None, account: str | None = None
                 ) -> list[RequestEntry]:
        """The request log's rows, oldest first (none when the log has no request table:
        a log file made before it, opened read-only)."""
        query = f"SELECT {_REQUEST_COLUMNS} FROM request_log"
        clauses, params = [], []
        for column, value in (("service", service), ("operation", operation),
                              ("outcome", outcome), ("account", account)):
            if value:
                clauses.append(f"{column} = ? COLLATE NOCASE")
                params.append(value)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        with self._lock:
            if not self._has_requests():
                return []
            rows = self._guarded(lambda: self._db.execute(query + " ORDER BY id",
                                                           params).fetchall())
        return [RequestEntry(*row) for row in rows]

    def request_extent(self) -> LogExtent:
        """How many requests the request log holds, its last row ID and newest time."""
        with self._lock:
            if not self._has_requests():
                return LogExtent(0, 0, None)
            rows, last, newest = self._guarded(lambda: self._db.execute(
                _EXTENT.format(table="request_log")
            ).fetchone())
        return LogExtent(int(rows), int(last), self._moment(newest))

    def _has_requests(self) -> bool:
        return bool(self._guarded(lambda: self._db.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'request_log'"
        ).fetchone()[0]))

    def in_place(self) -> bool:
        """Whether the file this log was opened from is still the one at its path (a log
        removed or replaced while open is noticed; a log in memory always is)."""
        if self._identity is None:
            return True
        try:
            found = os.stat(self.path)
        except OSError:
            return False
        return (found.st_dev, found.st_ino) == self._identity

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
                _EXTENT.format(table="enrollment_log")
            ).fetchone())
        return LogExtent(int(rows), int(last), self._moment(newest))

    def _moment(self, newest: str | None) -> datetime | None:
        try:
            return parse_time(newest, f"{self.path}: the newest entry") if newest else None
        except InputError as exc:
            raise LogDamagedError(str(exc)) from None

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
            self._db, self._identity = _connect(Path(path), readonly=False, timeout=30.0)
            self.path = str(path)
            self.readonly = False

    def close(self) -> None:
        self._db.close()


def _connect(path: Path, *, readonly: bool,
             timeout: float) -> tuple[sqlite3.Connection, tuple[int, int]]:
    """Open an existing log file in place — never create one — and check it is one; with
    the file's identity (device, inode) as opened."""
    if not path.is_file():
        raise LogDamagedError(f"{path}: the logging database is missing")
    size = path.stat().st_size
    if size == 0:
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
        # (never open the file outside SQLite: closing it would drop the locks SQLite
        # holds on it in this process)
        page = int(db.execute("PRAGMA page_size").fetchone()[0])
        if page and size % page:
            raise LogDamagedError(f"{path}: the logging database is damaged (truncated: "
                                  f"{size} bytes is not a whole number of {page}-byte pages)")
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LogDamagedError(f"{path}: the logging database is damaged "
                                  f"({'; '.join(problems)[:200]})")
        if not readonly:  # only a log found whole is touched
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            # a log made before the request table, or before the indexes on the time
            # that keep extent() and request_extent() from reading every row
            db.executescript(_REQUEST_SCHEMA)
        found = path.stat()
    except sqlite3.Error as exc:
        db.close()
        raise LogDamagedError(f"{path}: not a readable logging database ({exc})") from None
    except LogDamagedError:
        db.close()
        raise
    return db, (found.st_dev, found.st_ino)
