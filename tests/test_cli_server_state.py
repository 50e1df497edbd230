"""`rmslab lab decommission`, `rmslab lab online-publishing` and `rmslab lab template`: the
ServerState switches and templates of MS-RMPR 3.1.1.1.1 from the command line, kept in the lab and
logged.

covers: S-1, E-8, MS-RMPR 3.1.1.1.1
"""

from __future__ import annotations

from pathlib import Path

import pytest

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



def test_templates_published_archived_and_removed_by_the_administrator(tmp_path: Path) -> None:
    # MS-RMPR 3.1.1.1.1 publishedTemplates / archivedTemplates, 1.3.3, 3.4.4.1; S-1, E-8
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    plain = tmp_path / "notice.txt"
    plain.write_text("notice\n")
    template = ("lab", "template", lab, "--cluster", "contoso-root", "--name", "ViewOnly")
    status, _, err = run(*template, "--grant", "ANYONE:VIEW", "--by", "bob")
    assert status == 3 and "[S-1]" in err
    status, out, _ = run(*template, "--grant", "ANYONE:VIEW", "--caching-days", "7")
    assert status == 0 and "published the template ViewOnly on contoso-root" in out
    assert "license caching interval: 7 days" in out
    # new to alice's archive: her client downloads the templates first (1.3.3)
    notice = str(tmp_path / "notice.ptxt")
    status, out, _ = run("protect", str(plain), notice, "--lab", lab, "--as", "alice",
                         "--template", "ViewOnly")
    assert status == 0 and "downloaded the templates of contoso-root" in out
    assert "Contoso-Confidential, ViewOnly" in out
    assert run("open", notice, "--lab", lab, "--as", "bob", "--right", "VIEW")[0] == 0
    status, _, err = run("open", notice, "--lab", lab, "--as", "bob", "--right", "EDIT")
    assert status == 3 and "[B-2]" in err
    # edited: the same GUID, so the content is licensed with the new rights (3.4.4.1) —
    # to carol, who holds no use license of the old rights yet
    assert run(*template, "--grant", "carol:VIEW,EDIT")[0] == 0
    assert run("open", notice, "--lab", lab, "--as", "carol", "--right", "EDIT")[0] == 0
    # archived: no longer distributed, still held by the server; then deleted
    status, out, _ = run(*template, "--archive")
    assert status == 0 and "archived the template ViewOnly" in out
    with LabStore(lab).read() as deployment:
        root = deployment.root_cluster
        assert "ViewOnly" in root.archived_templates and "ViewOnly" not in root.templates
    assert run(*template, "--remove")[0] == 0
    with LabStore(lab).read() as deployment:
        assert "ViewOnly" not in deployment.root_cluster.archived_templates
    status, _, err = run(*template, "--remove")
    assert status == 3 and "holds no template 'ViewOnly'" in err
    status, out, _ = run("log", lab, "--cluster", "contoso-root", "--kind",
                         "server-configuration")
    assert out.count("accepted") == 4 and out.count("refused") == 2


def test_template_requests_that_say_nothing_are_refused(tmp_path: Path) -> None:
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    template = ("lab", "template", lab, "--cluster", "contoso-root", "--name", "T")
    assert run(*template)[0] == 2                                   # no action
    assert run(*template, "--archive", "--caching-days", "3")[0] == 2
    status, out, err = run(*template, "--grant", "ANYONE:VIEW", "--until", "2026-01-01")
    assert status == 0 and "expired from the start" in err  # allowed, with a warning
    assert "ANYONE: VIEW until 2026-01-01T00:00" in out
    assert run("lab", "template", lab, "--cluster", "nowhere", "--name", "T",
               "--archive")[0] == 2
    for refused_by_the_parser in (("--grant", "bob"), ("--grant", "bob:VIEW", "--remove")):
        with pytest.raises(SystemExit) as stopped:
            run(*template, *refused_by_the_parser)
        assert stopped.value.code == 2


def test_unprotect_through_the_decommissioning_interface(tmp_path: Path) -> None:
    # MS-RMSI 3.2.4.1: only once decommissioned, only the cluster's own licenses
    lab = str(tmp_path / "lab")
    assert run("lab", "create", lab)[0] == 0
    plain = tmp_path / "minutes.txt"
    plain.write_bytes(b"minutes of the last board meeting\n" * 300)
    own, other = str(tmp_path / "own.ptxt"), str(tmp_path / "other.ptxt")
    assert run("protect", str(plain), own, "--lab", lab, "--as", "alice", "--grant",
               "bob:VIEW")[0] == 0
    assert run("protect", str(plain), other, "--lab", lab, "--as", "alice", "--grant",
               "bob:VIEW", "--cluster", "contoso-licensing")[0] == 0
    target = tmp_path / "out" / "minutes.txt"
    target.parent.mkdir()
    status, _, err = run("unprotect", own, "-o", str(target), "--lab", lab)
    assert status == 3 and "ClusterNotDecommissionedException" in err
    assert list(target.parent.iterdir()) == []  # nothing written, not even a part file
    assert run("lab", "decommission", lab, "--cluster", "contoso-root", "--yes")[0] == 0
    status, out, _ = run("unprotect", own, "-o", str(target), "--lab", lab, "--explain")
    assert status == 0 and target.read_bytes() == plain.read_bytes()
    assert "decommissioning interface of contoso-root" in out and "✓" in out
    assert target.stat().st_mode & 0o077 == 0  # owner only, as open -o writes it
    # another cluster's license: that cluster is not decommissioned; contoso-root may not
    elsewhere = tmp_path / "out" / "other.txt"
    status, _, err = run("unprotect", other, "-o", str(elsewhere), "--lab", lab)
    assert status == 3 and "contoso-licensing is not decommissioned" in err
    status, _, err = run("unprotect", other, "-o", str(elsewhere), "--lab", lab, "--cluster",
                         "contoso-root")
    assert status == 3 and "UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException" in err
    assert not elsewhere.exists()
    # not a protected file; a folder that is not there: exit 2, named
    status, _, err = run("unprotect", str(plain), "-o", str(elsewhere), "--lab", lab)
    assert status == 2 and "not a protected file" in err
    status, _, err = run("unprotect", own, "-o", str(tmp_path / "nowhere" / "x"), "--lab", lab)
    assert status == 2 and "nothing was written" in err
