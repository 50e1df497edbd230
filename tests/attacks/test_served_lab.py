"""A served lab keeps serving (issue 10 item 5): `LoopbackService.of_lab` serves a lab on
disk a transaction per request (`rmslab.service.app.from_store`) while CLI commands run
against the same lab; the service goes on answering and logging into the lab's files,
and neither loses what the other did: the CLI's revocations and the RACs the server
issued are both in the lab, and no GUID is drawn twice. And the store's per-request API
serves threads and processes at once.

covers: E-8, E-9, L-1
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from rmslab.errors import RmslabError
from rmslab.flows.certification import certify_account
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.revocation import Revoke
from rmslab.service import (HttpTransport, LoopbackService, RemoteCertificationService,
                            RemoteLicensingService, password_for)
from rmslab.service.soap import el
from rmslab.store.disk import load_deployment
from rmslab.store.labdb import LabStore
from rmslab.trace import Trace
from rmslab.xrml import parse
from tests.clirun import run
from tests.service.wire import soap


def _cli(*args: str) -> tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "rmslab.cli", *args], capture_output=True,
                            text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_a_served_lab_keeps_serving_while_commands_run(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    store = LabStore(lab)
    # the clients' side: machines and accounts as the lab made them (kept in memory here)
    clients = load_deployment(lab)
    root, bob = clients.root_cluster, clients.user("bob")
    bob_pc = clients.clients["BOB-PC"]
    anchor = clients.enrollment_service.anchor
    chain = publish_offline(clients.clients["ALICE-PC"], clients.user("alice"),
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
             ("revoke", "--lab", str(lab), "--by", "contoso-licensing", "--app", "served"),
             ("log", str(lab)), ("audit", str(lab))]
    results: list[tuple[int, str, str]] = []

    def commands() -> None:
        for step in steps:
            results.append(_cli(*step))

    served = 0
    issued: list[str] = []  # the IDs of every document the server issued
    with LoopbackService.of_lab(store) as http:
        certification = RemoteCertificationService.of(
            root, http.port, passwords={"bob": password_for(clients.lab, bob)})
        licensing = RemoteLicensingService.of(root, http.port)
        runner = threading.Thread(target=commands)
        runner.start()
        while runner.is_alive() or served < 3:
            served += 1
            certify_account(certification, bob_pc, bob)
            rac_text = bob_pc.account("bob").rac_text
            clc = certification.enroll_client(bob, bob_pc.name, rac_text,
                                              trace=Trace("client enrollment"))
            use_license, _ = acquire_use_license(licensing, bob_pc, bob, chain, anchor=anchor)
            issued += [bob_pc.account("bob").rac.id or "", parse(clc)[0].id or "",
                       parse(use_license)[0].id or ""]
        runner.join()
        # the service still answers after every command has run, at the lab's new time
        last = certification.enroll_client(bob, bob_pc.name, bob_pc.account("bob").rac_text,
                                           trace=Trace("client enrollment"))
        issued.append(parse(last)[0].id or "")
        assert not http.application.internal_errors
    assert [r[0] for r in results] == [0] * len(steps), results
    assert results[1][1] == "the plan\n"
    with store.read() as after:
        # the commands' changes are kept: both revocations, and their clock
        assert [r.value for r in after.root_cluster.revocations] == ["mallory@contoso.example"]
        assert [r.value for r in after.clusters["contoso-licensing"].revocations] == ["served"]
        assert after.lab.now() >= clients.lab.now() + timedelta(hours=1)
        when = parse(last)[0].issued  # the server issues at the lab's time
        assert when is not None
        assert when >= clients.lab.now() + timedelta(hours=1) - timedelta(seconds=1)
        # … and so are the server's: every RAC it issued is remembered with its machine
        rac_ids = issued[:-1][0::3]
        machine = parse(bob_pc.machine_certificate_text or "")[0].principals[0].id
        assert all(after.root_cluster.rac_machines.get(i) == machine for i in rac_ids)
        # no GUID drawn twice: the server's documents, the licenses the commands issued
        held = [parse(text)[0].id or "" for client in after.clients.values()
                for account in client.accounts.values() for text in account.licenses.values()]
        lists = [parse(after.root_cluster.revocation_list or "")[0].id or ""]
    ids = issued + held + lists
    # held: bob's use license and alice's offline owner license (online publishing makes
    # no owner license, MS-RMPR 3.5.4.1)
    assert len(held) >= 2 and all(ids) and len(set(ids)) == len(ids), ids
    # what the service logged is in the lab's log file, and the commands see it
    status, output, _ = run("log", str(lab), "--json", "--kind", "client-enrollment")
    logged = [r["request_id"] for r in json.loads(output) if r["requester"] == str(bob)]
    assert status == 0 and logged == issued[:-1][1::3] + [issued[-1]]
    # the lab recorded how far the log goes when the server last wrote: rows deleted later
    # are noticed
    with sqlite3.connect(lab / "clusters/contoso-root/logging.sqlite") as db:
        db.execute("DELETE FROM enrollment_log WHERE request_id = ?", (issued[-1],))
    status, _, error = run("log", str(lab))
    assert status == 2 and "lost requests" in error


def test_reads_change_nothing_and_follow_the_lab(tmp_path: Path) -> None:
    """What only reads (the SLC, templates, published documents) is answered from the
    store's snapshot — no write transaction — and a command's change is served at once."""
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    store = LabStore(lab)

    def generation() -> int:
        with sqlite3.connect(lab / "lab.sqlite") as db:
            return int(db.execute("SELECT generation FROM store").fetchone()[0])

    with LoopbackService.of_lab(store) as http:
        before = generation()
        for _ in range(3):
            answer = soap(http.port, "/rms.contoso.example/_wmcs/licensing/server.asmx",
                          "ServerService", el("GetLicensorCertificate"))
            assert answer.status == 200 and "Server-Licensor-Certificate" in answer.text
        assert generation() == before
        assert run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "carol",
                   "--publish")[0] == 0
        with store.read() as after:
            [(url, text)] = after.web.published().items()
        assert HttpTransport(http.port).get(url) == text
        assert not http.application.internal_errors


def test_a_served_lab_answers_a_fault_when_it_cannot_be_used(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    clients = load_deployment(lab)
    bob = clients.user("bob")
    rac = clients.clients["BOB-PC"].account("bob").rac_text
    with LoopbackService.of_lab(LabStore(lab, timeout=0.2)) as http:
        certification = RemoteCertificationService.of(clients.root_cluster, http.port)
        with LabStore(lab).write() as held:  # a command holds the lab
            held.lab.advance(minutes=1)
            with pytest.raises(RmslabError, match="another command holds the lab"):
                certification.enroll_client(bob, "BOB-PC", rac, trace=Trace("enrollment"))
        # set back, the clock is refused as tampering, on every request
        with sqlite3.connect(lab / "lab.sqlite") as db:
            db.execute("UPDATE lab SET now = '2000-01-01T00:00:00Z'")
        assert run("log", str(lab))[0] == 2
        with pytest.raises(RmslabError, match="tampering"):
            certification.enroll_client(bob, "BOB-PC", rac, trace=Trace("enrollment"))
        answer = soap(http.port, "/rms.contoso.example/_wmcs/licensing/server.asmx",
                      "ServerService", el("GetLicensorCertificate"))  # a read too
        assert answer.status == 500 and "tampering" in answer.fault
        assert not http.application.internal_errors


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


def test_a_use_license_is_not_drawn_from_a_lab_whose_log_lost_rows(tmp_path: Path) -> None:
    """AcquireLicense is decided on the shared snapshot and draws its GUID under the
    lab's lock (MS-RMPR 3.4.4.1): the draw checks the logs against what the lab recorded
    of them, so a request log that lost rows is the request's fault — the lab's guard,
    as for any request served from the lab — and nothing is drawn."""
    from rmslab.service.soap import certificates_xml
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    clients = load_deployment(lab)
    bob = clients.user("bob")
    chain = publish_offline(clients.clients["ALICE-PC"], clients.user("alice"),
                            RightsPolicy((Grant(bob.email, ("VIEW",)),)), b"kept",
                            io.BytesIO()).publishing_license
    request = el("AcquireLicense", el("RequestParams", el(
        "AcquireLicenseParams",
        certificates_xml("LicenseeCerts", clients.clients["BOB-PC"].account("bob").rac_text),
        certificates_xml("IssuanceLicense", chain))))
    path = "/rms.contoso.example/_wmcs/licensing/license.asmx"
    with LoopbackService.of_lab(LabStore(lab, timeout=0.2)) as http:
        for _ in range(3):
            assert soap(http.port, path, "LicensingService", request).status == 200
        with LabStore(lab).read() as before:
            streams = before.lab.state()["streams"]
        with sqlite3.connect(lab / "clusters/contoso-root/logging.sqlite") as db:
            db.execute("DELETE FROM request_log WHERE id = (SELECT MAX(id) FROM request_log)")
            db.execute("DELETE FROM request_log WHERE id = (SELECT MAX(id) FROM request_log)")
        answer = soap(http.port, path, "LicensingService", request)
        assert answer.status == 500 and "lost requests" in answer.fault, answer.fault
        assert "publishing license" not in answer.fault
        assert not http.application.internal_errors
    with sqlite3.connect(lab / "lab.sqlite") as db:  # nothing drawn: the streams as they were
        rows = dict(db.execute("SELECT purpose, counter FROM streams").fetchall())
    assert rows == {name: position[0] for name, position in streams.items()}  # type: ignore[attr-defined]
