"""The lab on disk: a SQLite database for the state, files people look at beside it, a
deployment saved, loaded and continued — and the layout mirrors the deployment.

covers: E-8, D-3
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import InputError
from rmslab.flows import enroll_client, renew_slc_online
from rmslab.store.disk import client_store, load_deployment, save_deployment
from rmslab.store.labdb import LabStore


def test_layout(deployment: Deployment, tmp_path: Path) -> None:
    target = save_deployment(deployment, tmp_path / "lab")
    assert (target / "lab.sqlite").is_file() and (target / "anchor.pem").is_file()
    assert not (target / "deployment.json").exists()
    assert (target / "clusters/contoso-root/slc.xml").is_file()
    store = client_store(target, "ALICE-PC", "alice")
    assert store == target / "clients/ALICE-PC/C/Users/alice/AppData/Local/Microsoft/MSIPC"
    assert sorted(p.name for p in store.iterdir() if p.is_file()) == [
        "CLC-alice@contoso.example.drm", "GIC-alice@contoso.example.drm"]
    assert sorted(p.name for p in (store / "Templates").iterdir()) == [
        "Contoso-Confidential.xml"]
    rows = sqlite3.connect(target / "clusters/contoso-root/logging.sqlite").execute(
        "SELECT kind, outcome FROM enrollment_log ORDER BY id").fetchall()
    assert rows[0] == ("root-enrollment", "accepted") and len(rows) == 6
    assert not list(target.parent.glob(".lab*"))  # no staging left behind
    # the lab's keys live in the database only, which only its owner may read
    assert not any("PRIVATE" in p.read_text(errors="ignore")
                   for p in target.rglob("*") if p.is_file() and p.suffix != ".sqlite")
    assert stat.S_IMODE((target / "lab.sqlite").stat().st_mode) == 0o600
    db = sqlite3.connect(target / "lab.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM secrets").fetchone()[0] == 5  # 2 clusters, 3 machines
    for log in ("clusters/contoso-root/logging.sqlite", "enrollment-service/log.sqlite"):
        assert sqlite3.connect(target / log).execute(
            "PRAGMA journal_mode").fetchone()[0] == "wal"


def test_round_trip_and_continue_deterministically(deployment: Deployment, tmp_path: Path) -> None:
    save_deployment(deployment, tmp_path / "lab")
    loaded = load_deployment(tmp_path / "lab")
    assert loaded.root_cluster.slc_text == deployment.root_cluster.slc_text
    assert loaded.clients["ALICE-PC"].clc_key("alice").public == \
        deployment.clients["ALICE-PC"].clc_key("alice").public
    assert loaded.clients["BOB-PC"].registry == deployment.clients["BOB-PC"].registry
    # the same next step in both gives the same documents: the lab state was saved
    store = LabStore(tmp_path / "lab")
    with store.write() as kept:
        for d in (deployment, kept):
            enroll_client(d.root_cluster, d.clients["BOB-PC"], d.user("bob"))
        assert kept.clients["BOB-PC"].account("bob").clc_text == \
            deployment.clients["BOB-PC"].account("bob").clc_text
        # and the log continues in the lab's database file
        renew_slc_online(kept.enrollment_service, kept.root_cluster,
                         kept.root_cluster.first_server, by=kept.user("rmsadmin"),
                         directory=kept.directory)
    again = load_deployment(tmp_path / "lab")
    assert len(again.root_cluster.previous_slcs) == 1
    assert (tmp_path / "lab/clusters/contoso-root/previous-slc-1.xml").read_text() == \
        again.root_cluster.previous_slcs[0]
    assert [e.kind for e in again.root_cluster.log.entries()][-2:] == ["client-enrollment",
                                                                       "slc-renewal"]
    assert (client_store(tmp_path / "lab", "BOB-PC", "bob") / "CLC-bob@contoso.example.drm"
            ).read_text() == again.clients["BOB-PC"].account("bob").clc_text


def test_not_a_lab(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an rmslab lab"):
        load_deployment(tmp_path)
    with pytest.raises(InputError, match="no such lab directory"):
        load_deployment(tmp_path / "missing")
    (tmp_path / "lab.sqlite").write_bytes(b"garbage" * 100)
    with pytest.raises(InputError, match="lab.sqlite"):
        load_deployment(tmp_path)


def test_a_lab_of_the_older_layout_is_named(tmp_path: Path) -> None:
    (tmp_path / "deployment.json").write_text('{"format": 1}')
    with pytest.raises(InputError, match="older rmslab.*rmslab lab create"):
        load_deployment(tmp_path)


def test_an_incomplete_lab_is_named(deployment: Deployment, tmp_path: Path) -> None:
    target = save_deployment(deployment, tmp_path / "lab")
    with sqlite3.connect(target / "lab.sqlite") as db:
        db.execute("DELETE FROM secrets WHERE holder = 'cluster:contoso-root'")
    with pytest.raises(InputError, match="no key for cluster:contoso-root"):
        load_deployment(target)
    with sqlite3.connect(target / "lab.sqlite") as db:
        db.execute("DELETE FROM clusters WHERE name = 'contoso-root'")
    with pytest.raises(InputError, match="inconsistent"):
        load_deployment(target)


def test_a_damaged_key_is_noticed(deployment: Deployment, tmp_path: Path) -> None:
    target = save_deployment(deployment, tmp_path / "lab")
    with sqlite3.connect(target / "lab.sqlite") as db:
        der = db.execute("SELECT der FROM secrets WHERE holder = 'machine:BOB-PC'").fetchone()[0]
        db.execute("UPDATE secrets SET der = ? WHERE holder = 'machine:BOB-PC'",
                   (der[:-1] + bytes([der[-1] ^ 1]),))
    with pytest.raises(InputError, match="key of machine:BOB-PC.*damaged"):
        load_deployment(target)


def test_create_refuses_a_directory_in_use(deployment: Deployment, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        save_deployment(deployment, tmp_path / "used")
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert (save_deployment(deployment, tmp_path / "empty") / "lab.sqlite").is_file()


def test_licensing_policies_are_kept(deployment: Deployment, tmp_path: Path) -> None:
    # MS-RMPR 3.1.1.1.1: the cluster's policies survive save and load, in the lab's tables
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
    exclude_application(root, ApplicationExclusion("older.exe", "0.1", "0.9"))
    archive_template(root, "Contoso-Confidential")
    assert licensing.slc_text is not None
    trust_user_domain(root, licensing.slc_text, name="../../escape")
    target = save_deployment(deployment, tmp_path / "lab")
    assert not (tmp_path / "escape").exists()
    loaded = load_deployment(target).root_cluster
    assert str(loaded.configuration()) == str(root.configuration())
    assert loaded.trusted_user_domains == root.trusted_user_domains
    assert loaded.archived_templates == root.archived_templates
    assert loaded.application_exclusions == root.application_exclusions  # in their order
    assert loaded.rac_machines == root.rac_machines and loaded.rac_machines
    assert loaded.directory is not None and loaded.directory.is_principal_member_of(
        "carol@contoso.example", ["rms-superusers@contoso.example"])
    # the files people look at: the archived template by its (checked) name, the trusted
    # user domain under a name the store chose — its label never becomes a path
    base = target / "clusters/contoso-root"
    assert (base / "archived-templates/Contoso-Confidential.xml").read_text() == \
        root.archived_templates["Contoso-Confidential"]
    assert not (base / "templates/Contoso-Confidential.xml").exists()
    [domain_file] = (base / "trusted-user-domains").iterdir()
    assert domain_file.name.endswith(".xml") and ".." not in domain_file.name
    assert domain_file.read_text() == licensing.slc_text
    # a lab whose state names a path for an archived template is refused on open
    with sqlite3.connect(target / "lab.sqlite") as db:
        db.execute("UPDATE archived_templates SET name = '../../x'")
    with pytest.raises(InputError, match="archived_templates.*'../../x'"):
        load_deployment(target)


def test_the_directory_is_kept(deployment: Deployment, tmp_path: Path) -> None:
    # MS-RMPR 3.1.1.1.5: the domain's SID, each user's SID, and groups with their members
    directory = deployment.directory
    directory.add_user("dana", sid=f"{directory.sid}-4242")
    directory.add_group("Sales", email="Sales@Contoso.Example", members={"bob", "dana"})
    directory.add_group("all", members={"sales@contoso.example"})
    directory.sid = "S-1-5-21-1-2-3"  # an administrator's domain, not the lab's own
    target = save_deployment(deployment, tmp_path / "lab")
    loaded = load_deployment(target).directory
    assert loaded.sid == "S-1-5-21-1-2-3"
    assert {u.name: u.sid for u in loaded.users.values()} == \
        {u.name: u.sid for u in directory.users.values()}
    assert loaded.users["dana"].sid.endswith("-4242")
    assert loaded.groups == directory.groups and list(loaded.groups) == list(directory.groups)
    assert loaded.is_principal_member_of("dana@contoso.example", ["all@contoso.example"])
    # a group added by a command is one new row, kept
    with LabStore(target).write() as changed:
        changed.directory.add_group("audit", members={"carol"})
    again = load_deployment(target).directory
    assert again.is_principal_member_of("carol@contoso.example", ["audit@contoso.example"])
    assert again.sid == "S-1-5-21-1-2-3"


def test_policies_changed_by_a_command_are_kept(deployment: Deployment, tmp_path: Path) -> None:
    from rmslab.flows.licensing import distrust_user_domain, set_super_user_group, \
        trust_user_domain
    target = save_deployment(deployment, tmp_path / "lab")
    store = LabStore(target)
    with store.write() as changed:
        licensing = changed.clusters["contoso-licensing"]
        assert licensing.slc_text is not None
        trust_user_domain(changed.root_cluster, licensing.slc_text, name="licensing")
        set_super_user_group(changed.root_cluster, "rms-superusers@contoso.example")
    folder = target / "clusters/contoso-root/trusted-user-domains"
    assert len(list(folder.iterdir())) == 1
    with store.read() as snapshot:
        assert snapshot.root_cluster.super_user_enabled
        assert set(snapshot.root_cluster.trusted_user_domains) == {"licensing"}
    with store.write() as changed:
        distrust_user_domain(changed.root_cluster, "licensing")
        set_super_user_group(changed.root_cluster, None)
    with store.read() as snapshot:
        assert not snapshot.root_cluster.super_user_enabled
        assert snapshot.root_cluster.super_user_group is None
        assert snapshot.root_cluster.trusted_user_domains == {}
    assert not list(folder.iterdir())  # the row is gone, and so is its file
