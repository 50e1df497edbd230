"""Running an inventory over file shares: walking, resuming, parallel work (SPEC A-1).

* Files are found by walking the given trees (symbolic links are not followed, so a
  link cannot lead the walk out of the share or round in a loop) and taken in a stable
  order.
* With a state database (SQLite in WAL mode), each finished batch is committed with the
  file's size and modification time; a run started again skips what it finished, and
  the totals are read from the database — the same as an uninterrupted run's. The
  database also keeps what the records depend on — the anchors and trusted publishing
  domains (as a digest) and the moment the chains are verified at — so a resumed run
  verifies at the first run's moment, and one with other settings is refused.
* The per-file work (:func:`rmslab.inventory.record.inventory_batch`) runs in this
  process (one worker), in a process pool (``workers`` > 1), or on a Dask cluster
  (``dask`` = the scheduler's address, or a ``distributed.Client``).
* Progress is shown with tqdm on a terminal (counts, rate, ETA) and is quiet otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
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
    """The state database of a resumable run: one row per finished file."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        try:
            self.connection = sqlite3.connect(str(path) if path else ":memory:")
            if path:
                self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime INTEGER, record TEXT NOT NULL)")
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS run (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "settings TEXT NOT NULL, at TEXT NOT NULL)")
            self.connection.commit()
        except sqlite3.Error as exc:
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

    def done(self) -> dict[str, tuple[int, int]]:
        return {path: (size, mtime) for path, size, mtime in
                self.connection.execute("SELECT path, size, mtime FROM files")}

    def keep(self, rows: list[tuple[str, int, int, dict[str, Any]]]) -> None:
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                [(p, s, m, json.dumps(r, sort_keys=True)) for p, s, m, r in rows])

    def forget_except(self, paths: set[str]) -> None:
        """Drop rows of files that are no longer in the trees walked."""
        gone = [p for p in self.done() if p not in paths]
        with self.connection:
            self.connection.executemany("DELETE FROM files WHERE path = ?",
                                        [(p,) for p in gone])

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(text) for (text,) in self.connection.execute(
            "SELECT record FROM files ORDER BY path")]

    def close(self) -> None:
        self.connection.close()


def settings_digest(settings: Settings) -> str:
    """A digest of the anchors and trusted publishing domains a run verifies with."""
    anchors, domains = settings
    digest = hashlib.sha256()
    for pem in anchors:
        digest.update(b"anchor\0" + pem + b"\0")
    for name, pem in domains:
        digest.update(b"domain\0" + name.encode("utf-8") + b"\0" + pem + b"\0")
    return digest.hexdigest()


@dataclass
class Inventory:
    """The records of a run, in path order, and how the run went."""

    records: list[dict[str, Any]]
    scanned: int
    at: datetime
    skipped: int = 0
    workers: int = 1
    where: str = "local"
    anchored: bool = False
    notes: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == status]

    def totals(self) -> dict[str, int]:
        """How many files, and how many of each status (every status, zero included)."""
        counts: dict[str, int] = {"files": len(self.records)}
        counts.update({status: 0 for status in STATUSES})
        for record in self.records:
            counts[record["status"]] = counts.get(record["status"], 0) + 1
        return counts


def _batches(items: list[tuple[str, int, int]], size: int) -> Iterator[list[tuple[str, int, int]]]:
    for at in range(0, len(items), size):
        yield items[at:at + size]


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
    found = list(walk(paths))
    store = StateStore(state)
    try:
        moment = store.moment(settings, at)
        done = store.done()
        store.forget_except({p for p, _, _ in found})
        todo = [f for f in found if done.get(f[0]) != (f[1], f[2])]
        count = workers if workers and workers > 0 else (os.cpu_count() or 1)
        kept = 0
        bar = _progress(len(found), progress)
        bar.update(len(found) - len(todo))

        def keep(batch: list[tuple[str, int, int]], records: list[dict[str, Any]]) -> None:
            nonlocal kept
            store.keep([(p, s, m, r) for (p, s, m), r in zip(batch, records)])
            kept += len(batch)
            bar.update(len(batch))
            if on_batch is not None:
                on_batch(kept)
            if stop_after is not None and kept >= stop_after:
                raise Interrupted(f"stopped after {kept} files")

        size = max(1, min(_BATCH, len(todo) // (count * 4) or 1))
        batches = list(_batches(todo, size))
        where = "local"
        try:
            if dask is not None:
                where = _run_dask(batches, settings, moment, dask, keep)
            elif count == 1 or len(todo) <= _BATCH:      # a pool would cost more
                for batch in batches:
                    keep(batch, inventory_batch([p for p, _, _ in batch], settings, moment))
            else:
                _run_pool(batches, settings, moment, count, keep)
        finally:
            bar.close()
        records = store.records()
    finally:
        store.close()
    return Inventory(records, scanned=len(found), at=moment, skipped=len(found) - len(todo),
                     workers=count, where=where, anchored=bool(settings[0]))


def _run_pool(batches: list[list[tuple[str, int, int]]], settings: Settings, at: datetime,
              count: int,
              keep: Callable[[list[tuple[str, int, int]], list[dict[str, Any]]], None]) -> None:
    with ProcessPoolExecutor(max_workers=count) as pool:
        pending: dict[Future[list[dict[str, Any]]], list[tuple[str, int, int]]] = {}
        queue = iter(batches)
        try:
            for batch in queue:
                pending[pool.submit(inventory_batch, [p for p, _, _ in batch], settings, at)] = batch
                if len(pending) >= count * 4:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch = pending.pop(future)
                    keep(batch, future.result())
                    following = next(queue, None)
                    if following is not None:
                        pending[pool.submit(inventory_batch, [p for p, _, _ in following],
                                            settings, at)] = following
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_dask(batches: list[list[tuple[str, int, int]]], settings: Settings, at: datetime,
              dask: Any,
              keep: Callable[[list[tuple[str, int, int]], list[dict[str, Any]]], None]) -> str:
    from distributed import as_completed
    client, owned = _dask_client(dask)
    try:
        futures = {client.submit(inventory_batch, [p for p, _, _ in batch], settings, at,
                                 pure=False): i for i, batch in enumerate(batches)}
        try:
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                keep(batches[futures[future]], future.result())
        except BaseException:
            client.cancel(list(futures))
            raise
        return f"dask {client.scheduler.address}"
    finally:
        if owned:
            client.close()


def csv_rows(records: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """The records as CSV rows under :data:`FIELDS`."""
    yield list(FIELDS)
    for record in records:
        yield [record.get(name) if record.get(name) is not None else "" for name in FIELDS]
