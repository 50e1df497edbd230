"""How long `rmslab protect` and `rmslab open` take on a lab on disk, whole commands in
fresh processes, beside a floor measured in the same run (issue 10: the lab store).

The floor of a command is what it cannot avoid: starting Python and importing rmslab
(a process that only imports what the command imports), plus the flow itself on a
deployment already in memory (publishing online for ``protect``; binding and
decrypting with a cached use license for ``open``). What a command takes beyond it is
the lab: opening the store, loading the deployment, committing what changed.

With ``--before SRC`` (an older rmslab source tree, e.g. ``git archive <commit> | tar -x
-C SRC``) the same commands run with that code too, on a lab it creates, so the two
stores are compared in one run.

Usage: python bench/lab_commands.py [--rounds N] [--before SRC]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORTS = ("import rmslab.cli, rmslab.flows.publishing, rmslab.flows.binding, "
           "rmslab.flows.licensing, rmslab.discovery.discover")


def _environment(source: str | None) -> dict[str, str]:
    environment = dict(os.environ)
    if source:
        environment["PYTHONPATH"] = source
    return environment


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], source: str | None) -> tuple[float, float]:
    """Wall-clock and CPU seconds of a command run in a fresh process."""
    cpu, started = _cpu(), time.perf_counter()
    _run(command, source)
    return time.perf_counter() - started, _cpu() - cpu


def _run(command: list[str], source: str | None) -> None:
    # run outside any source tree: `python -m` puts the working directory first on the path
    subprocess.run(command, env=_environment(source), check=True, capture_output=True,
                   cwd=tempfile.gettempdir())


def _cli(source: str | None, *args: str) -> list[str]:
    return [sys.executable, "-m", "rmslab.cli", *args]


def _prepare(source: str | None, scratch: Path) -> Path:
    lab = scratch / f"lab-{'before' if source else 'after'}"
    if source:  # the commands must run that code, not this
        used = subprocess.run([sys.executable, "-c", "import rmslab; print(rmslab.__file__)"],
                              env=_environment(source), capture_output=True, text=True,
                              check=True, cwd=tempfile.gettempdir()).stdout.strip()
        if not Path(used).resolve().is_relative_to(Path(source).resolve()):
            raise SystemExit(f"--before {source}: python imports rmslab from {used}")
    _run(_cli(source, "lab", "create", str(lab)), source)
    return lab


def one_round(source: str | None, lab: Path, plain: Path, number: int,
              times: dict[str, list[tuple[float, float]]]) -> None:
    """Wall-clock seconds of protect, the first open (it acquires a use license) and an
    open again (the license cached), with the code at ``source`` (None: this one)."""
    target = lab.parent / f"{lab.name}-{number}.ptxt"
    times["protect"].append(_timed(_cli(source, "protect", str(plain), str(target), "--lab",
                                        str(lab), "--as", "alice", "--grant", "bob:VIEW",
                                        "--cluster", "contoso-root"), source))
    for label in ("open (acquires)", "open (cached)"):
        times[label].append(_timed(_cli(source, "open", str(target), "--lab", str(lab),
                                        "--as", "bob"), source))


def flows(rounds: int) -> dict[str, float]:
    """The flows of each command on a deployment in memory (best of ``rounds``, CPU
    seconds of this single-threaded process)."""
    from rmslab.deployment import standard_deployment
    from rmslab.flows.binding import AppSession, open_protected
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_online
    from rmslab.lab import Lab
    from rmslab.rights import Grant, RightsPolicy

    deployment = standard_deployment(Lab())
    alice, bob = deployment.user("alice"), deployment.user("bob")
    anchor = deployment.enrollment_service.anchor
    publish, acquire, bind = [], [], []
    for _ in range(rounds + 1):
        sink = io.BytesIO()
        started = time.process_time()
        protected = publish_online(deployment.root_cluster, deployment.clients["ALICE-PC"], alice,
                                   RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"the plan\n",
                                   sink)
        publish.append(time.process_time() - started)
        started = time.process_time()
        acquire_use_license(deployment.root_cluster, deployment.clients["BOB-PC"], bob,
                            protected.publishing_license, anchor=anchor)
        acquire.append(time.process_time() - started)
        started = time.process_time()
        open_protected(AppSession(deployment.clients["BOB-PC"], bob), io.BytesIO(sink.getvalue()),
                       io.BytesIO(), "VIEW", anchor=anchor)
        bind.append(time.process_time() - started)
    return {"protect": min(publish[1:]), "open (acquires)": min(acquire[1:]) + min(bind[1:]),
            "open (cached)": min(bind[1:])}


def store_costs(scratch: Path, rounds: int) -> tuple[float, float]:
    """In process: loading a lab (LabStore.read, nothing cached) and a write that keeps
    one license (load, dump before and after, commit one row and one file)."""
    from rmslab.deployment import standard_deployment
    from rmslab.lab import Lab
    from rmslab.store.labdb import LabStore
    lab = scratch / "lab-store"
    LabStore.create(standard_deployment(Lab()), lab)
    loads, writes = [], []
    for number in range(rounds):
        started = time.perf_counter()
        with LabStore(lab).read():
            pass
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        with LabStore(lab).write() as deployment:
            deployment.clients["BOB-PC"].account("bob").licenses[
                f"{{00000000-0000-4000-8000-{number:012d}}}"] = "<license/>"
        writes.append(time.perf_counter() - started)
    return min(loads), min(writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", metavar="SRC", help="an older rmslab source tree to compare")
    args = parser.parse_args()
    labels = ("protect", "open (acquires)", "open (cached)")
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        plain = scratch / "plain.txt"
        plain.write_text("the plan\n")
        sources: dict[str, str | None] = {"after": None}
        if args.before:
            sources["before"] = str(Path(args.before).resolve())
        labs = {code: _prepare(source, scratch) for code, source in sources.items()}
        runs: dict[str, dict[str, list[tuple[float, float]]]] = {
            code: {label: [] for label in labels} for code in sources}
        startups = []
        # interleaved, so that a busy machine weighs on floor, before and after alike
        for number in range(args.rounds):
            startups.append(_timed([sys.executable, "-c", IMPORTS], None)[1])
            for code, source in sources.items():
                one_round(source, labs[code], plain, number, runs[code])
        startup = min(startups)
        floor = {label: startup + seconds for label, seconds in flows(args.rounds).items()}
        load, write = store_costs(scratch, args.rounds)
    print(f"rmslab commands on a lab, each a fresh process, best of {args.rounds}: CPU time "
          f"(user + system) and wall clock (median)")
    print(f"floor = start-up and imports ({startup * 1e3:.0f} ms CPU) + the command's flow on a "
          "deployment in memory, measured in this run")
    print(f"{'command':<16} {'code':<7} {'CPU':>7} {'floor':>7} {'ratio':>6} {'wall':>7} "
          f"{'median':>7}")
    for label in labels:
        for code, times in runs.items():
            cpu = min(t[1] for t in times[label])
            print(f"{label:<16} {code:<7} {cpu * 1e3:>5.0f}ms {floor[label] * 1e3:>5.0f}ms "
                  f"{cpu / floor[label]:>6.2f} {min(t[0] for t in times[label]) * 1e3:>5.0f}ms "
                  f"{statistics.median(t[0] for t in times[label]) * 1e3:>5.0f}ms")
    print(f"in process: LabStore.read (a load, nothing cached) {load * 1e3:.1f} ms; "
          f"LabStore.write keeping one license (load, commit, one file) {write * 1e3:.1f} ms "
          "(wall)")


if __name__ == "__main__":
    main()
