"""`rmslab lab decommission` and `rmslab lab online-publishing`: the ServerState switches of
MS-RMPR 3.1.1.1.1 from the command line, kept in the lab and logged.

covers: S-1, E-8, MS-RMPR 3.1.1.1.1
"""

from __future__ import annotations

from pathlib import Path

from rmslab.store.labdb import LabStore
from tests.clirun import run


def test_decommission_refuses_licenses_and_is_logged(tmp_path: Path) -> None:
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    plain = tmp_path / "minutes.txt"
    plain.write_text("minutes\n")
    protected = str(tmp_path / "minutes.ptxt")
    assert run("protect", str(plain), protected, "--lab", lab, "--as", "alice",
               "--grant", "bob@contoso.example:VIEW")[0] == 0
    # without a confirmation, nothing changes
    status, out, _ = run("lab", "decommission", lab, "--cluster", "contoso-root")
    assert status == 0 and "not decommissioned" in out
    # only an administrator (S-1)
    status, _, err = run("lab", "decommission", lab, "--cluster", "contoso-root", "--by", "bob",
                         "--yes")
    assert status == 3 and "[S-1]" in err
    status, out, _ = run("lab", "decommission", lab, "--cluster", "contoso-root", "--yes")
    assert status == 0 and "decommissioned contoso-root" in out
    with LabStore(lab).read() as deployment:
        assert deployment.root_cluster.decommissioned
    status, _, err = run("open", protected, "--lab", lab, "--as", "bob")
    assert status == 3 and "contoso-root is decommissioned" in err
    status, out, _ = run("log", lab, "--cluster", "contoso-root", "--kind", "decommissioning")
    assert status == 0 and "decommissioning        accepted" in out
    assert "decommissioning        refused" in out  # bob's attempt
    status, _, err = run("lab", "decommission", lab, "--cluster", "contoso-root", "--yes")
    assert status == 3 and "decommissioned already" in err
    assert run("lab", "decommission", lab, "--cluster", "nowhere", "--yes")[0] == 2


def test_online_publishing_switch(tmp_path: Path) -> None:
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    plain = tmp_path / "plan.txt"
    plain.write_text("plan\n")
    status, out, _ = run("lab", "online-publishing", lab, "--cluster", "contoso-root",
                         "--disable")
    assert status == 0 and "OnlinePublishingDisabledException" in out
    status, _, err = run("protect", str(plain), str(tmp_path / "a.ptxt"), "--lab", lab,
                         "--as", "alice", "--grant", "bob@contoso.example:VIEW")
    assert status == 3 and "online publishing is disabled" in err
    assert run("protect", str(plain), str(tmp_path / "b.ptxt"), "--lab", lab, "--as", "alice",
               "--offline", "--grant", "bob@contoso.example:VIEW")[0] == 0
    assert run("open", str(tmp_path / "b.ptxt"), "--lab", lab, "--as", "bob")[0] == 0
    assert run("lab", "online-publishing", lab, "--cluster", "contoso-root", "--enable")[0] == 0
    assert run("protect", str(plain), str(tmp_path / "c.ptxt"), "--lab", lab, "--as", "alice",
               "--grant", "bob@contoso.example:VIEW")[0] == 0
    status, out, _ = run("log", lab, "--cluster", "contoso-root", "--kind",
                         "server-configuration")
    assert out.count("server-configuration") == 2
