"""A lab is a SQLite database with transactions (issue 10 items 3–7; SPEC E-8, D-3).

::

    DIR/lab.sqlite                      the lab: its state in tables (rmslab.store.tables),
                                        WAL mode, readable by its owner only (it holds
                                        the lab's keys)
    DIR/clusters/NAME/logging.sqlite    a cluster's enrollment log (E-8), WAL, in place
    DIR/enrollment-service/log.sqlite   the enrollment service's log
    DIR/anchor.pem, enrollment-service/chain.xml, clusters/NAME/slc.xml, …
                                        files people look at (below)

**The database is the truth.** The files people look at — the anchor to pin, SLCs,
templates (published and archived), the SLC chains of trusted user domains, revocation
lists, each client's ``registry.reg`` and machine certificate, the client-mode license
stores (``GIC-*.drm``, ``CLC-*.drm``, ``EUL-*.drm``, ``Templates/``, D-3), application
sessions, documents published at URLs (``web/``) — are a view of it:
each is written when its content in the lab changes, one at a time and atomically
(:func:`rmslab.store.names.write_atomic`), always inside the lab
(:func:`rmslab.store.names.lab_path`). Editing one of them does not change the lab; the
next change of that content writes it again.

**Commands are transactions.** :meth:`LabStore.write` takes the lab's write lock
(``BEGIN IMMEDIATE``, waiting up to ``timeout`` seconds — then
:class:`~rmslab.errors.LabBusyError`, which says that another command holds the lab),
loads the deployment, lets the caller change it, and commits only the rows that differ
— with the lab's new random-stream positions and clock — in one transaction, then the
files of those rows. Concurrent commands serialize: the second one loads what the first
committed. A failure rolls everything back, files included. :meth:`LabStore.read` loads
a consistent snapshot without taking the lock (WAL readers never wait for the writer).

**A long-running server** keeps one ``LabStore`` and uses it per request — as the SOAP
services do through :func:`rmslab.service.app.from_store`
(``LoopbackService.of_lab(store)``)::

    store = LabStore(directory)
    with store.read() as deployment:      # a request that changes nothing
        ...
    with store.write() as deployment:     # a request that changes the lab: one transaction
        ...
    generation, snapshot = store.snapshot()   # a request that only draws randomness:
    ...                                       # decided on the snapshot, outside the lock
    with store.draw(generation) as drawing:   # its GUIDs and random bytes, under the lock
        ...                                   # (None: the lab changed; decide again)

``read`` reuses the deployment it loaded last while the lab's change counter
(``generation``, raised by every committed write) has not moved: treat it as read-only
and shared. ``write`` starts, under the lock, from the deployment this store's last
write committed when the generation has not moved since (nothing else changed the lab;
its logs are checked as on a load), else it loads the lab; keep nothing of it after the
``with`` block (a write that raises discards it).

**Draws.** A use license (AcquireLicense, MS-RMPR 3.4.4.1) changes nothing in the lab
but the positions of its random streams (its GUID, the padding of its sealed keys).
:meth:`LabStore.draw` takes the lock for that moment alone and commits the stream rows
(and how far the logs go) in one small transaction before it returns — so before the
server answers: a process killed before that COMMIT answered nothing with what it drew,
and after it no later draw, of this process or of a command, can give the same bytes
out again (tests/attacks/test_load.py kills a server mid-burst and compares every
license ID answered before and after). Commits are never batched across requests: a
batch would answer requests whose GUIDs a kill could roll back and give out again. A
draw does not raise the generation (the shared snapshot stays valid); every write
compares the streams it kept with the lab's, so it loads again after another store drew.

**The clock only moves forward.** The lab keeps the latest time it ever recorded (a
high-water mark of its clock); a clock found behind it, or behind the newest entry of a
logging database, is refused as tampering (:class:`~rmslab.errors.LabTamperedError`).

**Logs are never recreated.** The logging databases are opened in place, in WAL mode (a
server and commands log into them at once); reads open them with ``mode=ro``. The lab
keeps each log's row count and last row ID as of its last write — for each of its
tables: the enrollment log, and the request log the servers write (recorded under the
file's path with ``#request_log``): a log that is missing, emptied, replaced,
unreadable, or holds fewer requests in either table is refused
(:class:`~rmslab.errors.LogDamagedError`, naming the file and what it held), or — for
``rmslab log`` and ``rmslab audit`` — reported (audit finding RMS-009).

**Names never become paths unchecked.** Opening a lab checks every name of its state
(:func:`rmslab.store.tables.check_names`): a lab whose state names ``/etc/passwd`` or
``../x`` anywhere is refused before anything is read from or written to disk.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Iterator, Literal, overload

from rmslab.deployment import Deployment
from rmslab.errors import (InputError, LabBusyError, LabStoreError, LabTamperedError,
                           LogDamagedError, RmslabError)
from rmslab.store.logdb import SYNCHRONOUS, LogExtent, LoggingDatabase
from rmslab.store.names import lab_path, remove_file, write_atomic
from rmslab.store.tables import (SCHEMA_VERSION, TABLES, PathParts, Row, State, build,
                                 check_names, dump, files_of, log_parts)
from rmslab.xrml.model import format_time, parse_time

__all__ = ["LabStore", "LAB_DATABASE", "LOCK_TIMEOUT_VARIABLE", "DEFAULT_LOCK_TIMEOUT",
           "REQUEST_LOG_KEY"]

LAB_DATABASE = "lab.sqlite"
#: The environment variable that sets how long a command waits for the lab (seconds).
LOCK_TIMEOUT_VARIABLE = "RMSLAB_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30.0
_FORMAT = "rmslab lab"

_STORE_TABLES = (
    "CREATE TABLE IF NOT EXISTS store (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "format TEXT NOT NULL, generation INTEGER NOT NULL, clock_high_water TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logs (path TEXT PRIMARY KEY, rows INTEGER NOT NULL, "
    "last_id INTEGER NOT NULL, newest TEXT)",
)

DamagedLogs = Literal["refuse", "report"]

#: How many idle connections to the lab database a store keeps for its next transactions.
_IDLE_CONNECTIONS = 8

#: The key of a log file's request table in the ``logs`` table: the file's path and this.
REQUEST_LOG_KEY = "#request_log"

#: The tables a draw may change (:meth:`LabStore.draw`): the random streams — and the
#: lab's row, dumped to check that the clock did not move.
_DRAWN = tuple(t for t in TABLES if t.name in ("streams", "lab"))
_STREAMS_QUERY = "SELECT {} FROM streams".format(
    ", ".join(next(t for t in TABLES if t.name == "streams").column_names))


@dataclass
class _Committed:
    """What this store's last write committed: the lab's generation after it, the
    deployment, its rows, the logs' recorded extents and the store row."""

    generation: int
    deployment: Deployment
    state: State
    logs: dict[str, Row]
    store: Row


