"""Every request to every service, one row in the logging database of the cluster it was
for (the enrollment service's log for Enroll): the lab's time, service, operation, the
account that signed in or anonymous, client, outcome, exception name, HTTP status,
duration — written before the answer leaves, so an answer whose row cannot be written
is not sent (a fault says so). Repeated UnauthorizedAccess faults are an audit finding
(RMS-019).

covers: E-8, E-9, A-2 (MS-RMPR 3.1.1.1.5, 3.1.4.3, 3.1.4.5)
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

from rmslab.deployment import Deployment
from rmslab.service import LoopbackService
from rmslab.service.soap import certificates_xml, el
from rmslab.store.disk import load_deployment
from rmslab.store.labdb import LabStore
from tests.clirun import run
from tests.service.wire import DRM, login, post, soap

ROOT = "/rms.contoso.example/_wmcs"
ENROLL = "/enroll.rmslab.example/enrollment/enrollservice.asmx"


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    target = tmp_path / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


@pytest.fixture()
def served(lab: Path) -> Iterator[LoopbackService]:
    with LoopbackService.of_lab(LabStore(lab)) as service:
        yield service
        assert service.application.internal_errors == []


def _rows(lab: Path, log: str = "contoso-root") -> list[dict[str, object]]:
    status, output, error = run("log", str(lab), "--requests", "--cluster", log, "--json")
    assert status == 0, error
    return list(json.loads(output))


def _certify(clients: Deployment) -> object:
    machine = clients.clients["BOB-PC"].machine_certificate_text
    return el("Certify", el("requestParams", certificates_xml("MachineCertificateChain",
                                                              machine),
                            el("Persistent", "true")))


def test_every_request_to_a_service_is_one_row(lab: Path, served: LoopbackService) -> None:
    clients = load_deployment(lab)
    bob = clients.user("bob")
    certify = f"{ROOT}/certification/certification.asmx"
    assert soap(served.port, f"{ROOT}/licensing/server.asmx", "ServerService",
                el("GetLicensorCertificate")).status == 200
    assert soap(served.port, certify, "CertificationService", _certify(clients),
                headers=login(clients.lab, bob)).status == 200
    assert soap(served.port, certify, "CertificationService", _certify(clients),
                headers={"Authorization": "Basic Ym9iOm5vdC1oaXMtcGFzc3dvcmQ="}).status == 500
    assert post(served.port, f"{ROOT}/licensing/license.asmx", b"not xml").status == 400
    assert post(served.port, f"{ROOT}/licensing/license.asmx",
                b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
                b"<x/></e:Body></e:Envelope>").status == 500
    # not requests to a service: nothing logged
    assert post(served.port, f"{ROOT}/licensing/nothing.asmx", b"<a/>").status == 404
    assert post(served.port, "/nowhere.example/x.asmx", b"<a/>").status == 404
    rows = _rows(lab)
    assert [(r["service"], r["operation"], r["account"], r["outcome"], r["status"],
             r["exception"]) for r in rows] == [
        ("Server", "GetLicensorCertificate", "anonymous", "answered", 200, None),
        ("Certification", "Certify", "CONTOSO\\bob", "answered", 200, None),
        ("Certification", "Certify", "anonymous", "fault", 500,
         "System.UnauthorizedAccessException"),
        ("License", "-", "anonymous", "rejected", 400, "soap:Client"),
        ("License", "-", "anonymous", "rejected", 500, "soap:VersionMismatch"),
    ]
    assert rows[1]["sid"] == bob.sid and rows[0]["sid"] is None
    assert "wrong password" in str(rows[2]["detail"])
    assert all(r["at"] == "2026-01-05T09:00" and r["client"] == "127.0.0.1"
               and isinstance(r["duration_ms"], float) and r["duration_ms"] > 0 for r in rows)
    assert _rows(lab, "contoso-licensing") == []
    # Enroll is the enrollment service's: logged in its own log
    assert soap(served.port, ENROLL, "EnrollmentService", el("Enroll")).status == 500
    [enroll] = _rows(lab, "enrollment-service")
    assert (enroll["service"], enroll["operation"], enroll["outcome"]) == ("Enroll", "Enroll",
                                                                         "fault")
    assert enroll["exception"] == "System.ArgumentNullException"


def test_the_in_memory_server_logs_into_the_deployments_logs(deployment: Deployment) -> None:
    log = deployment.clusters["contoso-licensing"].log
    before = len(log.requests())
    with LoopbackService.of(deployment) as served:
        answer = soap(served.port, "/licensing.contoso.example/_wmcs/licensing/server.asmx",
                      "ServerService", el("GetLicensorCertificate"))
    assert answer.status == 200
    [row] = log.requests()[before:]
    assert (row.operation, row.outcome, row.account) == ("GetLicensorCertificate", "answered",
                                                         "anonymous")


def test_an_answer_whose_row_cannot_be_written_is_not_sent(lab: Path,
                                                           served: LoopbackService) -> None:
    with sqlite3.connect(lab / "clusters/contoso-root/logging.sqlite") as db:
        db.execute("CREATE TRIGGER no_rows BEFORE INSERT ON request_log "
                   "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END")
    answer = soap(served.port, f"{ROOT}/licensing/server.asmx", "ServerService",
                  el("GetLicensorCertificate"))
    assert answer.status == 500 and "<XrML" not in answer.text
    assert answer.fault.startswith("Microsoft.DigitalRightsManagement.Utilities."
                                   "UnspecifiedErrorException")
    assert "cannot be logged" in answer.fault and "the disk is full" in answer.fault


def test_repeated_unauthorized_requests_are_an_audit_finding(lab: Path,
                                                             served: LoopbackService) -> None:
    clients = load_deployment(lab)
    certify = f"{ROOT}/certification/certification.asmx"

    def findings() -> list[dict[str, str]]:
        status, output, _ = run("audit", str(lab), "--json")
        return [f for f in json.loads(output)["findings"] if f["id"] == "RMS-019"]

    for attempt in range(3):
        assert soap(served.port, certify, "CertificationService", _certify(clients),
                    headers={"Authorization": "Basic Ym9iOm5vdC1oaXMtcGFzc3dvcmQ="}
                    ).status == 500
        assert findings() == [] or attempt == 2
    [finding] = findings()
    assert finding["severity"] == "medium" and finding["subject"] == "cluster contoso-root"
    assert "3 requests by anonymous from 127.0.0.1 refused as unauthorized (Certify)" in \
        finding["detail"]
    assert DRM  # the namespaces the requests above were written in
