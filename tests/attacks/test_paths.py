"""Names never become paths unchecked (issue 10 item 4): a received file, a command-line
session name or a lab's own state cannot make rmslab write, copy or serve anything
outside the lab.

covers: D-3, L-1
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from rmslab.errors import UnsafeNameError
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.store.disk import load_deployment
from rmslab.store.labdb import LabStore
from rmslab.store.names import lab_path
from tests.clirun import run


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    target = tmp_path / "labs" / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".sqlite" not in p.name}


def test_a_content_id_that_walks_out_of_the_license_store(lab: Path, tmp_path: Path) -> None:
    # alice's own client software makes a publishing license whose content ID is a path,
    # signed with her valid CLC: it verifies, and bob is granted VIEW
    deployment = load_deployment(lab)
    hostile = "{" + "../" * 12 + "escaped}"
    guid = deployment.lab.guid
    deployment.lab.guid = lambda purpose="guid": hostile if purpose == "content" else guid(purpose)  # type: ignore[method-assign]
    sink = io.BytesIO()
    publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                    RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)), b"hello", sink)
    protected = tmp_path / "hostile.ptxt"
    protected.write_bytes(sink.getvalue())
    before = _snapshot(tmp_path)
    status, output, error = run("open", str(protected), "--lab", str(lab), "--as", "bob")
    assert status == 2 and "is not a content ID" in error and "hello" not in output
    assert _snapshot(tmp_path) == before  # nothing written, in the lab or outside it
    assert not list(tmp_path.rglob("escaped*")) and not list(tmp_path.rglob("EUL-..*"))


def test_a_session_name_that_walks_out_of_the_lab(lab: Path, tmp_path: Path) -> None:
    plain = tmp_path / "note.txt"
    plain.write_text("note")
    protected = tmp_path / "note.ptxt"
    assert run("protect", str(plain), str(protected), "--lab", str(lab), "--as", "alice",
               "--grant", "bob:VIEW")[0] == 0
    before = _snapshot(tmp_path)
    for name in ("../../x", "../../../../../../x", "/tmp/x", ".hidden", "a/b", "x\x00y",
                 "a" * 65, ""):
        with pytest.raises(SystemExit) as exited:
            run("open", str(protected), "--lab", str(lab), "--as", "bob", "--session", name)
        assert exited.value.code == 2
        with pytest.raises(SystemExit) as exited:
            run("session", "close", name, "--lab", str(lab), "--as", "bob")
        assert exited.value.code == 2
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "x.json").exists() and not (lab.parent / "x.json").exists()
    # a good name is kept inside the lab
    assert run("open", str(protected), "--lab", str(lab), "--as", "bob", "--session",
               "word-1.2")[0] == 0
    assert (lab / "clients/BOB-PC/sessions/word-1.2.json").is_file()


def test_the_store_checks_names_itself(lab: Path) -> None:
    # whatever a command puts into the deployment, the store refuses unsafe names before
    # anything is written
    before = _snapshot(lab)
    for change in (
        lambda d: d.clients["BOB-PC"].open_sessions.__setitem__("../../x", ("bob", "a", {})),
        lambda d: d.clients["BOB-PC"].account("bob").licenses.__setitem__("../../x", "t"),
        lambda d: d.clients["BOB-PC"].account("bob").templates.__setitem__("../x", "t"),
        lambda d: d.root_cluster.templates.__setitem__("/etc/passwd", "t"),
        lambda d: d.root_cluster.archived_templates.__setitem__("../../x", "t"),
    ):
        with pytest.raises(UnsafeNameError):
            with LabStore(lab).write() as deployment:
                change(deployment)
    assert _snapshot(lab) == before


def test_a_trusted_user_domains_name_never_becomes_a_path(lab: Path) -> None:
    # an administrator's label for a trusted user domain may be anything: the store names
    # its file itself, inside the lab
    from rmslab.flows.licensing import trust_user_domain
    outside = _snapshot(lab.parent)
    with LabStore(lab).write() as deployment:
        slc = deployment.clusters["contoso-licensing"].slc_text
        assert slc is not None
        trust_user_domain(deployment.root_cluster, slc, name="../../../../tmp/x")
    added = set(_snapshot(lab.parent)) - set(outside)
    [name] = added
    assert name.startswith("lab/clusters/contoso-root/trusted-user-domains/")
    assert ".." not in name and name.endswith(".xml")
    with LabStore(lab).read() as deployment:
        assert set(deployment.root_cluster.trusted_user_domains) == {"../../../../tmp/x"}


# (table, column, key column, key value, hostile value) — a lab edited to name paths
HOSTILE_STATE = [
    ("licenses", "content_id", "user", "alice", "/etc/passwd"),
    ("licenses", "content_id", "user", "alice", "{../../x}"),
    ("clients", "name", "name", "BOB-PC", "../../x"),
    ("clients", "name", "name", "BOB-PC", "/etc"),
    ("clusters", "name", "name", "contoso-licensing", ".."),
    ("accounts", "email", "user", "carol", "../../x@contoso.example"),
    ("accounts", "user", "user", "carol", "../root"),
    ("account_templates", "name", "name", "Contoso-Confidential", "../../../../etc/passwd"),
    ("cluster_templates", "name", "name", "Contoso-Confidential", "/etc/passwd"),
    ("servers", "name", "name", "RMS02", "../x"),
    ("archived_templates", "name", "cluster", "contoso-root", "../../x"),
]


@pytest.mark.parametrize("table, column, where, value, hostile", HOSTILE_STATE)
def test_a_lab_whose_state_names_paths_is_refused_on_open(
        lab: Path, table: str, column: str, where: str, value: str, hostile: str) -> None:
    with sqlite3.connect(lab / "lab.sqlite") as db:
        if table == "licenses":  # give alice a license row to corrupt
            db.execute("INSERT INTO licenses VALUES ('ALICE-PC', 'alice', ?, 'x')", (hostile,))
        elif table == "archived_templates":  # and the root cluster an archived template
            db.execute("INSERT INTO archived_templates VALUES ('contoso-root', ?, 'x')",
                       (hostile,))
        else:
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {where} = ?", (hostile, value))
    before = _snapshot(lab.parent.parent)
    for command in (["revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "bob",
                     "--publish"], ["log", str(lab)], ["audit", str(lab)],
                    ["lab", "advance", str(lab), "--days", "1"]):
        status, _, error = run(*command)
        assert status == 2 and "refused" in error and repr(hostile) in error, (command, error)
    assert _snapshot(lab.parent.parent) == before  # nothing copied, nothing written
    with pytest.raises(UnsafeNameError):
        load_deployment(lab)  # so nothing can be served from it either


def test_a_lab_of_the_old_layout_naming_etc_passwd_copies_nothing(tmp_path: Path) -> None:
    lab = tmp_path / "old"
    lab.mkdir()
    (lab / "deployment.json").write_text(
        '{"format": 1, "web": [{"url": "https://x.example/l.xml", '
        '"file": "../../../../../../../../etc/passwd"}]}')
    status, _, error = run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "bob",
                           "--publish")
    assert status == 2 and "older rmslab" in error
    assert sorted(p.name for p in lab.rglob("*")) == ["deployment.json"]


def test_published_documents_get_file_names_the_store_chooses(lab: Path) -> None:
    url = "https://rms.contoso.example/../../../../etc/passwd"
    with LabStore(lab).write() as deployment:
        deployment.web.publish(url, "<list/>")
    (published,) = [p for p in (lab / "web").iterdir()]
    assert published.read_text() == "<list/>" and ".." not in published.name
    assert published.name.endswith(".xml") and len(published.name) == 28


def test_a_symbolic_link_does_not_lead_out_of_the_lab(lab: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sessions = lab / "clients/BOB-PC/sessions"
    sessions.symlink_to(outside)
    with pytest.raises(UnsafeNameError, match="outside the lab"):
        lab_path(lab, "clients", ("machine", "BOB-PC"), "sessions", ("session", "word"))
    plain = tmp_path / "n.txt"
    plain.write_text("n")
    protected = tmp_path / "n.ptxt"
    assert run("protect", str(plain), str(protected), "--lab", str(lab), "--as", "alice",
               "--grant", "bob:VIEW")[0] == 0
    status, _, error = run("open", str(protected), "--lab", str(lab), "--as", "bob",
                           "--session", "word")
    assert status == 2 and "outside the lab" in error
    assert list(outside.iterdir()) == []