def _default_timeout() -> float:
    value = os.environ.get(LOCK_TIMEOUT_VARIABLE)
    if not value:
        return DEFAULT_LOCK_TIMEOUT
    try:
        timeout = float(value)
    except ValueError:
        raise InputError(f"{LOCK_TIMEOUT_VARIABLE}={value!r} is not a number of seconds") \
            from None
    if not 0 <= timeout <= 86400:
        raise InputError(f"{LOCK_TIMEOUT_VARIABLE}={value!r}: give 0 to 86400 seconds")
    return timeout


def _time(text: str) -> datetime:
    moment = parse_time(text, "the lab database")
    assert moment is not None
    return moment


class LabStore:
    """The lab in ``directory`` (see the module): :meth:`read` and :meth:`write` yield
    its deployment; :meth:`create` makes a new lab. ``timeout`` is how long a write
    waits for another to finish (default ``$RMSLAB_LOCK_TIMEOUT`` or 30 s)."""

    def __init__(self, directory: str | os.PathLike[str], *,
                 timeout: float | None = None) -> None:
        self.root = Path(directory)
        self.timeout = _default_timeout() if timeout is None else timeout
        self._cache: tuple[int, Deployment] | None = None
        self._committed: _Committed | None = None
        self._idle: list[sqlite3.Connection] = []
        self._cache_lock = threading.Lock()
        #: Writers of this process take turns here, in order, rather than in SQLite's
        #: busy handler (which sleeps and retries: unfair under load); the lab's lock
        #: (BEGIN IMMEDIATE) then only waits for other processes.
        self._writer = threading.Lock()

    def __repr__(self) -> str:
        return f"LabStore({str(self.root)!r})"

    @property
    def database(self) -> Path:
        return self.root / LAB_DATABASE

    # --- creating a lab ---------------------------------------------------------------------
    @classmethod
    def create(cls, deployment: Deployment, directory: str | os.PathLike[str]) -> "LabStore":
        """Write ``deployment`` as a new lab in ``directory`` (absent or empty): built
        beside it and renamed into place, so a failure leaves no half lab. From then on
        the deployment's logs continue in the lab's files."""
        target = Path(directory)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise LabStoreError(f"{target}: exists and is not empty; choose a new directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            cls._create_in(deployment, staging)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        store = cls(target)
        for name, log in _logs(deployment):
            log.attach(lab_path(target, *log_parts(name)))
        return store

    @staticmethod
    def _create_in(deployment: Deployment, root: Path) -> None:
        state = dump(deployment)
        check_names(state)
        database = root / LAB_DATABASE
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = sqlite3.connect(database, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            db.execute("BEGIN IMMEDIATE")
            _ensure_schema(db)
            now = state["lab"][(1,)][4]
            db.execute("INSERT INTO store VALUES (1, ?, 1, ?)", (_FORMAT, now))
            for table in TABLES:
                _write_rows(db, table.name, table.column_names, state[table.name], {})
            for name, log in _logs(deployment):
                path = lab_path(root, *log_parts(name))
                path.parent.mkdir(parents=True, exist_ok=True)
                log.copy_to(path)
                _record_log(db, name, log.extent())
                _record_log(db, name, log.request_extent(), requests=True)
            for table in TABLES:
                for row in state[table.name].values():
                    for parts, data in files_of(table.name, row):
                        write_atomic(lab_path(root, *parts), data)
            db.execute("COMMIT")
        finally:
            db.close()

    # --- opening ------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """A connection to the lab database: one this store used before and kept (see
        :meth:`_release`), else a new one, checked to be a lab's."""
        self._check_exists()
        with self._cache_lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _release(self, db: sqlite3.Connection) -> None:
        """Keep a connection for the next transaction (a long-running server then never
        pays for connecting, nor for the checkpoint SQLite makes when the last
        connection closes); one still in a transaction, or beyond the few kept, is
        closed."""
        with self._cache_lock:
            if not db.in_transaction and len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(db)
                return
        db.close()

    def _check_exists(self) -> None:
        if not self.root.is_dir():
            raise LabStoreError(f"{self.root}: no such lab directory")
        if not self.database.is_file():
            if (self.root / "deployment.json").exists():
                raise LabStoreError(
                    f"{self.root}: a lab made by an older rmslab (deployment.json, a "
                    "directory rewritten whole); create it again with `rmslab lab create`")
            raise LabStoreError(f"{self.root}: not an rmslab lab (it has no {LAB_DATABASE})")

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(f"{self.database.resolve().as_uri()}?mode=rw", uri=True,
                                 timeout=self.timeout, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be opened ({exc})") from None
        try:
            db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            row = db.execute("SELECT format FROM store WHERE id = 1").fetchone()
        except sqlite3.Error as exc:
            db.close()
            raise LabStoreError(f"{self.database}: not an rmslab lab database ({exc})") from None
        if row is None or row[0] != _FORMAT:
            db.close()
            raise LabStoreError(f"{self.database}: not an rmslab lab database")
        if version > SCHEMA_VERSION:
            db.close()
            raise LabStoreError(f"{self.database}: made by a newer rmslab (schema {version})")
        return db

    def _begin_write(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LabBusyError(
                    f"{self.root}: another command holds the lab (waited {self.timeout:g} s "
                    f"for it to finish; {LOCK_TIMEOUT_VARIABLE} sets how long); nothing was "
                    "changed — run the command again when the other has finished") from None
            raise LabStoreError(f"{self.database}: {exc}") from None

    def _read_state(self, db: sqlite3.Connection) -> tuple[State, dict[str, Row], Row]:
        try:
            state: State = {}
            for table in TABLES:
                present = {r[1] for r in db.execute(f"PRAGMA table_info({table.name})")}
                columns = [c if c in present else "NULL" for c in table.column_names]
                rows = (db.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall()
                        if present else [])
                state[table.name] = {table.key(r): tuple(r) for r in rows}
            logs = {r[0]: tuple(r) for r in db.execute(
                "SELECT path, rows, last_id, newest FROM logs")}
            store = db.execute("SELECT generation, clock_high_water FROM store WHERE id = 1"
                               ).fetchone()
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be read ({exc})") from None
        return state, logs, tuple(store)

    def _load(self, state: State, logs: dict[str, Row], store: Row, *, readonly_logs: bool,
              damaged_logs: DamagedLogs) -> Deployment:
        check_names(state)
        try:
            deployment = build(state)
        except RmslabError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            raise LabStoreError(f"{self.database}: the lab's state is inconsistent "
                                f"({type(exc).__name__}: {exc})") from None
        now = deployment.lab.now()
        high_water = _time(store[1])
        if now < high_water:
            raise LabTamperedError(
                f"{self.database}: the lab clock ({format_time(now)}) is behind "
                f"{format_time(high_water)}, the latest time the lab recorded: it was set "
                "back — refused as tampering (a lab's clock only moves forward: "
                "rmslab lab advance)")
        for name, cluster_or_service in _owners(deployment):
            log = self._open_log(name, logs, readonly=readonly_logs, damaged=damaged_logs)
            cluster_or_service.log = log
            if log.damage is None:
                newest = max((e.newest for e in (log.extent(), log.request_extent())
                              if e.newest is not None), default=None)
                if newest is not None and now < newest:
                    raise LabTamperedError(
                        f"{self.database}: the lab clock ({format_time(now)}) is behind the "
                        f"newest entry of {log.path} ({format_time(newest)}): it was set "
                        "back — refused as tampering")
        return deployment

    def _open_log(self, name: str | None, logs: dict[str, Row], *, readonly: bool,
                  damaged: DamagedLogs) -> LoggingDatabase:
        relative = _relative(log_parts(name))
        path = lab_path(self.root, *log_parts(name))
        recorded = logs.get(relative)
        held = (f"it held {recorded[1]} request(s), up to entry {recorded[2]}, when the lab "
                "last recorded it" if recorded else "the lab has no record of it")
        try:
            log = LoggingDatabase.open(path, readonly=readonly, timeout=self.timeout)
            lost = _lost(log, relative, logs)
        except LogDamagedError as exc:
            problem = f"{exc}; {held}"
        else:
            if lost is None:
                return log
            log.close()
            problem = f"{path}: {lost}"
        if damaged == "refuse":
            raise LogDamagedError(f"{problem}. The audit log of the lab was damaged: "
                                  "rmslab refuses to use the lab (rmslab audit reports it)")
        return LoggingDatabase.damaged(path, problem)

    # --- reading and writing ---------------------------------------------------------------
    @contextmanager
    def read(self, *, damaged_logs: DamagedLogs = "refuse") -> Iterator[Deployment]:
        """A consistent snapshot of the lab (no lock is taken; logs opened read-only).
        The deployment is shared between reads of the same generation: change nothing."""
        yield self._read(damaged_logs=damaged_logs, cached=damaged_logs == "refuse",
                         readonly_logs=True)[1]

    @overload
    def snapshot(self, *, check_logs: bool = True) -> tuple[int, Deployment]: ...
    @overload
    def snapshot(self, *, check_logs: bool = True,
                 load: bool) -> tuple[int, Deployment] | None: ...
    def snapshot(self, *, check_logs: bool = True,
                 load: bool = True) -> tuple[int, Deployment] | None:
        """:meth:`read`'s shared snapshot, with the lab's generation it shows (what
        :meth:`draw` is given). ``check_logs=False``: the snapshot kept is not checked
        for logs replaced or damaged since it was loaded — for a request that
        :meth:`draw` checks them for, under the lock, before anything is answered.
        ``load=False``: None rather than a new snapshot when the lab changed since the
        one kept was loaded."""
        return self._read(damaged_logs="refuse", cached=True, readonly_logs=True,
                          check_logs=check_logs, load=load)

    def load(self) -> Deployment:
        """A deployment of its own, loaded from a snapshot, whose logs are the lab's log
        files opened in place for writing (a server logs into them). What is changed in
        it is not kept in the lab."""
        return self._read(damaged_logs="refuse", cached=False, readonly_logs=False)[1]

    @overload
    def _read(self, *, damaged_logs: DamagedLogs, cached: bool, readonly_logs: bool,
              check_logs: bool = True) -> tuple[int, Deployment]: ...
    @overload
    def _read(self, *, damaged_logs: DamagedLogs, cached: bool, readonly_logs: bool,
              check_logs: bool = True, load: bool) -> tuple[int, Deployment] | None: ...
    def _read(self, *, damaged_logs: DamagedLogs, cached: bool, readonly_logs: bool,
              check_logs: bool = True, load: bool = True) -> tuple[int, Deployment] | None:
        db = self._connect()
        try:
            db.execute("BEGIN")
            try:
                generation = int(db.execute("SELECT generation FROM store").fetchone()[0])
                with self._cache_lock:
                    hit = self._cache if cached else None
                if hit is not None and hit[0] == generation and (
                        not check_logs or self._logs_hold(hit[1])):
                    return hit
                if not load:
                    return None
                state, logs, store = self._read_state(db)
            finally:
                db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be read ({exc})") from None
        finally:
            self._release(db)
        deployment = self._load(state, logs, store, readonly_logs=readonly_logs,
                                damaged_logs=damaged_logs)
        if cached:
            with self._cache_lock:
                self._cache = (int(store[0]), deployment)
        return int(store[0]), deployment

    def _logs_hold(self, deployment: Deployment,
                   recorded: dict[str, Row] | None = None) -> bool:
        """The cached deployment's logs are still whole, in place, and — given what the
        lab recorded of them — hold at least that (else it is loaded again, which says
        what is wrong)."""
        try:
            for name, owner in _owners(deployment):
                log = owner.log
                if log.damage is not None or not log.in_place():
                    return False
                if recorded is not None:
                    if _lost(log, _relative(log_parts(name)), recorded) is not None:
                        return False
                else:
                    log.extent()
                    log.request_extent()
        except LogDamagedError:
            return False
        return True

    @contextmanager
    def write(self) -> Iterator[Deployment]:
        """The lab's deployment under its write lock; what the caller changed is committed
        when the block ends (rolled back, files too, when it raises)."""
        self._take_writer()
        try:
            with self._write() as deployment:
                yield deployment
        finally:
            self._writer.release()

    def _take_writer(self) -> None:
        if not (self._writer.acquire(timeout=self.timeout) if self.timeout > 0
                else self._writer.acquire(blocking=False)):
            raise LabBusyError(
                f"{self.root}: another request of this process holds the lab (waited "
                f"{self.timeout:g} s; {LOCK_TIMEOUT_VARIABLE} sets how long); nothing was "
                "changed")

    @contextmanager
    def draw(self, generation: int) -> Iterator[Deployment | None]:
        """The lab's deployment to draw randomness from, for a request decided on the
        snapshot of ``generation`` (:meth:`snapshot`) that changes nothing else — a use
        license draws its GUID and the padding of its sealed keys (MS-RMPR 3.4.4.1).

        Under the write lock, as :meth:`write`, it yields the deployment this store's
        last write committed, its random streams where the lab has them; when the block
        ends the streams drawn from are committed — the rows of those streams, and how far
        the logs go, as every write records it — in one small transaction, before the
        caller answers. A request killed before that commit answered nothing; after it,
        no later draw can give out the same bytes again, whoever draws next.

        When this store has not written or drawn since the lab last changed, the lab is
        loaded under the lock, as :meth:`write` loads it. It yields None — and the caller
        decides again on a new snapshot, or uses :meth:`write` — when the lab changed
        since ``generation`` (a command, another server's write; a lab made before the
        mapping last grew, which only a write completes). Only the random streams may change in
        the block (a clock moved raises :class:`~rmslab.errors.LabStoreError`); a block
        that raises keeps nothing. Draws do not raise the lab's generation: snapshots stay
        shared, and every write compares the streams it kept with the lab's."""
        self._take_writer()
        try:
            db = self._connect()
            try:
                self._begin_write(db)
                try:
                    kept = self._last_committed(db)
                    if kept is None and not self._older(db):  # load it, as a write does
                        try:
                            loaded = int(db.execute("SELECT generation FROM store WHERE id "
                                                    "= 1").fetchone()[0])
                        except sqlite3.Error as exc:
                            raise LabStoreError(f"{self.database}: cannot be read ({exc})") \
                                from None
                        if loaded == generation:
                            kept = self._loaded(db)
                    if kept is None or kept.generation != generation:
                        with self._cache_lock:  # still what the lab holds
                            self._committed = kept
                        db.execute("ROLLBACK")
                        yield None
                        return
                    yield kept.deployment
                    try:
                        after = dict(kept.state)
                        for table in _DRAWN:
                            after[table.name] = {table.key(r): tuple(r)
                                                 for r in table.dump(kept.deployment)}
                        if after["lab"] != kept.state["lab"]:
                            raise LabStoreError("a draw moved the lab's clock; only a write "
                                                "may (nothing was changed)")
                        committed = self._commit(db, kept.deployment, kept.state, kept.logs,
                                                 kept.store, [], after=after, draw=True)
                        with self._cache_lock:
                            self._committed = committed
                        if db.in_transaction:
                            db.execute("COMMIT")
                    except sqlite3.Error as exc:
                        raise LabStoreError(f"{self.database}: the lab's random streams "
                                            f"cannot be kept ({exc}); nothing was "
                                            "changed") from None
                except BaseException:
                    with self._cache_lock:  # what was drawn in memory is not the lab's
                        self._committed = None
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            finally:
                self._release(db)
        finally:
            self._writer.release()

    @contextmanager
    def _write(self) -> Iterator[Deployment]:
        db = self._connect()
        written: list[tuple[Path, bytes | None]] = []
        try:
            self._begin_write(db)
            try:
                kept = self._last_committed(db)
                if kept is None:  # the lab changed since this store's last write: load it
                    older = self._older(db)
                    if older:
                        _ensure_schema(db)  # a lab made before the mapping last grew
                    kept = self._loaded(db, older=older)
                deployment, before, logs, store = (kept.deployment, kept.state, kept.logs,
                                                   kept.store)
                yield deployment
                try:
                    committed = self._commit(db, deployment, before, logs, store, written)
                    with self._cache_lock:  # before COMMIT: the next writer waits for it
                        self._committed = committed
                    if db.in_transaction:
                        db.execute("COMMIT")
                    written.clear()
                except sqlite3.Error as exc:
                    raise LabStoreError(f"{self.database}: what the command changed cannot "
                                        f"be kept ({exc}); nothing was changed") from None
            except BaseException:
                with self._cache_lock:  # what the caller changed is not the lab's
                    self._committed = None
                try:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                finally:
                    _restore(written)
                raise
        finally:
            self._release(db)

    def _older(self, db: sqlite3.Connection) -> bool:
        """Whether the lab was made before the mapping last grew."""
        try:
            return int(db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be read ({exc})") from None

    def _loaded(self, db: sqlite3.Connection, *, older: bool = False) -> _Committed:
        """The lab as it stands, loaded under the write lock for writing (its logs opened
        for writing), with the rows it was loaded from."""
        state, logs, store = self._read_state(db)
        deployment = self._load(state, logs, store, readonly_logs=False,
                                damaged_logs="refuse")
        # an older lab's rows lack what build filled in (a SID its seed gives): compare
        # with the rows as stored, so the write completes them
        return _Committed(int(store[0]), deployment, state if older else dump(deployment),
                          logs, store)

    def _last_committed(self, db: sqlite3.Connection) -> _Committed | None:
        """What this store's last write committed, taken (one writer uses it), when the
        lab's generation has not moved since and its logs hold what the lab recorded."""
        with self._cache_lock:
            kept, self._committed = self._committed, None
        if kept is None:
            return None
        try:
            generation = int(db.execute("SELECT generation FROM store WHERE id = 1")
                             .fetchone()[0])
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be read ({exc})") from None
        try:
            clock = tuple(db.execute("SELECT * FROM lab").fetchone() or ())
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be read ({exc})") from None
        try:  # draws (this store's or another's) move the streams, not the generation
            streams = {(r[0],): tuple(r) for r in db.execute(_STREAMS_QUERY)}
        except sqlite3.Error as exc:
            raise LabStoreError(f"{self.database}: cannot be read ({exc})") from None
        if (generation != kept.generation or clock != tuple(kept.state["lab"][(1,)])
                or streams != kept.state["streams"]
                or not self._logs_hold(kept.deployment, kept.logs)):
            for _, log in _logs(kept.deployment):
                log.close()
            return None
        return kept

    def _commit(self, db: sqlite3.Connection, deployment: Deployment, before: State,
                logs: dict[str, Row], store: Row, written: list[tuple[Path, bytes | None]],
                *, after: State | None = None, draw: bool = False) -> _Committed:
        """Write what changed (rows, log extents, files) and raise the generation — all
        but the COMMIT, which the caller makes — and say what the lab will then hold.
        ``after``: the state now, when the caller knows which tables may have changed
        (the others are ``before``'s own); ``draw``: only random streams changed
        (:meth:`draw`), and the generation stays."""
        if after is None:
            after = dump(deployment)
        check_names(after)
        now = after["lab"][(1,)][4]
        high_water = store[1]
        if _time(now) < _time(high_water):
            raise LabTamperedError(f"the command set the lab clock back to {now} (the lab "
                                   f"recorded {high_water}): a lab's clock only moves forward")
        files: dict[Path, tuple[bytes | None, bytes | None]] = {}
        changed = False
        for table in TABLES:
            old, new = before[table.name], after[table.name]
            if old is new:
                continue
            keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
            if not keys:
                continue
            changed = True
            _write_rows(db, table.name, table.column_names, new, old, keys)
            for key in keys:
                _file_changes(self.root, table.name, old.get(key), new.get(key), files)
        for name, owner in _owners(deployment):
            log = owner.log
            if log.path == ":memory:":  # a cluster the command added: its log gets a file
                path = lab_path(self.root, *log_parts(name))
                if path.exists():
                    raise LogDamagedError(f"{path}: a logging database is already there; "
                                          "rmslab never replaces one")
                path.parent.mkdir(parents=True, exist_ok=True)
                log.copy_to(path)
                log.attach(path)
            logs = dict(logs)
            for requests, extent in ((False, log.extent()), (True, log.request_extent())):
                log_key = _relative(log_parts(name)) + (REQUEST_LOG_KEY if requests else "")
                recorded = logs.get(log_key)
                newest = format_time(extent.newest) if extent.newest else None
                if recorded is None or tuple(recorded[1:]) != (extent.rows, extent.last_id,
                                                               newest):
                    changed = True
                    logs[log_key] = _record_log(db, name, extent, requests=requests)
        generation = int(store[0])
        if not changed:  # nothing to keep: nothing is written
            db.execute("ROLLBACK")
            return _Committed(generation, deployment, after, logs, store)
        if draw:
            return _Committed(generation, deployment, after, logs, store)
        db.execute("UPDATE store SET generation = generation + 1, clock_high_water = ?",
                   (max(now, high_water, key=_time),))
        for path, (old_data, new_data) in files.items():
            previous = path.read_bytes() if path.is_file() else None
            written.append((path, previous))
            if new_data is None:
                remove_file(path)
            else:
                write_atomic(path, new_data)
        return _Committed(generation + 1, deployment, after, logs,
                          (generation + 1, max(now, high_water, key=_time)))


def _ensure_schema(db: sqlite3.Connection) -> None:
    """Create the tables of the mapping, and add columns a newer mapping declares."""
    for statement in _STORE_TABLES:
        db.execute(statement)
    for table in TABLES:
        db.execute(table.ddl())
        present = {r[1] for r in db.execute(f"PRAGMA table_info({table.name})")}
        for column in table.columns:
            if column.split()[0] not in present:
                db.execute(f"ALTER TABLE {table.name} ADD COLUMN "
                           f"{column.replace(' NOT NULL', '')}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _write_rows(db: sqlite3.Connection, table: str, columns: tuple[str, ...],
                new: dict[Row, Row], old: dict[Row, Row],
                keys: list[Row] | None = None) -> None:
    keys = list(new) if keys is None else keys
    key_columns = columns[:len(keys[0])] if keys else ()
    for key in keys:
        row = new.get(key)
        if row is None:
            db.execute(f"DELETE FROM {table} WHERE "
                       + " AND ".join(f"{c} = ?" for c in key_columns), key)
        else:
            db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES "
                       f"({', '.join('?' * len(columns))})", row)


def _file_changes(root: Path, table: str, old: Row | None, new: Row | None,
                  files: dict[Path, tuple[bytes | None, bytes | None]]) -> None:
    """The files of a changed row: written when their content changed, removed when the
    row no longer shows them. Every path is checked before anything is written."""
    old_files = {lab_path(root, *parts): data for parts, data in
                 (files_of(table, old) if old is not None else [])}
    new_files = {lab_path(root, *parts): data for parts, data in
                 (files_of(table, new) if new is not None else [])}
    for path, data in new_files.items():
        if old_files.get(path) != data:
            files[path] = (old_files.get(path), data)
    for path, data in old_files.items():
        if path not in new_files and path not in files:
            files[path] = (data, None)


def _restore(written: list[tuple[Path, bytes | None]]) -> None:
    """Put back the files a failed commit had already written."""
    for path, previous in reversed(written):
        try:
            if previous is None:
                remove_file(path)
            else:
                write_atomic(path, previous)
        except OSError:
            pass


def _relative(parts: PathParts) -> str:
    return "/".join(p if isinstance(p, str) else p[1] for p in parts)


def _record_log(db: sqlite3.Connection, name: str | None, extent: LogExtent, *,
                requests: bool = False) -> Row:
    """Record how far one table of a log goes (the request table under the file's path
    and :data:`REQUEST_LOG_KEY`); returns the row."""
    row = (_relative(log_parts(name)) + (REQUEST_LOG_KEY if requests else ""), extent.rows,
           extent.last_id, format_time(extent.newest) if extent.newest else None)
    db.execute("INSERT OR REPLACE INTO logs VALUES (?, ?, ?, ?)", row)
    return row


def _lost(log: LoggingDatabase, relative: str, recorded: dict[str, Row]) -> str | None:
    """What a log lost against what the lab recorded of its two tables (None: nothing)."""
    for requests, extent in ((False, log.extent()), (True, log.request_extent())):
        key = relative + (REQUEST_LOG_KEY if requests else "")
        held = recorded.get(key)
        if held is not None and (extent.rows < held[1] or extent.last_id < held[2]):
            table = "request log" if requests else "log"
            return (f"the {table} lost requests: it holds {extent.rows}, up to entry "
                    f"{extent.last_id}; it held {held[1]} request(s), up to entry "
                    f"{held[2]}, when the lab last recorded it")
    return None


def _owners(deployment: Deployment) -> list[tuple[str | None, Any]]:
    """Who keeps a log: each cluster (by name), and the enrollment service (None)."""
    owners: list[tuple[str | None, Any]] = [(c.name, c) for c in deployment.clusters.values()]
    owners.append((None, deployment.enrollment_service))
    return owners


def _logs(deployment: Deployment) -> list[tuple[str | None, LoggingDatabase]]:
    return [(name, owner.log) for name, owner in _owners(deployment)]
