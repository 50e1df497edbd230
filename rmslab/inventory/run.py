"""Running an inventory over file shares: walking, resuming, parallel work (SPEC A-1).

* Files are found by walking the given trees (symbolic links are not followed, so a
  link cannot lead the walk out of the share or round in a loop) and taken in a stable
  order.
* Every finished batch is committed to the run's state database (SQLite in WAL mode; a
  temporary one unless ``state`` names one), with each file's size and modification
  time and its record: the walk, the work to do and the records stay on disk, so memory
  stays flat however large the share. With a named state database, a run started again
  skips what it finished, and the totals are read from the database — the same as an
  uninterrupted run's. The database also keeps what the records depend on — the anchors and trusted publishing
  domains (as a digest) and the moment the chains are verified at — so a resumed run
  verifies at the first run's moment, and one with other settings is refused.
* The per-file work (:func:`rmslab.inventory.record.inventory_batch`) runs in this
  process (one worker), in a process pool (``workers`` > 1), or on a Dask cluster
  (``dask`` = the scheduler's address, or a ``distributed.Client``).
* Progress is shown with tqdm on a terminal (counts, rate, ETA) and is quiet otherwise.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import weakref
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from rmslab.errors import InputError
from rmslab.inventory.record import FIELDS, Settings, inventory_batch

__all__ = ["walk", "Inventory", "run_inventory", "StateStore", "Interrupted",
           "settings_digest", "csv_rows", "STATUSES"]

_BATCH = 64
#: What a record's ``status`` says of its file.
STATUSES = ("protected", "license", "not-protected", "unreadable")


class Interrupted(Exception):
    """The run stopped before the end (what finished is kept in the state database)."""


def walk(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, int, int]]:
    """Every regular file under ``paths``: (path, size, mtime in ns), in a stable order.
    Symbolic links are neither followed nor listed."""
    for top in paths:
        root = Path(top)
        if root.is_symlink():
            continue
        if root.is_file():
            info = root.stat()
            yield str(root), info.st_size, info.st_mtime_ns
            continue
        if not root.is_dir():
            raise InputError(f"{root}: no such file or folder")
        for folder, folders, files in os.walk(root, followlinks=False):
            folders.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if not os.path.islink(path) and os.path.isfile(path):
                    yield path, info.st_size, info.st_mtime_ns


class StateStore:
    """The state database of a run: one row per finished file, with its record. Without a
    path it is a temporary file, removed when the store is closed: records stay on disk
    either way, so a run's memory does not grow with the share."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._scratch: str | None = None
        if path is None:
            self._scratch = tempfile.mkdtemp(prefix="rmslab-inventory-")
            target = os.path.join(self._scratch, "state.sqlite")
        else:
            target = str(path)
        try:
            self.connection = sqlite3.connect(target)
            self.connection.execute("PRAGMA journal_mode=WAL")
            if path is None:
                self.connection.execute("PRAGMA synchronous=OFF")
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime INTEGER, status TEXT NOT NULL, record TEXT NOT NULL)")
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS run (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "settings TEXT NOT NULL, at TEXT NOT NULL)")
            self.connection.commit()
        except sqlite3.Error as exc:
            self.close()
            raise InputError(f"{path}: not a state database rmslab can use ({exc})") \
                from None

    def moment(self, settings: Settings, at: datetime | None) -> datetime:
        """The moment this run verifies chains at: the first run's, kept in the
        database (a resumed run must give the records an uninterrupted run would).
        Other anchors or domains, or another ``at``, than the first run's are refused."""
        digest = settings_digest(settings)
        row = self.connection.execute("SELECT settings, at FROM run").fetchone()
        if row is None:
            moment = at or datetime.now(timezone.utc)
            with self.connection:
                self.connection.execute("INSERT INTO run VALUES (1, ?, ?)",
                                        (digest, moment.astimezone(timezone.utc).isoformat()))
            return moment
        kept = datetime.fromisoformat(row[1])
        if row[0] != digest:
            raise InputError("the state database was made with other anchors or trusted "
                             "publishing domains: give the same ones, or a new --state")
        if at is not None and at != kept:
            raise InputError(f"the state database's run verifies chains at "
                             f"{kept:%Y-%m-%dT%H:%M:%S}, not at {at:%Y-%m-%dT%H:%M:%S}: "
                             "give the same time, or a new --state")
        return kept

    def plan(self, found: Iterable[tuple[str, int, int]]) -> tuple[int, int]:
        """Take the files walked (streamed into a temporary table), forget the rows of
        files no longer there, and list in ``todo`` the files new or changed since their
        row (size or modification time). Returns (files found, files to do)."""
        c = self.connection
        c.execute("CREATE TEMP TABLE IF NOT EXISTS walked (path TEXT PRIMARY KEY, "
                  "size INTEGER, mtime INTEGER)")
        c.execute("CREATE TEMP TABLE IF NOT EXISTS todo (n INTEGER PRIMARY KEY, "
                  "path TEXT, size INTEGER, mtime INTEGER)")
        c.execute("DELETE FROM walked")
        c.execute("DELETE FROM todo")
        entries = iter(found)
        while chunk := list(itertools.islice(entries, 10_000)):
            c.executemany("INSERT OR IGNORE INTO walked VALUES (?, ?, ?)", chunk)
        with c:
            c.execute("DELETE FROM files WHERE path NOT IN (SELECT path FROM walked)")
        c.execute("INSERT INTO todo (path, size, mtime) SELECT w.path, w.size, w.mtime "
                  "FROM walked w LEFT JOIN files f ON f.path = w.path "
                  "WHERE f.path IS NULL OR f.size IS NOT w.size OR f.mtime IS NOT w.mtime "
                  "ORDER BY w.rowid")
        c.commit()
        scanned = c.execute("SELECT COUNT(*) FROM walked").fetchone()[0]
        todo = c.execute("SELECT COUNT(*) FROM todo").fetchone()[0]
        return int(scanned), int(todo)

    def todo(self, size: int) -> Iterator[list[tuple[str, int, int]]]:
        """The files to do, in the order walked, ``size`` at a time (read as needed)."""
        last = 0
        while True:
            rows = self.connection.execute(
                "SELECT n, path, size, mtime FROM todo WHERE n > ? ORDER BY n LIMIT ?",
                (last, size)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(path, size_, mtime) for _, path, size_, mtime in rows]

    def keep(self, rows: list[tuple[str, int, int, dict[str, Any]]]) -> None:
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                [(p, s, m, r["status"], json.dumps(r, sort_keys=True))
                 for p, s, m, r in rows])

    def records(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """The records in path order (of one status), read as they are used."""
        query = "SELECT record FROM files ORDER BY path"
        values: tuple[str, ...] = ()
        if status is not None:
            query, values = ("SELECT record FROM files WHERE status = ? ORDER BY path",
                             (status,))
        cursor = self.connection.cursor()
        try:
            for (text,) in cursor.execute(query, values):
                yield json.loads(text)
        finally:
            cursor.close()

    def counts(self) -> dict[str, int]:
        return {status: int(count) for status, count in self.connection.execute(
            "SELECT status, COUNT(*) FROM files GROUP BY status")}

    def close(self) -> None:
        connection = getattr(self, "connection", None)
        if connection is not None:
            connection.close()
            self.connection = None  # type: ignore[assignment]
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def settings_digest(settings: Settings) -> str:
    """A digest of the anchors and trusted publishing domains a run verifies with."""
    anchors, domains = settings
    digest = hashlib.sha256()
    for pem in anchors:
        digest.update(b"anchor\0" + pem + b"\0")
    for name, pem in domains:
        digest.update(b"domain\0" + name.encode("utf-8") + b"\0" + pem + b"\0")
    return digest.hexdigest()


@dataclass(eq=False)
class Inventory:
    """How a run went, and its records — kept in the run's state database and read as
    they are used (:meth:`iter_records`), so a share of millions of files does not sit in
    memory; :attr:`records` loads them all, for small shares. :meth:`close` (or the
    garbage collector) removes a temporary state database."""

    store: StateStore = field(repr=False)
    scanned: int
    at: datetime
    skipped: int = 0
    workers: int = 1
    where: str = "local"
    anchored: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(self, self.store.close)
        self._loaded: list[dict[str, Any]] | None = None

    def iter_records(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Every record (of one status), in path order, one at a time."""
        return self.store.records(status)

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record, in path order, as a list (loaded once)."""
        if self._loaded is None:
            self._loaded = list(self.iter_records())
        return self._loaded

    def by_status(self, status: str) -> list[dict[str, Any]]:
        return list(self.iter_records(status))

    def totals(self) -> dict[str, int]:
        """How many files, and how many of each status (every status, zero included)."""
        counts = {status: 0 for status in STATUSES}
        counts.update(self.store.counts())
        return {"files": sum(counts.values()), **counts}

    def close(self) -> None:
        self._finalizer()


def _progress(total: int, stream: TextIO | None) -> Any:
    from tqdm import tqdm
    target = stream if stream is not None else sys.stderr
    quiet = not (hasattr(target, "isatty") and target.isatty())
    return tqdm(total=total, unit="file", disable=quiet, file=target, smoothing=0.1,
                dynamic_ncols=True)


def _dask_client(dask: Any) -> tuple[Any, bool]:
    if not isinstance(dask, str):
        return dask, False
    from distributed import Client
    try:
        return Client(dask, timeout=10), True  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise InputError(f"no Dask scheduler answers at {dask}: {exc}") from None


Batch = list[tuple[str, int, int]]
Keep = Callable[[Batch, list[dict[str, Any]]], None]


def run_inventory(paths: Iterable[str | os.PathLike[str]], *, settings: Settings = ((), ()),
                  at: datetime | None = None, workers: int | None = None,
                  state: str | os.PathLike[str] | None = None,
                  dask: Any = None, progress: TextIO | None = None,
                  stop_after: int | None = None,
                  on_batch: Callable[[int], None] | None = None) -> Inventory:
    """Inventory every file under ``paths``, verifying chains at ``at`` (default: now;
    with a state database, the first run's moment). ``stop_after`` ends the run
    (raising :class:`Interrupted`) after that many files are kept — what an
    interruption does."""
    tops = [Path(p) for p in paths]
    for top in tops:                    # a missing folder is an error before any work
        if not top.is_symlink() and not top.exists():
            raise InputError(f"{top}: no such file or folder")
    store = StateStore(state)
    try:
        moment = store.moment(settings, at)
        scanned, todo = store.plan(walk(tops))
        count = workers if workers and workers > 0 else (os.cpu_count() or 1)
        kept = 0
        bar = _progress(scanned, progress)
        bar.update(scanned - todo)

        def keep(batch: Batch, records: list[dict[str, Any]]) -> None:
            nonlocal kept
            store.keep([(p, s, m, r) for (p, s, m), r in zip(batch, records)])
            kept += len(batch)
            bar.update(len(batch))
            if on_batch is not None:
                on_batch(kept)
            if stop_after is not None and kept >= stop_after:
                raise Interrupted(f"stopped after {kept} files")

        size = max(1, min(_BATCH, todo // (count * 4) or 1))
        batches = store.todo(size)
        where = "local"
        try:
            if dask is not None:
                where = _run_dask(batches, settings, moment, dask, keep)
            elif count == 1 or todo <= _BATCH:      # a pool would cost more
                for batch in batches:
                    keep(batch, inventory_batch([p for p, _, _ in batch], settings, moment))
            else:
                _run_pool(batches, settings, moment, count, keep)
        finally:
            bar.close()
    except BaseException:
        store.close()
        raise
    return Inventory(store, scanned=scanned, at=moment, skipped=scanned - todo,
                     workers=count, where=where, anchored=bool(settings[0]))


def _run_pool(batches: Iterator[Batch], settings: Settings, at: datetime, count: int,
              keep: Keep) -> None:
    with ProcessPoolExecutor(max_workers=count) as pool:
        pending: dict[Future[list[dict[str, Any]]], Batch] = {}
        try:
            for batch in batches:
                pending[pool.submit(inventory_batch, [p for p, _, _ in batch], settings,
                                    at)] = batch
                if len(pending) >= count * 4:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch = pending.pop(future)
                    keep(batch, future.result())
                    following = next(batches, None)
                    if following is not None:
                        pending[pool.submit(inventory_batch, [p for p, _, _ in following],
                                            settings, at)] = following
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_dask(batches: Iterator[Batch], settings: Settings, at: datetime, dask: Any,
              keep: Keep) -> str:
    """The batches on a Dask cluster, a window of them in flight at a time (the rest
    are read from the state database as the window moves)."""
    from distributed import as_completed
    client, owned = _dask_client(dask)
    try:
        window = max(8, 4 * sum(client.nthreads().values()))
        pending: dict[Any, Batch] = {}

        def submit(batch: Batch) -> Any:
            future = client.submit(inventory_batch, [p for p, _, _ in batch], settings, at,
                                   pure=False)
            pending[future] = batch
            return future

        for batch in itertools.islice(batches, window):
            submit(batch)
        flow = as_completed(list(pending))  # type: ignore[no-untyped-call]
        try:
            for future in flow:
                keep(pending.pop(future), future.result())
                following = next(batches, None)
                if following is not None:
                    flow.add(submit(following))  # type: ignore[no-untyped-call]
        except BaseException:
            client.cancel(list(pending))
            raise
        return f"dask {client.scheduler.address}"
    finally:
        if owned:
            client.close()


def csv_rows(records: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    """The records as CSV rows under :data:`FIELDS`."""
    yield list(FIELDS)
    for record in records:
        yield [record.get(name) if record.get(name) is not None else "" for name in FIELDS]
