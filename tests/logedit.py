"""Changing a logging database behind rmslab's back, as the damage tests do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["edit_log"]


def edit_log(path: Path, statement: str) -> None:
    """Change the log with SQLite and close it whole (its WAL written back)."""
    db = sqlite3.connect(path)
    db.execute(statement)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
