"""Running an inventory over file shares: walking, resuming, parallel work (SPEC A-1).

* Files are found by walking the given trees (symbolic links are not followed, so a
  link cannot lead the walk out of the share or round in a loop) and taken in a stable
  order.
* With a state database (SQLite in WAL mode), each finished batch is committed with the
  file's size and modification time; a run started again skips what it finished, and
  the totals are read from the database — the same as an uninterrupted run's.
* The per-file work (:func:`rmslab.inventory.record.inventory_batch`) runs in this
  process (one worker), in a process pool (``workers`` > 1), or on a Dask cluster
  (``dask`` = the scheduler's address, or a ``distributed.Client``).
* Progress is shown with tqdm on a terminal (counts, rate, ETA) and is quiet otherwise.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from rmslab.errors import InputError
from rmslab.inventory.record import FIELDS, Settings, inventory_batch

__all__ = ["walk", "Inventory", "run_inventory", "StateStore", "Interrupted"]

_BATCH = 64


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
        self.connection = sqlite3.connect(str(path) if path else ":memory:")
        if path:
            self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime INTEGER, record TEXT NOT NULL)")
        self.connection.commit()

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


@dataclass
class Inventory:
    """The records of a run, in path order, and how the run went."""

    records: list[dict[str, Any]]
    scanned: int
    skipped: int = 0
    workers: int = 1
    where: str = "local"
    anchored: bool = False
    notes: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == status]

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {"files": len(self.records)}
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
                  workers: int | None = None, state: str | os.PathLike[str] | None = None,
                  dask: Any = None, progress: TextIO | None = None,
                  stop_after: int | None = None,
                  on_batch: Callable[[int], None] | None = None) -> Inventory:
    """Inventory every file under ``paths``. ``stop_after`` ends the run (raising
    :class:`Interrupted`) after that many files are kept — what an interruption does."""
    found = list(walk(paths))
    store = StateStore(state)
    try:
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
                where = _run_dask(batches, settings, dask, keep)
            elif count == 1 or len(batches) <= 1:
                for batch in batches:
                    keep(batch, inventory_batch([p for p, _, _ in batch], settings))
            else:
                _run_pool(batches, settings, count, keep)
        finally:
            bar.close()
        records = store.records()
    finally:
        store.close()
    return Inventory(records, scanned=len(found), skipped=len(found) - len(todo),
                     workers=count, where=where, anchored=bool(settings[0]))


def _run_pool(batches: list[list[tuple[str, int, int]]], settings: Settings, count: int,
              keep: Callable[[list[tuple[str, int, int]], list[dict[str, Any]]], None]) -> None:
    with ProcessPoolExecutor(max_workers=count) as pool:
        pending: dict[Future[list[dict[str, Any]]], list[tuple[str, int, int]]] = {}
        queue = iter(batches)
        try:
            for batch in queue:
                pending[pool.submit(inventory_batch, [p for p, _, _ in batch], settings)] = batch
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
                                            settings)] = following
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_dask(batches: list[list[tuple[str, int, int]]], settings: Settings, dask: Any,
              keep: Callable[[list[tuple[str, int, int]], list[dict[str, Any]]], None]) -> str:
    from distributed import as_completed
    client, owned = _dask_client(dask)
    try:
        futures = {client.submit(inventory_batch, [p for p, _, _ in batch], settings,
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
