"""Benchmark: ``rmslab inventory`` on a generated share, against the floor.

Run from the repository root::

    .venv/bin/python bench/inventory.py [--files 100000] [--small 10000] [--workers N]
                                        [--rounds 3] [--no-dask]

The share (made once per size, in a temporary folder) holds small protected files of
every container kind published by two labs' clusters, 5% ordinary files and 1% protected
files cut short. For each size it prints:

* the **floor**: one process reads every file's bytes and parses and verifies the
  license chain each protected file carries (the chain texts taken beforehand: reading,
  ``parse`` and ``examine`` — what no inventory can avoid);
* the **floor with containers**: the same, but each protected file's chain is found in
  its container (:func:`open_artefact`) inside the timing, as any inventory must — the
  floor above leaves that out (its chains are extracted beforehand), although finding
  the license in an Office compound file, a mail or a PDF costs about as much as
  verifying its chain; both are printed, and the ratios to each;
* ``rmslab inventory`` (:func:`run_inventory`) with 1 worker and with N workers (the
  CPU count by default), files/s and the ratio to the floor — the goal is ≥ 0.8 of the
  floor per worker and near-linear growth in workers;
* the same per-file work on a local Dask cluster of N single-threaded workers;
* the peak memory (max RSS) of a whole inventory run in a fresh process, at the small
  and at the full size: it should stay flat as the share grows.

On a shared machine the load moves during a run, so the floor and the inventory are
measured back to back in each of ``--rounds`` rounds and the ratios are taken per round:
the medians are printed with their range, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rmslab.containers import open_artefact  # noqa: E402
from rmslab.deployment import standard_deployment  # noqa: E402
from rmslab.errors import InputError  # noqa: E402
from rmslab.inventory import generate_share, run_inventory, walk  # noqa: E402
from rmslab.lab import Lab  # noqa: E402
from rmslab.report import examine  # noqa: E402
from rmslab.xrml.reader import parse  # noqa: E402


def make_share(root: Path, files: int) -> None:
    labs = [standard_deployment(Lab()), standard_deployment(Lab(seed=1, mode=1))]
    generate_share(root, labs, files)


def floor(root: Path) -> float:
    """Files per second: read every file's bytes; parse and examine the chain each
    protected file carries (chains extracted beforehand, outside the timing)."""
    paths = [p for p, _, _ in walk([root])]
    chains: dict[str, str] = {}
    for path in paths:
        try:
            chains[path] = open_artefact(path).license_text
        except InputError:
            pass
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            handle.read()
        text = chains.get(path)
        if text is not None:
            examine(parse(text, source=path), at=now)
    return len(paths) / (time.perf_counter() - start)


def floor_with_containers(root: Path) -> float:
    """Files per second: read every file and find its chain in its container
    (:func:`open_artefact`), then parse and examine the chain — the floor with the work
    of finding the license, which no inventory can avoid either."""
    paths = [p for p, _, _ in walk([root])]
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    start = time.perf_counter()
    for path in paths:
        try:
            text = open_artefact(path).license_text
        except InputError:
            continue
        examine(parse(text, source=path), at=now)
    return len(paths) / (time.perf_counter() - start)


#: CPU milliseconds per file of the last local run (this process and its pool's workers).
CPU_PER_FILE: dict[int, list[float]] = {}


def _cpu_seconds() -> float:
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(root: Path, **options: object) -> float:
    """Files per second of one run; for a local run, its CPU time per file (this
    process and its pool's workers, which are joined when the run ends) is kept in
    :data:`CPU_PER_FILE`: equal at 1 and N workers, the work scales, and a speed-up
    short of N is the share of the cores other programs take."""
    count = sum(1 for _ in walk([root]))
    cpu = _cpu_seconds()
    start = time.perf_counter()
    run_inventory([root], **options)  # type: ignore[arg-type]
    rate = count / (time.perf_counter() - start)
    if "dask" not in options:
        CPU_PER_FILE.setdefault(int(options.get("workers", 1)),  # type: ignore[call-overload]
                                []).append((_cpu_seconds() - cpu) / count * 1000)
    return rate


_MEASURE = """
import resource, sys
sys.path.insert(0, {repo!r})
from rmslab.inventory import run_inventory
inventory = run_inventory([{root!r}], workers={workers})
inventory.close()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # the high-water mark of this program alone (ru_maxrss may carry the spawning parent's)
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
"""


def peak_memory(root: Path, workers: int) -> float:
    """Max RSS in MiB of a fresh process running the whole inventory, or of the largest
    of its pool's workers (each counted with what it shares with the process)."""
    code = _MEASURE.format(repo=str(REPO), root=str(root), workers=workers)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def dask_rate(root: Path, workers: int) -> float:
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        return timed(root, dask=client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of floor and inventory measured back to back")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    n = args.workers
    print(f"rmslab inventory bench: {os.cpu_count()} CPUs, {n} workers, Python "
          f"{sys.version.split()[0]}, {args.rounds} rounds; load average "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="rmslab-bench-") as scratch:
        memories = []
        for size in sorted({args.small, args.files}):
            root = Path(scratch) / f"share-{size}"
            start = time.perf_counter()
            make_share(root, size)
            print(f"\n{size} files generated in {time.perf_counter() - start:.1f} s")
            rounds = []
            for _ in range(args.rounds):
                base = floor(root)
                fair = floor_with_containers(root)
                one = timed(root, workers=1)
                many = timed(root, workers=n)
                remote = None if args.no_dask else dask_rate(root, n)
                rounds.append((base, one, many, remote, fair))

            def median(column: int) -> float:
                return statistics.median(r[column] for r in rounds)  # type: ignore[misc]

            def ratio(column: int, to: int = 0) -> str:
                values = sorted(r[column] / r[to] for r in rounds)  # type: ignore[operator]
                spread = f" ({values[0]:.2f}…{values[-1]:.2f})" if len(values) > 1 else ""
                return f"{statistics.median(values):.2f}{spread}"

            speed_up = statistics.median(r[2] / r[1] for r in rounds)
            print(f"  floor (1 process: read + parse + examine)  {median(0):8.1f} files/s")
            print(f"  floor with containers (+ open_artefact)     {median(4):8.1f} files/s")
            print(f"  inventory, 1 worker                         {median(1):8.1f} files/s"
                  f"   ratio to floor {ratio(1)}; to floor with containers {ratio(1, 4)}")
            print(f"  inventory, {n} workers                        {median(2):8.1f} files/s"
                  f"   ratio to floor {ratio(2)}, per worker "
                  f"{statistics.median(r[2] / r[0] / n for r in rounds):.2f},"
                  f" speed-up {speed_up:.2f}x; per worker to floor with containers "
                  f"{statistics.median(r[2] / r[4] / n for r in rounds):.2f}")
            cpu_one = statistics.median(CPU_PER_FILE.pop(1, [0.0]))
            cpu_many = statistics.median(CPU_PER_FILE.pop(n, [0.0])) if n != 1 else cpu_one
            print(f"  CPU time per file, 1 worker / {n} workers       {cpu_one:5.2f} / "
                  f"{cpu_many:5.2f} ms   (load average now {os.getloadavg()[0]:.1f})")
            if not args.no_dask:
                print(f"  inventory on a local Dask cluster ({n})      {median(3):8.1f} files/s"
                      f"   ratio to floor {ratio(3)}")
            memory = peak_memory(root, n)
            memories.append((size, memory))
            print(f"  peak memory of a whole run (max RSS)        {memory:8.1f} MiB")
        if len(memories) > 1:
            (small, low), (large, high) = memories[0], memories[-1]
            print(f"\npeak memory: {low:.1f} MiB at {small} files, {high:.1f} MiB at "
                  f"{large} files (x{high / low:.2f} for x{large / small:.0f} files)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
