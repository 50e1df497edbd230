"""``rmslab discover``: options, JSON schema, exit statuses.

covers: D-7, D-9, D-6, D-4, D-3
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from rmslab.cli import main
from rmslab.discovery.samples import content_license
from rmslab.discovery.services import ILS_HOST
from rmslab.lab import Lab

REPO = Path(__file__).resolve().parents[2]
REG, LDIF = REPO / "data" / "registry", REPO / "data" / "directory"
LICENSE = REPO / "data" / "licenses" / "contoso-old-cluster-document.xml"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["discover", *args], out=out), out.getvalue()


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    status, text = run(*args, "--json")
    return status, json.loads(text)


# covers: D-7
def test_registry_override_as_json() -> None:
    status, data = run_json("--reg", str(REG / "contoso-new-cluster-service-location.reg"),
                            "--ldif", str(LDIF / "contoso-forest-scp.ldf"))
    assert status == 0
    assert {"certification_url", "licensing_url", "source", "trace"} <= set(data)
    assert data["source"] == "registry"
    assert data["certification_url"] == "https://rms.contoso.com/_wmcs/Certification"
    assert data["licensing_url"] == "https://rms.contoso.com/_wmcs/Licensing"
    assert isinstance(data["trace"], list) and data["trace"][0]["action"] == \
        "reads its RMS settings from the registry"
    assert data["error"] is None


# covers: D-7
def test_scp_and_cloud_sources() -> None:
    _, scp = run_json("--reg", str(REG / "ws-fresh-client.reg"),
                      "--ldif", str(LDIF / "contoso-forest-scp.ldf"))
    assert scp["source"] == "scp"
    _, cloud = run_json("--reg", str(REG / "ws-fresh-client.reg"))
    assert cloud["source"] == "cloud"
    reasons = [c["reason"] for s in cloud["trace"] for c in s["checks"] if not c["passed"]]
    assert "neither the registry nor an SCP names an AD RMS server" in reasons


# covers: D-9
def test_consume_with_licensing_redirection_after_the_merger() -> None:
    status, data = run_json("--reg", str(REG / "fabrikam-merger-licensing-redirection.reg"),
                            "--ldif", str(LDIF / "fabrikam-forest-scp.ldf"),
                            "--for", "consume", "--license", str(LICENSE))
    assert status == 0 and data["source"] == "license"
    assert data["licensing_url"] == "https://adrms.fabrikam.com/_wmcs/licensing"
    assert data["redirected_from"] == "https://corprights/_wmcs/licensing"


# covers: D-4, D-3
def test_later_reg_files_win_and_app_bits_and_mode_are_honoured() -> None:
    _, data = run_json("--reg", str(REG / "contoso-new-cluster-service-location-32bit.reg"),
                       "--ldif", str(LDIF / "contoso-forest-scp.ldf"), "--app-bits", "32",
                       "--mode", "server")
    assert data["source"] == "registry"
    assert data["machine"] == ("client: server mode (service account S-1-5-20), 32-bit "
                               "application on 64-bit Windows")
    _, data = run_json("--reg", str(REG / "contoso-new-cluster-service-location.reg"),
                       "--reg", str(REG / "contoso-migration-cleanup.reg"),
                       "--ldif", str(LDIF / "contoso-forest-scp.ldf"))
    assert data["source"] == "scp"  # the cleanup deleted the override
    assert data["licensing_url"] == "https://rms.contoso.com/_wmcs/licensing"  # redirected


# covers: D-6
def test_text_output_shows_the_trace() -> None:
    status, text = run("--reg", str(REG / "contoso-kiosk-trusted-servers.reg"),
                       "--ldif", str(LDIF / "contoso-forest-scp.ldf"),
                       "--for", "consume", "--license", str(LICENSE))
    assert status == 0
    assert "  source         registry" in text
    assert "not on the TrustedServers list" in text
    assert "✓ the client may contact rms.contoso.com [D-6]" in text


# covers: D-4
def test_failed_discovery_exits_4_with_the_reason(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ils = tmp_path / "ils.xml"
    ils.write_text(content_license(Lab(), intranet=f"https://{ILS_HOST}/_wmcs/licensing",
                                   extranet=None).text, encoding="utf-8")
    status, data = run_json("--reg", str(REG / "contoso-client-settings.reg"),
                            "--for", "consume", "--license", str(ils))
    assert status == 4
    assert data["source"] is None and data["error"]["hresult"] == "0x800704EC"
    err = capsys.readouterr().err
    assert err.startswith("rmslab: the content is protected by the ILS service")
    assert "ERROR_ACCESS_DISABLED_BY_POLICY" in err


# covers: D-4
def test_malformed_input_exits_2_naming_the_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.reg"
    bad.write_bytes(b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=dword:xyz\r\n")
    assert run("--reg", str(bad))[0] == 2
    assert capsys.readouterr().err.startswith("rmslab: bad.reg, line 4: 'dword:xyz' is not a dword")
    ldif = tmp_path / "bad.ldf"
    ldif.write_text("dn: cn=a\nobjectClass\n")
    assert run("--reg", str(REG / "ws-fresh-client.reg"), "--ldif", str(ldif))[0] == 2
    assert capsys.readouterr().err.startswith("rmslab: bad.ldf, line 2: ")


def test_option_combinations(capsys: pytest.CaptureFixture[str]) -> None:
    fresh = str(REG / "ws-fresh-client.reg")
    assert run("--reg", fresh, "--for", "consume")[0] == 2
    assert "--for consume needs --license" in capsys.readouterr().err
    assert run("--reg", fresh, "--license", str(LICENSE))[0] == 2
    assert "--license goes with --for consume" in capsys.readouterr().err


# covers: D-7, D-4
def test_without_reg_the_registry_is_empty_and_discovery_goes_on() -> None:
    """No --reg: a machine whose registry holds no RMS settings (the default case). The
    registry names nothing, so the SCP comes next, then the cloud service (D-7)."""
    status, data = run_json()
    assert status == 0 and data["source"] == "cloud"
    assert [a["source"] for a in data["attempts"]] == ["registry", "scp", "cloud"]
    assert data["attempts"][0]["outcome"] == "not found"
    assert data["attempts"][0]["reason"] == ("EnterpriseCertification and "
                                             "EnterprisePublishing are not set")
    status, data = run_json("--ldif", str(LDIF / "contoso-forest-scp.ldf"))
    assert status == 0 and data["source"] == "scp"
    assert data["certification_url"] == "https://corprights.contoso.com/_wmcs/certification"
    # an empty registry answers as the fresh client's exported one does
    _, fresh = run_json("--reg", str(REG / "ws-fresh-client.reg"),
                        "--ldif", str(LDIF / "contoso-forest-scp.ldf"))
    assert {k: fresh[k] for k in ("source", "certification_url", "licensing_url")} == \
        {k: data[k] for k in ("source", "certification_url", "licensing_url")}


# covers: D-7
def test_without_reg_scp_or_cloud_discovery_fails_with_4_and_the_reason(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, data = run_json("--no-cloud")
    assert status == 4 and data["source"] is None
    err = capsys.readouterr().err
    assert err.startswith("rmslab: on-premises discovery failed: neither the registry nor an "
                          "SCP in Active Directory names an AD RMS server")
    assert "no cloud service for this user [D-7]" in err
    # consuming, the server the content's license names comes first and needs no registry
    status, data = run_json("--no-cloud", "--for", "consume", "--license", str(LICENSE))
    assert status == 0 and data["source"] == "license"
