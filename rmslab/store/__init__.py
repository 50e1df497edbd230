"""What a deployment keeps on disk: server databases (SQLite) and the lab directory."""

from rmslab.store.logdb import LogEntry, LoggingDatabase

__all__ = ["LogEntry", "LoggingDatabase"]
