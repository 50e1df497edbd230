"""A served lab keeps serving (issue 10 item 5): while `LoopbackService` serves a
deployment loaded from a lab directory — its logs the lab's own files — CLI commands run
against the same lab, and the service goes on answering and logging into those files.
And the store's per-request API serves threads and processes at once.

covers: E-8, E-9, L-1
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.revocation import Revoke
from rmslab.service import LoopbackService, RemoteCertificationService, RemoteLicensingService
from rmslab.store.disk import load_deployment
from rmslab.store.labdb import LabStore
from rmslab.trace import Trace
from tests.clirun import run


def _cli(*args: str) -> tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "rmslab.cli", *args], capture_output=True,
                            text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_a_served_lab_keeps_serving_while_commands_run(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    deployment = load_deployment(lab)
    root, bob = deployment.root_cluster, deployment.user("bob")
    anchor = deployment.enrollment_service.anchor
    chain = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                            RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"served",
                            io.BytesIO()).publishing_license
    plain = tmp_path / "plan.txt"
    plain.write_text("the plan\n")
    steps = [("protect", str(plain), str(tmp_path / "a.ptxt"), "--lab", str(lab), "--as",
              "alice", "--grant", "bob:VIEW"),
             ("open", str(tmp_path / "a.ptxt"), "--lab", str(lab), "--as", "bob"),
             ("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "mallory",
              "--publish"),
             ("protect", str(plain), str(tmp_path / "b.ptxt"), "--lab", str(lab), "--as",
              "alice", "--offline", "--grant", "carol:VIEW"),
             ("lab", "advance", str(lab), "--hours", "1"),
             ("log", str(lab)), ("audit", str(lab))]
    results: list[tuple[int, str, str]] = []

    def commands() -> None:
        for step in steps:
            results.append(_cli(*step))

    served = 0
    with LoopbackService(deployment.web, enrollment=deployment.enrollment_service,
                         clusters=deployment.clusters.values(),
                         directory=deployment.directory) as http:
        certification = RemoteCertificationService.of(root, http.port)
        licensing = RemoteLicensingService.of(root, http.port)
        runner = threading.Thread(target=commands)
        runner.start()
        while runner.is_alive() or served < 3:
            served += 1
            certification.activate(f"SERVED-{served}", deployment.clients["BOB-PC"]
                                   .machine_key.public, trace=Trace("activation"))
            use_license, _ = acquire_use_license(licensing, deployment.clients["BOB-PC"], bob,
                                                 chain, anchor=anchor)
            assert use_license
        runner.join()
        # the service still answers after every command has run
        certification.activate("SERVED-last", deployment.clients["BOB-PC"].machine_key.public,
                               trace=Trace("activation"))
    assert [r[0] for r in results] == [0] * len(steps), results
    assert results[1][1] == "the plan\n"
    # what the service logged is in the lab's log file, and the commands see it
    status, output, _ = run("log", str(lab), "--json", "--kind", "machine-activation")
    logged = [r["subject"] for r in json.loads(output) if r["subject"].startswith("SERVED-")]
    assert status == 0 and logged == [f"SERVED-{n}" for n in range(1, served + 1)] + ["SERVED-last"]
    # the next write records how far the log goes: rows deleted later are noticed
    assert run("lab", "advance", str(lab), "--minutes", "1")[0] == 0
    import sqlite3
    with sqlite3.connect(lab / "clusters/contoso-root/logging.sqlite") as db:
        db.execute("DELETE FROM enrollment_log WHERE subject = 'SERVED-last'")
    status, _, error = run("log", str(lab))
    assert status == 2 and "lost requests" in error


def test_the_store_serves_threads_and_processes_at_once(tmp_path: Path) -> None:
    """A long-running server's way: one LabStore, a transaction per request."""
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    store = LabStore(lab)
    errors: list[BaseException] = []

    def requests(worker: int) -> None:
        try:
            for number in range(5):
                with store.write() as deployment:
                    cluster = deployment.clusters["contoso-licensing"]
                    cluster.revocations.append(Revoke("application", "principal-id",
                                                      f"thread-{worker}-{number}"))
                with store.read() as snapshot:
                    assert any(r.value == f"thread-{worker}-{number}"
                               for r in snapshot.clusters["contoso-licensing"].revocations)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=requests, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    commands = [_cli("revoke", "--lab", str(lab), "--by", "contoso-licensing", "--app",
                     f"process-{n}") for n in range(2)]
    for thread in threads:
        thread.join()
    assert not errors and [c[0] for c in commands] == [0, 0]
    with store.read() as deployment:
        values = {r.value for r in deployment.clusters["contoso-licensing"].revocations}
    assert values == ({f"thread-{w}-{n}" for w in range(4) for n in range(5)}
                      | {"process-0", "process-1"})
