"""`rmslab audit` over real things: a share's inventory, client stores with the registry
export — the findings RMS-010…RMS-016 and the picture of which cluster protected what.

covers: A-1, A-2, P-7, D-6
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from rmslab.audit.artefacts import audit_artefacts
from rmslab.containers import read_store, write_store
from rmslab.deployment import Deployment
from rmslab.discovery.registry import Registry
from rmslab.inventory import ShareSpec, run_inventory

from tests.clirun import run

NOW = datetime(2026, 1, 6, tzinfo=timezone.utc)


def _store(labs: list[Deployment], tmp_path: Path) -> Path:
    lab = labs[0]
    client = next(c for c in lab.clients.values() if "alice" in c.accounts)
    account = client.account("alice")
    chains = [("GIC", "alice@contoso.com", account.rac_text)]
    if account.clc_text:
        chains.append(("CLC", "alice@contoso.com", account.clc_text))
    import io
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_online
    from rmslab.rights import Grant, RightsPolicy
    gone = publish_online(lab.root_cluster, client, lab.user("alice"),
                          RightsPolicy((Grant(lab.user("alice").email, ("VIEW",)),)),
                          b"a file deleted since", io.BytesIO())
    chains += [("EUL", "", text) for text in list(account.licenses.values())[:3]]
    use_license, _ = acquire_use_license(lab.root_cluster, client, lab.user("alice"),
                                         gone.publishing_license,
                                         anchor=lab.enrollment_service.anchor)
    chains.append(("EUL", "", use_license))
    store = write_store(tmp_path / "C/Users/alice/AppData/Local/Microsoft/MSIPC", "msipc",
                        chains)
    templates = store / "Templates"
    templates.mkdir()
    for name, text in lab.root_cluster.templates.items():
        (templates / f"{name}.xml").write_text(text, encoding="utf-8")
    return store


def _registry(tmp_path: Path) -> Path:
    path = tmp_path / "client.reg"
    path.write_text("Windows Registry Editor Version 5.00\r\n\r\n"
                    "[HKEY_LOCAL_MACHINE\\Software\\Microsoft\\MSIPC\\TrustedServers]\r\n"
                    "\"AllowTrustedServersOnly\"=dword:00000001\r\n"
                    "\"elsewhere.example\"=\"\"\r\n", encoding="utf-16")
    return path


def test_findings_over_a_share_and_a_store(labs: list[Deployment], share: ShareSpec,
                                           tmp_path: Path) -> None:
    tpd = labs[0].root_cluster.key.public.to_pem()
    inventory = run_inventory([share.root], workers=1, settings=((), (("Contoso", tpd),)))
    store = read_store(_store(labs, tmp_path))
    registry = Registry.from_reg_files(_registry(tmp_path))
    report = audit_artefacts(records=inventory.records, stores=[(store, registry)],
                             domains_known=True, at=NOW)
    ids = {f.id for f in report.findings}
    assert {"RMS-010", "RMS-011", "RMS-012", "RMS-015", "RMS-016"} <= ids
    weak = [f for f in report.findings if f.id == "RMS-010"]
    assert any("mode 1" in f.detail for f in weak)
    homeless = sum(int(f.detail.split()[0]) for f in report.findings if f.id == "RMS-011")
    assert homeless == share.protected - share.per_key[labs[0].root_cluster.key.public.fingerprint]
    assert len([f for f in report.findings if f.id == "RMS-016"]) == share.corrupt
    assert report.picture_svg and "<svg" in report.picture_svg
    later = audit_artefacts(records=inventory.records, stores=[(store, None)],
                            at=datetime(2040, 1, 1, tzinfo=timezone.utc), picture=False)
    assert "RMS-013" in {f.id for f in later.findings}


def test_templates_granting_anyone_are_found(labs: list[Deployment], tmp_path: Path) -> None:
    store_dir = _store(labs, tmp_path)
    text = next(iter(labs[0].root_cluster.templates.values()))
    (store_dir / "Templates" / "Open.xml").write_text(
        text.replace("<VIEW>", "<EXPORT>").replace("</VIEW>", "</EXPORT>"), encoding="utf-8")
    report = audit_artefacts(stores=[(read_store(store_dir), None)], at=NOW)
    assert any(f.id == "RMS-014" and "Open.xml" in f.subject for f in report.findings)


def test_the_command(labs: list[Deployment], share: ShareSpec, tmp_path: Path) -> None:
    tpd = tmp_path / "tpd.pem"
    tpd.write_bytes(labs[0].root_cluster.key.public.to_pem())
    html = tmp_path / "audit.html"
    status, output, _ = run("audit", "--share", str(share.root), "--store",
                            str(_store(labs, tmp_path)), "--registry", str(_registry(tmp_path)),
                            "--tpd", f"Contoso={tpd}", "--workers", "1", "--at",
                            "2026-01-06T00:00", "--html", str(html), "--json")
    assert status == 1                               # RMS-011 is high
    data = json.loads(output)
    assert {"RMS-011", "RMS-012"} <= {f["id"] for f in data["findings"]}
    page = html.read_text()
    assert "<svg" in page and "RMS-011" in page
    status, _, error = run("audit")
    assert status == 2 and "audit what?" in error


def test_a_lab_and_its_share_in_one_report(tmp_path: Path) -> None:
    """`rmslab audit DIR --share PATH`: the lab is read through its store (as every lab
    command reads it), its root verifies the share's chains, its clusters' keys are the
    known trusted publishing domains (so nothing it protected is RMS-011), and its
    clients' stores are audited against the share (RMS-015 for content that is gone)."""
    lab, share = tmp_path / "lab", tmp_path / "share"
    share.mkdir()
    assert run("lab", "create", str(lab))[0] == 0
    plain = tmp_path / "plain.txt"
    plain.write_text("the figures\n")
    for name in ("kept.docx", "gone.ptxt"):
        assert run("protect", str(plain), str(share / name), "--lab", str(lab), "--as",
                   "alice", "--grant", "bob:VIEW")[0] == 0
    assert run("open", str(share / "gone.ptxt"), "--lab", str(lab), "--as", "bob")[0] == 0
    (share / "gone.ptxt").unlink()          # bob's store keeps its use license
    (share / "broken.docx").write_bytes((share / "kept.docx").read_bytes()[:3000])
    status, output, error = run("audit", str(lab), "--share", str(share), "--workers", "1",
                                "--json")
    assert status == 0, error
    data = json.loads(output)
    ids = [f["id"] for f in data["findings"]]
    assert "RMS-007" in ids                             # the lab's own findings
    assert "RMS-011" not in ids                         # its keys are known domains
    assert ids.count("RMS-016") == 1                    # broken.docx
    gone = [f for f in data["findings"] if f["id"] == "RMS-015"]
    assert len(gone) == 1 and gone[0]["subject"].startswith("store of bob on BOB-PC")
    templates = [f for f in data["findings"] if f["id"] == "RMS-014"]
    assert len(templates) == 1 and all("to ANYONE" in f["detail"] for f in templates)
    # without the lab, the same share's key is in no known trusted publishing domain
    status, output, _ = run("audit", "--share", str(share), "--tpd",
                            f"Other={lab / 'anchor.pem'}", "--workers", "1")
    assert status == 1 and "RMS-011 high" in output
    # a damaged log of the lab is still reported, not refused (the store's read path)
    (lab / "enrollment-service/log.sqlite").unlink()
    status, output, _ = run("audit", str(lab), "--share", str(share), "--workers", "1")
    assert status == 1 and "RMS-009 high   the enrollment service" in output
    assert "RMS-016" in output
