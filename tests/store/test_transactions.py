"""Commands are transactions on the lab database: a command writes only the rows it
changed and the files of those rows; a failure keeps nothing, files included; a read
reuses what it loaded while the lab has not changed.

covers: E-8, D-3
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rmslab.errors import InputError
from rmslab.store.labdb import LabStore
from rmslab.store.tables import SCHEMA_VERSION, TABLES
from tests.clirun import run


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    target = tmp_path / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target


def _watch_writes(lab: Path) -> None:
    """Triggers (plain SQL in the lab database) that note every row written."""
    with sqlite3.connect(lab / "lab.sqlite") as db:
        db.execute("CREATE TABLE written (name TEXT)")
        for table in TABLES:
            db.execute(f"CREATE TRIGGER note_{table.name} AFTER INSERT ON {table.name} "
                       f"BEGIN INSERT INTO written VALUES ('{table.name}'); END")


def _written(lab: Path) -> list[str]:
    with sqlite3.connect(lab / "lab.sqlite") as db:
        return sorted(r[0] for r in db.execute("SELECT name FROM written"))


def _files(lab: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(lab)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in lab.rglob("*") if p.is_file() and ".sqlite" not in p.name}


def test_a_command_writes_only_what_it_changed(lab: Path, tmp_path: Path) -> None:
    _watch_writes(lab)
    files = _files(lab)
    plain = tmp_path / "plan.txt"
    plain.write_text("plan")
    status, output, _ = run("protect", str(plain), str(tmp_path / "plan.ptxt"), "--lab", str(lab),
                            "--as", "alice", "--offline", "--grant", "bob:VIEW")
    assert status == 0
    # the owner license, and the random streams the command drew from: nothing else
    written = _written(lab)
    assert set(written) == {"licenses", "streams"} and written.count("licenses") == 1
    after = _files(lab)
    new = set(after) - set(files)
    assert len(new) == 1 and next(iter(new)).startswith(
        "clients/ALICE-PC/C/Users/alice/AppData/Local/Microsoft/MSIPC/EUL-")
    assert all(after[name] == files[name] for name in files)  # no other file touched
    # a command that changes nothing writes nothing
    status, _, _ = run("log", str(lab))
    assert status == 0 and _written(lab) == written


def test_revoke_writes_the_list_and_its_published_copy(lab: Path) -> None:
    _watch_writes(lab)
    files = _files(lab)
    assert run("revoke", "--lab", str(lab), "--by", "contoso-root", "--user", "carol",
               "--publish")[0] == 0
    assert set(_written(lab)) <= {"clusters", "revocations", "streams", "web"}
    after = _files(lab)
    changed = {n for n in after if after[n] != files.get(n)}
    assert "clusters/contoso-root/revocation-list.xml" in changed
    assert len([n for n in changed if n.startswith("web/")]) == 1
    assert len(changed) == 2


def test_a_failure_keeps_nothing_files_included(lab: Path) -> None:
    store = LabStore(lab)
    with store.read() as before:
        licenses = dict(before.clients["BOB-PC"].account("bob").licenses)
        streams = before.lab.state()["streams"]
    registry = (lab / "clients/BOB-PC/registry.reg").read_bytes()
    with pytest.raises(RuntimeError):
        with store.write() as deployment:
            deployment.clients["BOB-PC"].account("bob").licenses[
                "{00000000-0000-4000-8000-000000000001}"] = "x"
            deployment.lab.guid()
            raise RuntimeError("the command failed")
    # a file write that fails half way: the database rolls back and the files written
    # before it are put back
    from rmslab.discovery.regfile import RegValue
    content_id = "{00000000-0000-4000-8000-000000000002}"
    blocked = lab / "clients/BOB-PC/C/Users/bob/AppData/Local/Microsoft/MSIPC" / \
        f"EUL-{content_id.strip('{}')}.drm"
    blocked.mkdir()  # a directory where the license file must go
    with pytest.raises(OSError):
        with store.write() as deployment:
            client = deployment.clients["BOB-PC"]
            client.registry.set_value(r"HKEY_CURRENT_USER\Software\rmslab", RegValue.sz("x", "y"))
            client.account("bob").licenses[content_id] = "x"
    with store.read() as after:
        assert after.clients["BOB-PC"].account("bob").licenses == licenses
        assert after.lab.state()["streams"] == streams
    assert (lab / "clients/BOB-PC/registry.reg").read_bytes() == registry


def test_reads_reuse_the_deployment_until_the_lab_changes(lab: Path) -> None:
    store = LabStore(lab)
    with store.read() as first, store.read() as second:
        assert first is second
    with LabStore(lab).write() as deployment:  # another store: another process's view
        deployment.lab.advance(minutes=1)
    with store.read() as third:
        assert third is not first and third.lab.now() > first.lab.now()


def test_a_read_sees_a_snapshot_while_a_command_holds_the_lab(lab: Path) -> None:
    store = LabStore(lab, timeout=0.2)
    with store.write() as deployment:
        deployment.lab.advance(hours=1)
        # the writer holds the lab: other writers wait and give up; readers go on
        with pytest.raises(InputError, match="another command holds the lab"):
            with LabStore(lab, timeout=0.2).write():
                pass
        with LabStore(lab).read() as snapshot:
            assert snapshot.lab.now() < deployment.lab.now()
    with LabStore(lab).read() as after:
        assert after.lab.now() == deployment.lab.now()


def test_an_older_lab_is_read_as_it_is_and_completed_by_the_next_write(lab: Path) -> None:
    # a lab made before the mapping had the placed_lists table
    with sqlite3.connect(lab / "lab.sqlite") as db:
        db.execute("DROP TABLE placed_lists")
        db.execute("PRAGMA user_version = 0")
    with LabStore(lab).read() as deployment:
        assert deployment.clients["BOB-PC"].placed_revocation_lists == {}
    with sqlite3.connect(lab / "lab.sqlite") as db:  # a read changes nothing
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    with LabStore(lab).write() as deployment:
        deployment.clients["BOB-PC"].placed_revocation_lists["https://x.example/l"] = "<l/>"
    with LabStore(lab).read() as deployment:
        assert deployment.clients["BOB-PC"].placed_revocation_lists == {
            "https://x.example/l": "<l/>"}
    with sqlite3.connect(lab / "lab.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_a_lab_of_schema_1_gets_the_directory_and_policies_its_seed_gives(lab: Path) -> None:
    # a lab made before SIDs, groups and licensing policies were kept (schema 1)
    with LabStore(lab).read() as deployment:
        sids = {u.name: u.sid for u in deployment.directory.users.values()}
        domain_sid = deployment.directory.sid
    with sqlite3.connect(lab / "lab.sqlite") as db:
        for table in ("groups", "archived_templates", "trusted_user_domains",
                      "rac_exclusions", "application_exclusions", "rac_machines"):
            db.execute(f"DROP TABLE {table}")
        for table, column in (("lab", "domain_sid"), ("users", "sid"),
                              ("clusters", "super_user_enabled"),
                              ("clusters", "super_user_group")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 1")
    with LabStore(lab).read() as deployment:
        assert deployment.directory.sid == domain_sid  # derived from the seed, as made
        assert {u.name: u.sid for u in deployment.directory.users.values()} == sids
        assert deployment.directory.groups == {}
        assert not deployment.root_cluster.super_user_enabled
    with LabStore(lab).write() as deployment:
        deployment.directory.add_group("sales", members={"bob"})
        deployment.root_cluster.super_user_enabled = True
        deployment.root_cluster.super_user_group = "sales@contoso.example"
    with LabStore(lab).read() as deployment:
        assert deployment.directory.is_principal_member_of("bob@contoso.example",
                                                           ["sales@contoso.example"])
        assert deployment.root_cluster.super_user_group == "sales@contoso.example"
        assert {u.name: u.sid for u in deployment.directory.users.values()} == sids
    with sqlite3.connect(lab / "lab.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT COUNT(*) FROM users WHERE sid IS NOT NULL").fetchone()[0] \
            == len(sids)


def _streams(lab: Path) -> object:
    """The random streams as the lab holds them (another process's view)."""
    with LabStore(lab).read() as deployment:
        return deployment.lab.state()["streams"]


def test_a_draw_commits_the_streams_it_drew_from_and_nothing_else(lab: Path) -> None:
    """A served AcquireLicense draws its GUID and padding (MS-RMPR 3.4.4.1) in one small
    transaction: the stream rows, committed before the block returns, and the generation
    unchanged (snapshots stay shared)."""
    store = LabStore(lab)
    with store.write() as deployment:  # a draw starts from this store's last write
        deployment.lab.advance(minutes=1)
    generation, snapshot = store.snapshot()
    _watch_writes(lab)
    with store.draw(generation) as drawing:
        assert drawing is not None and drawing is not snapshot
        guid = drawing.lab.guid("use-license")
    assert _written(lab) == ["streams"]
    assert store.snapshot() == (generation, snapshot)
    # committed: whoever draws next — this store, a command — never gives it out again
    with LabStore(lab).write() as other:
        assert other.lab.guid("use-license") != guid
    with store.draw(generation) as drawing:
        assert drawing is None  # the lab changed: the caller decides again
    with store.write() as deployment:  # this store's writer sees what the other drew
        assert deployment.lab.guid("use-license") not in (guid,)
        again = deployment.lab.state()["streams"]
    assert _streams(lab) == again


def test_a_draw_on_a_changed_lab_yields_nothing(lab: Path) -> None:
    store = LabStore(lab)
    generation, _ = store.snapshot()
    with LabStore(lab).write() as deployment:  # a command, meanwhile
        deployment.lab.advance(minutes=1)
    with store.draw(generation) as drawing:  # decided on an older generation
        assert drawing is None
    streams = _streams(lab)
    generation, _ = store.snapshot()
    with store.draw(generation) as drawing:  # loaded under the lock, as a write loads it
        assert drawing is not None
        drawing.lab.guid("use-license")
    assert _streams(lab) != streams


def test_a_draw_that_fails_keeps_nothing(lab: Path) -> None:
    from rmslab.errors import LabStoreError
    store = LabStore(lab)
    with store.write() as deployment:
        deployment.lab.advance(minutes=1)
    streams = _streams(lab)
    generation, _ = store.snapshot()
    with pytest.raises(RuntimeError):
        with store.draw(generation) as drawing:
            assert drawing is not None
            guid = drawing.lab.guid("use-license")
            raise RuntimeError("killed before the answer")
    assert _streams(lab) == streams
    # what was drawn in memory and not kept is drawn again: nothing was answered with it
    with store.draw(generation) as drawing:
        assert drawing is not None and drawing.lab.guid("use-license") == guid
    streams = _streams(lab)
    generation, _ = store.snapshot()
    with pytest.raises(LabStoreError, match="a draw moved the lab's clock"):
        with store.draw(generation) as drawing:
            assert drawing is not None
            drawing.lab.guid("use-license")
            drawing.lab.advance(minutes=1)
    assert _streams(lab) == streams
