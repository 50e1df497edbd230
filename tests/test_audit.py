"""Auditing a deployment into a report with findings and a picture.

covers: A-2
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from rmslab.audit import audit_deployment
from rmslab.audit.findings import CHECKS
from rmslab.deployment import standard_deployment
from rmslab.errors import NotAdministratorError
from rmslab.flows import certify_account, renew_slc_online
from rmslab.flows.licensing import export_trusted_publishing_domain, import_trusted_publishing_domain
from rmslab.lab import Lab
from tests.clirun import run


def ids(report: object) -> list[str]:
    return [f["id"] for f in report.to_json()["findings"]]  # type: ignore[attr-defined]


def test_a_fresh_deployment_is_clean_but_for_revocation() -> None:
    report = audit_deployment(standard_deployment(Lab()), picture=False)
    assert ids(report) == ["RMS-007"]
    assert report.counts() == {"high": 0, "medium": 0, "low": 0, "info": 1}


def test_findings_of_a_neglected_deployment() -> None:
    deployment = standard_deployment(Lab(mode=1))
    root = deployment.root_cluster
    with pytest.raises(NotAdministratorError):
        renew_slc_online(deployment.enrollment_service, root, root.first_server,
                         by=deployment.user("bob"), directory=deployment.directory)
    client = deployment.add_client("KIOSK")
    from rmslab.flows import activate_machine
    activate_machine(client)
    certify_account(root, client, deployment.user("carol"), deployment.directory,
                    temporary=True)
    import_trusted_publishing_domain(
        deployment.clusters["contoso-licensing"],
        export_trusted_publishing_domain(root, "long password"), "long password")
    deployment.lab.advance(days=400)
    report = audit_deployment(deployment, picture=False)
    found = set(ids(report))
    assert {"RMS-001", "RMS-002", "RMS-003", "RMS-004", "RMS-005", "RMS-006"} <= found
    expired = [f for f in report.findings if f.id == "RMS-002"]
    assert all(f.severity == "high" and "expired" in f.detail for f in expired)
    assert set(CHECKS) >= found


def test_cli_audit_json_and_html(tmp_path: Path) -> None:
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    status, output, _ = run("audit", lab, "--json", "--html", str(tmp_path / "audit.html"))
    data = json.loads(output)
    assert status == 0 and data["counts"]["high"] == 0
    assert [f["id"] for f in data["findings"]] == ["RMS-007"]
    page = (tmp_path / "audit.html").read_text()
    assert "<svg" in page and "RMS-007" in page
    later = (Lab().now() + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    status, output, _ = run("audit", lab, "--at", later)
    assert status == 1 and "RMS-002 high" in output
