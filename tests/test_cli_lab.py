"""`rmslab lab create` and `rmslab log`.

covers: E-8, E-9
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rmslab.cli import main
from rmslab.store.disk import load_deployment


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_lab_create_and_log(tmp_path: Path) -> None:
    target = tmp_path / "lab"
    status, output = run("lab", "create", str(target), "--offline-enrollment")
    assert status == 0
    assert "offline enrollment" in output and "all passed" in output
    assert "client  ALICE-PC   activated; alice (RAC, CLC)" in output
    assert (target / "lab.sqlite").is_file() and not (target / "deployment.json").exists()
    deployment = load_deployment(target)
    assert set(deployment.clusters) == {"contoso-root", "contoso-licensing"}
    assert {c.name for c in deployment.clients.values()} == {"ALICE-PC", "BOB-PC", "CAROL-PC"}
    status, output = run("log", str(target), "--cluster", "contoso-root")
    assert status == 0 and "root-enrollment        accepted" in output and "(offline)" in output
    status, output = run("log", str(target), "--json", "--kind", "account-certification")
    rows = json.loads(output)
    assert [r["subject"] for r in rows] == ["alice@contoso.example", "bob@contoso.example",
                                            "carol@contoso.example"]
    # refuses to overwrite a lab, or a file
    assert run("lab", "create", str(target))[0] == 2
    (tmp_path / "file").write_text("mine")
    assert run("lab", "create", str(tmp_path / "file"))[0] == 2
    assert (tmp_path / "file").read_text() == "mine"
    assert run("log", str(tmp_path / "missing"))[0] == 2
    assert run("lab", "advance", str(tmp_path / "missing"), "--days", "1")[0] == 2


def test_mode_1_lab(tmp_path: Path) -> None:
    status, _ = run("lab", "create", str(tmp_path / "lab1"), "--mode", "1", "--seed", "0")
    assert status == 0
    deployment = load_deployment(tmp_path / "lab1")
    assert deployment.root_cluster.key.bits == 1024
    assert deployment.root_cluster.slc.digest_algorithm is not None
    assert deployment.root_cluster.slc.digest_algorithm.value == "SHA1"


def test_lab_clients_carry_a_registry_that_discovery_reads(tmp_path: Path) -> None:
    # covers: D-4, D-7 — the lab's clients are configured as an administrator would
    target = tmp_path / "lab"
    assert run("lab", "create", str(target))[0] == 0
    reg = target / "clients" / "BOB-PC" / "registry.reg"
    assert reg.read_bytes().startswith(b"\xff\xfe")  # UTF-16LE with BOM, as regedit writes
    status, output = run("discover", "--reg", str(reg), "--json")
    data = json.loads(output)
    assert status == 0 and data["source"] == "registry"
    assert data["licensing_url"] == "https://rms.contoso.example/_wmcs/licensing"
    loaded = load_deployment(target)
    assert loaded.clients["BOB-PC"].registry == load_deployment(target).clients["BOB-PC"].registry


def test_lab_renew_online_and_offline(tmp_path: Path) -> None:
    # covers: S-1, S-2, S-3, S-5, S-6 — rmslab lab renew
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab), "--enrollment-service")[0] == 0
    assert run("lab", "advance", str(lab), "--days", "100")[0] == 0
    status, output = run("lab", "renew", str(lab), "--cluster", "contoso-root")
    assert status == 0 and "online, from the enrollment service" in output
    assert "valid until 2027-04-15 09:00 UTC (was 2027-01-05 09:00 UTC)" in output
    assert run("lab", "renew", str(lab), "--cluster", "contoso-root", "--by", "bob")[0] == 3
    assert run("lab", "advance", str(lab), "--days", "1")[0] == 0
    # offline, unconfirmed: the files are in the lab, nothing is imported
    before = load_deployment(lab).root_cluster.slc_text
    status, output = run("lab", "renew", str(lab), "--cluster", "contoso-root", "--offline")
    assert status == 0 and "not imported" in output
    request, response = lab / "requests" / "RMS01RenewRequest.xml", \
        lab / "requests" / "RMS01RenewResponse.xml"
    assert request.is_file() and response.is_file()
    assert 'xmlns="http://microsoft.com/DRM/EnrollmentService"' in request.read_text()
    assert load_deployment(lab).root_cluster.slc_text == before
    # a changed request is refused (S-5); the saved response imports once confirmed
    request.write_text(request.read_text().replace("6.3.9600.0", "9.9.9.9"))
    assert run("lab", "renew", str(lab), "--cluster", "contoso-root", "--offline",
               "--request", str(request), "--yes")[0] == 3
    status, output = run("lab", "renew", str(lab), "--cluster", "contoso-root", "--offline",
                         "--response", str(response), "--yes")
    assert status == 0 and "offline, through request and response files" in output
    assert "valid until 2027-04-16 09:00 UTC" in output
    status, output = run("log", str(lab), "--json", "--kind", "slc-renewal")
    assert [(r["outcome"], r["spec_id"]) for r in json.loads(output)] == [
        ("accepted", None), ("refused", "S-1"), ("accepted", None), ("accepted", None),
        ("accepted", None), ("refused", "S-5")]
    assert run("lab", "renew", str(lab), "--cluster", "nowhere")[0] == 2


def test_lab_create_self_enrolls_by_default(tmp_path: Path) -> None:
    # covers: E-1 — MS-RMPR 1.3.1: a version 2.0 server (AD RMS) signs its own SLC and never
    # contacts the enrollment service ("the cloud service role is not used in RMS 2.0");
    # renewal likewise
    lab = tmp_path / "lab"
    status, output = run("lab", "create", str(lab))
    assert status == 0 and "self-enrollment" in output
    deployment = load_deployment(lab)
    assert deployment.root_cluster.self_enrolled
    status, output = run("lab", "renew", str(lab), "--cluster", "contoso-root")
    assert status == 0 and "signed with its self-enrollment key" in output
    assert run("lab", "renew", str(lab), "--cluster", "contoso-root", "--offline")[0] == 2
    subject = deployment.root_cluster.slc.principals[0]
    assert subject.name == "contoso-root"  # 2.2.9.3.3: self-enrolled, the server names itself
    assert run("lab", "create", str(tmp_path / "x"), "--enrollment-service",
               "--offline-enrollment")[0] == 2
    status, output = run("lab", "create", str(tmp_path / "y"), "--enrollment-service")
    assert status == 0 and "online enrollment with the enrollment service" in output
    assert load_deployment(tmp_path / "y").root_cluster.slc.principals[0].name is None
