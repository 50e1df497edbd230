"""A cluster's logging database: every enrollment and renewal request, accepted or
refused, with who, what, when and the outcome (SPEC E-8).

A real SQLite database — a file when the deployment lives on disk, in memory until
then (:meth:`LoggingDatabase.copy_to` copies it with SQLite's backup API).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rmslab.xrml.model import format_time

__all__ = ["LogEntry", "LoggingDatabase", "REQUEST_KINDS"]

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
    """The enrollment log of one cluster."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        # A service thread (the loopback HTTP service) may log too: one connection,
        # shared under a lock.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(_SCHEMA)

    def record(self, *, at: datetime, kind: str, requester: str, subject: str,
               channel: str, accepted: bool, reason: str = "", spec_id: str | None = None,
               request_id: str | None = None) -> int:
        if kind not in REQUEST_KINDS:
            raise ValueError(f"unknown request kind {kind!r}")
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO enrollment_log (at, kind, requester, subject, channel, outcome, "
                "reason, spec_id, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (format_time(at), kind, requester, subject, channel,
                 "accepted" if accepted else "refused", reason, spec_id, request_id))
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
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [LogEntry(*row) for row in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM enrollment_log").fetchone()[0])

    def copy_to(self, path: str | Path) -> None:
        """Write a copy of the log into a database file (SQLite's backup API)."""
        target = sqlite3.connect(str(path))
        try:
            with self._lock, target:
                self._db.backup(target)
        finally:
            target.close()

    def attach(self, path: str | Path) -> None:
        """Continue in the database file at ``path`` (a copy made by :meth:`copy_to`)."""
        with self._lock:
            self._db.close()
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self.path = str(path)

    def close(self) -> None:
        self._db.close()
