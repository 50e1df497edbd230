"""The lab on disk: save, load, continue — and the layout mirrors the deployment.

covers: E-8, D-3
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import InputError
from rmslab.flows import enroll_client, renew_slc_online
from rmslab.store.disk import load_deployment, save_deployment


def test_layout(deployment: Deployment, tmp_path: Path) -> None:
    target = save_deployment(deployment, tmp_path / "lab")
    assert (target / "deployment.json").is_file() and (target / "anchor.pem").is_file()
    assert (target / "clusters/contoso-root/slc.xml").is_file()
    assert (target / "clusters/contoso-root/cluster-key.pem").is_file()
    store = target / "clients/ALICE-PC/C/Users/alice/AppData/Local/Microsoft/MSIPC"
    assert sorted(p.name for p in store.iterdir() if p.is_file()) == [
        "CLC-alice@contoso.example.drm", "GIC-alice@contoso.example.drm"]
    assert sorted(p.name for p in (store / "Templates").iterdir()) == [
        "Contoso-Confidential.xml", "Contoso-ViewOnly.xml"]
    rows = sqlite3.connect(target / "clusters/contoso-root/logging.sqlite").execute(
        "SELECT kind, outcome FROM enrollment_log ORDER BY id").fetchall()
    assert rows[0] == ("root-enrollment", "accepted") and len(rows) == 9
    assert not list(target.parent.glob(".lab*"))  # no staging left behind
    assert not any("PRIVATE" in p.read_text(errors="ignore")
                   for p in (target / "enrollment-service").iterdir() if p.suffix != ".sqlite")


def test_round_trip_and_continue_deterministically(deployment: Deployment, tmp_path: Path) -> None:
    save_deployment(deployment, tmp_path / "lab")
    loaded = load_deployment(tmp_path / "lab")
    assert loaded.root_cluster.slc_text == deployment.root_cluster.slc_text
    assert loaded.clients["ALICE-PC"].clc_key("alice").public == \
        deployment.clients["ALICE-PC"].clc_key("alice").public
    # the same next step in both gives the same documents: the lab state was saved
    for d in (deployment, loaded):
        enroll_client(d.root_cluster, d.clients["BOB-PC"], d.user("bob"))
    assert loaded.clients["BOB-PC"].account("bob").clc_text == \
        deployment.clients["BOB-PC"].account("bob").clc_text
    # and the log continues in the saved database file
    renew_slc_online(loaded.enrollment_service, loaded.root_cluster,
                     loaded.root_cluster.first_server, by=loaded.user("rmsadmin"),
                     directory=loaded.directory)
    assert loaded.root_cluster.log.entries()[-1].kind == "slc-renewal"
    save_deployment(loaded, tmp_path / "lab")
    again = load_deployment(tmp_path / "lab")
    assert len(again.root_cluster.previous_slcs) == 1
    assert [e.kind for e in again.root_cluster.log.entries()][-2:] == ["client-enrollment",
                                                                       "slc-renewal"]


def test_not_a_lab(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        load_deployment(tmp_path)
    (tmp_path / "deployment.json").write_text("{ nope")
    with pytest.raises(InputError, match="line 1"):
        load_deployment(tmp_path)


def test_an_incomplete_lab_is_named(deployment: Deployment, tmp_path: Path) -> None:
    (tmp_path / "deployment.json").write_text('{"format": 1}')
    with pytest.raises(InputError, match="not a complete rmslab lab"):
        load_deployment(tmp_path)
    target = save_deployment(deployment, tmp_path / "lab")
    (target / "clusters/contoso-root/cluster-key.pem").unlink()
    with pytest.raises(InputError, match="cannot be read"):
        load_deployment(target)


def test_licensing_policies_are_kept(deployment: Deployment, tmp_path: Path) -> None:
    # MS-RMPR 3.1.1.1.1: the cluster's policies survive save and load
    import json

    from rmslab.actors.cluster import ApplicationExclusion
    from rmslab.flows.licensing import (exclude_account, exclude_application,
                                        set_super_user_group, trust_user_domain)
    from rmslab.flows.publishing import archive_template
    root = deployment.root_cluster
    licensing = deployment.clusters["contoso-licensing"]
    deployment.directory.add_group("rms-superusers", members={"carol"})
    set_super_user_group(root, "rms-superusers@contoso.example")
    exclude_account(root, deployment.clients["BOB-PC"].account_key("bob").public)
    exclude_application(root, ApplicationExclusion("old.exe", "1.0", "2.0"))
    archive_template(root, "Contoso-ViewOnly")
    assert licensing.slc_text is not None
    trust_user_domain(root, licensing.slc_text, name="../../escape")
    save_deployment(deployment, tmp_path / "lab")
    assert not (tmp_path / "escape").exists()
    loaded = load_deployment(tmp_path / "lab").root_cluster
    assert str(loaded.configuration()) == str(root.configuration())
    assert loaded.trusted_user_domains == root.trusted_user_domains
    assert loaded.archived_templates == root.archived_templates
    assert loaded.directory is not None and loaded.directory.is_principal_member_of(
        "carol@contoso.example", ["rms-superusers@contoso.example"])
    # a manifest that names another file for a numbered one is refused
    manifest = tmp_path / "lab" / "deployment.json"
    data = json.loads(manifest.read_text())
    data["clusters"][0]["trusted_user_domains"][0]["file"] = "../../deployment.json"
    manifest.write_text(json.dumps(data))
    with pytest.raises(InputError, match="not a numbered file name"):
        load_deployment(tmp_path / "lab")
