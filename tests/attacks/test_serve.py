"""`rmslab serve` as an administrator runs it, and `rmslab probe` as an auditor runs it
against it (issue 13: serve, probe): every service URL of MS-RMPR 3.1.4.2 printed and
answered by Host header and by /HOST/ prefix; a clean stop on SIGTERM and SIGINT; the
probe's verdicts, findings and exit statuses; bad input is a clear error, exit 2.

covers: A-1, A-2, E-8 (MS-RMPR 3.1.4.2, 3.1.4.3, 3.4.4.2, 3.7.4.1–3.7.4.3)
"""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from rmslab.service.serve import CLUSTER_ENDPOINTS, ENROLLMENT_ENDPOINTS
from rmslab.service.soap import el
from tests.attacks.serving import ServeProcess
from tests.clirun import run
from tests.service.wire import post, soap

LAB_TIME = "2026-01-05T09:00"
ROOT = "rms.contoso.example/_wmcs"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("served") / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


@pytest.fixture(scope="module")
def server(lab: Path) -> ServeProcess:
    with ServeProcess(lab) as process:
        yield process  # type: ignore[misc]
    assert "Traceback" not in process.stderr


def _password(lab: Path, user: str) -> str:
    status, output, _ = run("lab", "users", str(lab), "--json")
    assert status == 0
    return next(u["password"] for u in json.loads(output)["users"] if u["user"] == user)


def test_serve_lists_every_service_and_answers_by_host_and_by_prefix(lab: Path) -> None:
    with ServeProcess(lab) as served:
        listing = served.stdout
        for host in ("rms.contoso.example", "licensing.contoso.example"):
            assert f"https://{host}/_wmcs" in listing
            assert f"{served.origin}/{host}/_wmcs/" in listing
        for path, operations in CLUSTER_ENDPOINTS + ENROLLMENT_ENDPOINTS:
            assert path in listing and operations[0] in listing
        assert f"rmslab lab users {lab}" in listing and "--requests" in listing
        by_prefix = soap(served.port, f"/{ROOT}/licensing/server.asmx", "ServerService",
                         el("GetLicensorCertificate"))
        by_host = soap(served.port, "/_wmcs/licensing/Server.asmx", "ServerService",
                       el("GetLicensorCertificate"),
                       headers={"Host": "rms.contoso.example"})
        assert by_prefix.status == by_host.status == 200
        assert "Server-Licensor-Certificate" in by_host.text and by_prefix.body == by_host.body
        assert served.stop(signal.SIGTERM) == 0
    assert "stopped after answering 2 service request(s)" in served.stdout
    assert "Traceback" not in served.stderr
    status, output, _ = run("log", str(lab), "--requests", "--cluster", "contoso-root",
                            "--json")
    rows = json.loads(output)
    assert status == 0 and [r["operation"] for r in rows[-2:]] == ["GetLicensorCertificate"] * 2
    # SIGINT (Ctrl-C) stops it as cleanly
    with ServeProcess(lab) as served:
        assert served.stop(signal.SIGINT) == 0
    assert "stopped after answering 0" in served.stdout and "Traceback" not in served.stderr


def test_serve_refuses_what_it_cannot_do(lab: Path, tmp_path: Path) -> None:
    status, _, error = run("serve", "--lab", str(tmp_path / "nowhere"), "--port", "0")
    assert status == 2 and "no such lab directory" in error
    status, _, error = run("serve", "--lab", str(lab), "--port", "70000")
    assert status == 2 and "--port 70000" in error
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, error = run("serve", "--lab", str(lab), "--port", str(port))
    assert status == 2 and f"cannot listen on 127.0.0.1:{port}" in error
    assert "Traceback" not in error


def test_probe_shows_the_server_and_its_verified_slc_chain(lab: Path,
                                                           server: ServeProcess) -> None:
    url = f"{server.origin}/{ROOT}"
    status, output, error = run("probe", url, "--anchor", str(lab / "anchor.pem"), "--at",
                                LAB_TIME, "--user", "alice", "--password",
                                _password(lab, "alice"))
    assert status == 0, error
    for operation in ("GetServerInfo", "GetLicensorCertificate",
                      "FindServiceLocationsForUser", "AcquireTemplateInformation"):
        assert f"  {operation}" in output and "answered" in output
    assert "server version 6.3.9600.0" in output
    assert "chain VALID AND ANCHORED" in output and "[ok] #0 server licensor certificate" in output
    assert "EnrollmentService      https://enroll.rmslab.example" in output
    assert "templates: 1" in output
    assert "RMS-017 medium" in output and "plain HTTP" in output  # a lab speaks HTTP
    # what the probe asked is in the cluster's request log, alice's request as hers
    status, logged, _ = run("log", str(lab), "--requests", "--cluster", "contoso-root",
                            "--json")
    rows = json.loads(logged)
    asked = [r for r in rows if r["operation"] == "FindServiceLocationsForUser"]
    assert asked[-1]["account"] == "CONTOSO\\alice" and asked[-1]["outcome"] == "answered"
    assert asked[-1]["sid"].startswith("S-1-5-21-")


