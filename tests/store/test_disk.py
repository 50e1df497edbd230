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
