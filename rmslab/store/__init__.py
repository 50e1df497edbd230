"""What a deployment keeps on disk: server databases (SQLite) and the lab directory.

* :mod:`rmslab.store.labdb` — :class:`~rmslab.store.labdb.LabStore`, a lab as a SQLite
  database with transactions (commands, servers), its files, lock, clock and logs;
* :mod:`rmslab.store.tables` — how a deployment maps onto the lab's tables;
* :mod:`rmslab.store.names` — names that become paths, checked; files written atomically;
* :mod:`rmslab.store.logdb` — the logging databases (E-8);
* :mod:`rmslab.store.disk` — ``save_deployment`` / ``load_deployment``, the short way.
"""

from rmslab.store.logdb import LogEntry, LoggingDatabase

__all__ = ["LogEntry", "LoggingDatabase"]