def test_probe_json(lab: Path, server: ServeProcess) -> None:
    status, output, _ = run("probe", f"{server.origin}/{ROOT}", "--anchor",
                            str(lab / "anchor.pem"), "--at", LAB_TIME, "--json")
    data = json.loads(output)
    assert status == 0 and data["schema"] == 1
    assert [s["outcome"] for s in data["steps"]] == ["answered"] * 3  # no user: no locations
    assert data["user_service_locations"] is None
    assert data["slc"]["verdict"] == "valid" and data["slc"]["anchored"]
    assert data["server"]["service_locations"]["LicensingService"] == \
        "https://rms.contoso.example/_wmcs/licensing"
    assert len(data["templates"]["templates"]) == 1
    assert [f["id"] for f in data["findings"]] == ["RMS-017"]


def test_probe_findings_and_exit_statuses(lab: Path, server: ServeProcess,
                                          tmp_path: Path) -> None:
    url = f"{server.origin}/{ROOT}"
    # no pinned root: the chain is consistent but nothing vouches for it
    status, output, _ = run("probe", url, "--at", LAB_TIME)
    assert status == 0 and "chain NOT ANCHORED" in output and "RMS-018 medium" in output
    # another root pinned: the chain does not end at it — high
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pinned = tmp_path / "other.pem"
    pinned.write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    status, output, _ = run("probe", url, "--anchor", str(pinned), "--at", LAB_TIME)
    assert status == 1 and "RMS-001 high" in output and "issuer-key-not-found" in output
    # years later: the SLC has expired
    status, output, _ = run("probe", url, "--anchor", str(lab / "anchor.pem"), "--at",
                            "2040-01-01T00:00")
    assert status == 1 and "RMS-002 high" in output and "chain EXPIRED" in output
    # a wrong password: the server refuses FindServiceLocationsForUser — exit 3
    status, output, _ = run("probe", url, "--at", LAB_TIME, "--user", "alice", "--password",
                            "not-her-password")
    assert status == 3 and "UnspecifiedErrorException" in output
    # nothing listens: exit 4; not a service: 2; not a URL: 2
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    status, _, error = run("probe", f"http://127.0.0.1:{port}/{ROOT}")
    assert status == 4 and "no answer" in error
    status, _, error = run("probe", f"{server.origin}/nowhere.example/_wmcs")
    assert status == 2 and "not a SOAP answer" in error
    status, _, error = run("probe", "ftp://rms.contoso.example/_wmcs")
    assert status == 2 and "not an http(s) URL" in error
    status, _, error = run("probe", url, "--user", "alice")
    assert status == 2 and "go together" in error


def test_probe_sees_mode_1(tmp_path: Path) -> None:
    lab = tmp_path / "lab1"
    assert run("lab", "create", str(lab), "--mode", "1")[0] == 0
    with ServeProcess(lab) as served:
        status, output, _ = run("probe", f"{served.origin}/{ROOT}", "--anchor",
                                str(lab / "anchor.pem"), "--at", LAB_TIME)
    assert status == 0 and "RMS-003 medium" in output and "RSA-1024" in output


def test_a_host_the_lab_does_not_have_is_not_answered(server: ServeProcess) -> None:
    answer = post(server.port, "/_wmcs/licensing/server.asmx", b"<a/>",
                  headers={"Host": "evil.example"})
    assert answer.status == 404


def test_sigterm_stops_the_server_while_connections_come_and_go(lab: Path) -> None:
    """A SIGTERM that lands while waitress handles a connection (not only while it waits
    in select) still stops the server: the signal's exception is one the server's loop
    passes on, never one a channel's error handler swallows."""
    import threading
    import time

    for delay in (0.05, 0.2, 0.4, 0.7):
        with ServeProcess(lab) as served:
            done = threading.Event()

            def churn() -> None:
                while not done.is_set():
                    try:
                        with socket.create_connection(("127.0.0.1", served.port), 2) as s:
                            s.sendall(b"GET / HTTP/1.1\r\nHost: rms.contoso.example\r\n\r\n")
                            s.recv(64)
                    except OSError:
                        pass
            workers = [threading.Thread(target=churn, daemon=True) for _ in range(6)]
            for worker in workers:
                worker.start()
            time.sleep(delay)
            try:
                assert served.stop(signal.SIGTERM, timeout=15) == 0
            finally:
                done.set()
                for worker in workers:
                    worker.join(5)
            assert "Traceback" not in served.stderr
