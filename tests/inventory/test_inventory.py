"""`rmslab inventory`: exact counts per SLC key, verification against anchors, resuming
from the state database, the process pool and a real Dask cluster all agreeing.

covers: A-1, P-7
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rmslab.deployment import Deployment
from rmslab.inventory import Interrupted, ShareSpec, migration_view, run_inventory

from tests.clirun import run


def _anchors(labs: list[Deployment]) -> tuple[bytes, ...]:
    return tuple(d.enrollment_service.anchor.to_pem() for d in labs)


def test_exact_counts_per_cluster_key(share: ShareSpec) -> None:
    inventory = run_inventory([share.root], workers=1)
    totals = inventory.totals()
    assert totals["files"] == share.files
    assert totals["protected"] == share.protected
    assert totals["not-protected"] == share.not_protected
    assert totals["unreadable"] == share.corrupt
    views = {v.slc_fingerprint: v for v in migration_view(inventory)}
    assert {k: v.files for k, v in views.items()} == dict(share.per_key)
    assert sum(v.offline for v in views.values()) == share.offline
    assert all(r["reason"] for r in inventory.by_status("unreadable"))
    modes = {m for v in views.values() for m in v.modes}
    assert modes == {1, 2}


def test_chains_verify_against_their_own_root_only(labs: list[Deployment],
                                                   share: ShareSpec) -> None:
    first = labs[0].enrollment_service.anchor.to_pem()
    inventory = run_inventory([share.root], workers=1, settings=((first,), ()))
    verdicts = {r["verification"].split(" ")[0].rstrip(":")
                for r in inventory.by_status("protected")}
    assert verdicts == {"valid", "invalid"}
    both = run_inventory([share.root], workers=1, settings=(_anchors(labs), ()))
    assert all(r["verification"].startswith("valid") for r in both.by_status("protected"))


def test_process_pool_equals_one_process(share: ShareSpec) -> None:
    one = run_inventory([share.root], workers=1)
    pool = run_inventory([share.root], workers=2)
    assert pool.records == one.records


def test_interrupted_and_resumed_run_has_the_same_totals(share: ShareSpec,
                                                         tmp_path: Path) -> None:
    whole = run_inventory([share.root], workers=1)
    state = tmp_path / "state.sqlite"
    with pytest.raises(Interrupted):
        run_inventory([share.root], workers=2, state=state, stop_after=60)
    resumed = run_inventory([share.root], workers=2, state=state)
    assert resumed.skipped >= 60
    assert resumed.totals() == whole.totals()
    assert resumed.records == whole.records
    again = run_inventory([share.root], workers=1, state=state)
    assert again.skipped == share.files and again.records == whole.records


def test_dask_cluster_equals_the_local_run(share: ShareSpec) -> None:
    distributed = pytest.importorskip("distributed")
    local = run_inventory([share.root], workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = run_inventory([share.root], dask=client)
            by_address = run_inventory([share.root], dask=cluster.scheduler_address)
    assert remote.records == local.records
    assert by_address.totals() == local.totals()
    assert remote.where.startswith("dask")


def test_links_are_not_followed(share: ShareSpec, tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "outside").symlink_to(share.root)
    (tmp_path / "one.txt").write_text("plain")
    inventory = run_inventory([tmp_path], workers=1)
    assert [Path(r["path"]).name for r in inventory.records] == ["one.txt"]


def test_the_command(labs: list[Deployment], share: ShareSpec, tmp_path: Path) -> None:
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(labs[0].enrollment_service.anchor.to_pem())
    tpd = tmp_path / "tpd.pem"
    tpd.write_bytes(labs[0].root_cluster.key.public.to_pem())
    out_csv = tmp_path / "inventory.csv"
    status, output, _ = run("inventory", str(share.root), "--workers", "1", "--anchor",
                            str(anchor), "--tpd", f"Contoso-2026={tpd}", "--csv", str(out_csv))
    assert status == 0
    assert f"{share.files} files: {share.protected} protected" in output
    assert "trusted publishing domain Contoso-2026" in output
    assert "unreadable (" in output
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == share.files and {"path", "slc_fingerprint", "verification"} <= set(rows[0])
    status, output, _ = run("inventory", str(share.root), "--workers", "1", "--json")
    data = json.loads(output)
    assert data["totals"]["protected"] == share.protected and not data["anchored"]
    assert sum(c["files"] for c in data["clusters"]) == share.protected
    status, _, error = run("inventory", str(tmp_path / "missing"))
    assert status == 2 and "no such file or folder" in error


def test_a_resumed_run_verifies_at_the_first_runs_moment(labs: list[Deployment],
                                                         share: ShareSpec,
                                                         tmp_path: Path) -> None:
    """The state database keeps the moment and the settings: a resumed run gives the
    records an uninterrupted run would, and other anchors or another time are refused."""
    from datetime import datetime, timezone
    from rmslab.errors import InputError
    state = tmp_path / "state.sqlite"
    settings = (_anchors(labs), ())
    before_the_labs = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(Interrupted):
        run_inventory([share.root], settings=settings, at=before_the_labs, workers=1,
                      state=state, stop_after=60)
    resumed = run_inventory([share.root], settings=settings, workers=1, state=state)
    assert resumed.at == before_the_labs
    assert {r["verification"].split(":")[0] for r in resumed.by_status("protected")} == {
        "not-yet-valid"}
    whole = run_inventory([share.root], settings=settings, at=before_the_labs, workers=1)
    assert resumed.records == whole.records
    with pytest.raises(InputError, match="other anchors"):
        run_inventory([share.root], settings=((), ()), workers=1, state=state)
    with pytest.raises(InputError, match="not at 2026"):
        run_inventory([share.root], settings=settings, workers=1, state=state,
                      at=datetime(2026, 1, 6, tzinfo=timezone.utc))
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    status, _, error = run("inventory", str(share.root), "--state", str(garbage))
    assert status == 2 and "not a state database" in error


def test_verification_at_a_given_time(labs: list[Deployment], share: ShareSpec,
                                      tmp_path: Path) -> None:
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(labs[0].enrollment_service.anchor.to_pem())
    status, output, _ = run("inventory", str(share.root), "--workers", "1", "--anchor",
                            str(anchor), "--at", "2026-01-05T09:00", "--json")
    data = json.loads(output)
    assert status == 0 and data["at"] == "2026-01-05T09:00"
    mine = [r for r in data["records"] if r["status"] == "protected"
            and r["slc_fingerprint"] == labs[0].root_cluster.key.public.fingerprint]
    assert mine and all(r["verification"].startswith("valid") for r in mine)
    status, output, _ = run("inventory", str(share.root), "--workers", "1", "--anchor",
                            str(anchor), "--at", "2025-01-05T09:00", "--json")
    earlier = json.loads(output)
    assert all(r["verification"].startswith("not-yet-valid") for r in earlier["records"]
               if r["status"] == "protected"
               and r["slc_fingerprint"] == labs[0].root_cluster.key.public.fingerprint)


def test_records_stay_on_disk_and_stream(share: ShareSpec, tmp_path: Path) -> None:
    """The records live in the run's state database (a temporary one by default), read as
    they are used: the JSON written record by record is the JSON built whole, and closing
    the inventory removes a temporary database."""
    import io
    from rmslab.inventory import to_json, write_json
    inventory = run_inventory([share.root], workers=1)
    scratch = inventory.store._scratch
    assert scratch is not None and Path(scratch).is_dir()
    streamed = io.StringIO()
    write_json(inventory, streamed)
    assert json.loads(streamed.getvalue()) == to_json(inventory)
    assert sum(1 for _ in inventory.iter_records("unreadable")) == share.corrupt
    inventory.close()
    assert not Path(scratch).exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_inventory([empty], workers=1)
    streamed = io.StringIO()
    write_json(nothing, streamed)
    assert json.loads(streamed.getvalue())["records"] == [] == to_json(nothing)["records"]
