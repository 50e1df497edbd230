"""The audit of real things: an inventory of a share, a client's license store with its
registry export (SPEC A-1, A-2, P-7, D-6) — alone, or beside a lab's own audit, the lab
read through its store (:func:`lab_stores` gives its clients' license stores as the lab
holds them).

Findings (IDs after the deployment audit's):

* RMS-010 content in cryptographic mode 1, or sealed with AES in ECB mode (the Office,
  mail and PDF formats prescribe ECB, MS-OFFCRYPTO 2.2.10);
* RMS-011 content whose issuing SLC key is in no trusted publishing domain the auditor
  named — nobody will license it once that server is gone (P-7);
* RMS-012 licenses in a store issued by clusters the client's registry does not trust
  (AllowTrustedServersOnly and TrustedServers, D-6);
* RMS-013 content published offline under a client licensor certificate that has
  expired, or a store still holding one;
* RMS-014 rights policy templates (in a store's template archive) granting ANYONE or
  EXPORT;
* RMS-015 use licenses in a store for content the inventory did not find;
* RMS-016 protected files that cannot be read (damaged, truncated, hostile).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

import graphviz

from rmslab.audit.findings import AuditReport, Finding
from rmslab.containers.stores import LicenseStore, StoreEntry
from rmslab.deployment import Deployment
from rmslab.discovery.registry import Registry
from rmslab.xrml.model import parse_time

__all__ = ["audit_artefacts", "share_graph", "lab_stores"]


class _Picture:
    """What the picture of a share counts: files per SLC key and container kind."""

    def __init__(self) -> None:
        self.edges: Counter[tuple[str, str]] = Counter()
        self.keys: dict[str, str] = {}

    def add(self, record: dict[str, Any]) -> None:
        if record["status"] != "protected":
            return
        key = (record.get("slc_fingerprint") or "?")[:16]
        self.keys[key] = (f"{record.get('server') or '?'}\\nSLC key {key}"
                          + (f"\\nTPD {record['tpd']}" if record.get("tpd") else ""))
        self.edges[(key, record.get("kind") or "?")] += 1

    def graph(self) -> graphviz.Digraph:
        graph = graphviz.Digraph("share", graph_attr={"rankdir": "LR", "fontname": "Helvetica",
                                                      "label": "which SLC key protected what",
                                                      "labelloc": "t"},
                                 node_attr={"fontname": "Helvetica", "fontsize": "10"},
                                 edge_attr={"fontname": "Helvetica", "fontsize": "9"})
        for key, label in sorted(self.keys.items()):
            graph.node(f"key_{key}", label, shape="box", style="rounded,filled",
                       fillcolor="#e3f2fd")
        for kind in sorted({k for _, k in self.edges}):
            graph.node(f"kind_{kind}", kind, shape="note")
        for (key, kind), count in sorted(self.edges.items()):
            graph.edge(f"key_{key}", f"kind_{kind}", label=str(count))
        return graph


def _inventory_findings(report: AuditReport, records: Iterable[dict[str, Any]],
                        domains_known: bool, at: datetime,
                        picture: _Picture) -> set[str] | None:
    """The findings over a share's records, in one pass (the records may be streamed
    from the run's state database); returns the content IDs found (None: no record)."""
    weak: Counter[tuple[str, str]] = Counter()
    homeless: Counter[tuple[str, str]] = Counter()
    expired: Counter[tuple[str, str]] = Counter()
    content_ids: set[str] | None = None
    for record in records:
        if content_ids is None:
            content_ids = set()
        if record.get("content_id"):
            content_ids.add(record["content_id"])
        picture.add(record)
        if record["status"] == "unreadable":
            report.add(Finding("RMS-016", "low", record["path"], record["reason"] or "",
                               "restore the file from a backup, or remove it", "A-1"))
            continue
        if record["status"] != "protected":
            continue
        server = record.get("server") or "?"
        key = (record.get("slc_fingerprint") or "?")[:16]
        if record.get("mode") == 1 or "ECB" in (record.get("cipher") or ""):
            weak[(server, f"mode {record.get('mode')}, {record.get('cipher')}")] += 1
        if domains_known and not record.get("tpd"):
            homeless[(server, key)] += 1
        clc_until = parse_time(record.get("author_clc_until"), "author_clc_until")
        if clc_until is not None and clc_until < at:
            expired[(record.get("author_clc") or "?", f"{clc_until:%Y-%m-%d}")] += 1
    for (server, how), count in sorted(weak.items()):
        remedy = ("move the cluster to cryptographic mode 2 and re-protect the content that "
                  "matters" if how.startswith("mode 1") else
                  "the container prescribes AES-ECB (MS-OFFCRYPTO 2.2.10): keep the content "
                  "where equal blocks do not matter, or re-protect it as a protected file "
                  "(AES-128-CBC4K)")
        report.add(Finding("RMS-010", "medium", f"content of {server}",
                           f"{count} files protected in {how}", remedy, None))
    for (server, key), count in sorted(homeless.items()):
        report.add(Finding("RMS-011", "high", f"SLC key {key} of {server}",
                           f"{count} files were protected with a key in no known trusted "
                           "publishing domain: retiring that cluster leaves them unreadable",
                           "export the cluster's trusted publishing domain and import it "
                           "into the cluster that stays", "P-7"))
    for (clc, until), count in sorted(expired.items()):
        report.add(Finding("RMS-013", "medium", f"client licensor certificate {clc}",
                           f"expired on {until}, yet {count} files carry publishing "
                           "licenses signed with it", "renew the author's CLC; make sure "
                           "the issuing cluster still licenses the content", "P-1"))
    return content_ids


def _store_findings(report: AuditReport, store: LicenseStore, registry: Any,
                    content_ids: set[str] | None, at: datetime) -> None:
    from rmslab.xrml.reader import parse
    subject = store.subject
    settings = None
    if registry is not None:
        from rmslab.discovery.machine import Machine
        from rmslab.discovery.settings import read_settings
        settings = read_settings(Machine(store.root.name, registry))
    for entry in store.entries:
        chain = parse(entry.text, source=entry.name)
        leaf = chain.leaf
        if entry.role == "EUL" and settings is not None:
            for url in leaf.license_acquisition_urls or tuple(
                    d.issuer.url for d in chain if d.issuer is not None and d.issuer.url):
                decision = settings.trust(url)
                if not decision.allowed:
                    report.add(Finding("RMS-012", "medium", f"{subject}: {entry.name}",
                                       decision.reason, "add the cluster to TrustedServers "
                                       "if it is trusted, or remove the license", "D-6"))
                    break
        if entry.role == "EUL" and content_ids is not None:
            if leaf.content_id and leaf.content_id not in content_ids:
                report.add(Finding("RMS-015", "low", f"{subject}: {entry.name}",
                                   f"a use license for content {leaf.content_id}, which the "
                                   "inventory did not find", "remove licenses for content "
                                   "that is gone", None))
        if entry.role == "CLC" and leaf.validity and leaf.validity.not_after \
                and leaf.validity.not_after < at:
            report.add(Finding("RMS-013", "medium", f"{subject}: {entry.name}",
                               f"the client licensor certificate expired on "
                               f"{leaf.validity.not_after:%Y-%m-%d}",
                               "request a new CLC while connected", "P-1"))
    for name, reason in store.unreadable:
        report.add(Finding("RMS-016", "low", f"{subject}: {name}", reason,
                           "remove or restore the file", "A-1"))


def _broad_grants(text: str) -> list[str]:
    """What a template grants too widely: each right given to ANYONE, and EXPORT to
    anyone (read from its rights list, not from its text; a template whose rights
    cannot be read grants nothing)."""
    from rmslab.errors import RmslabError
    from rmslab.flows.publishing import policy_from_template
    try:
        policy = policy_from_template(text)
    except RmslabError:
        return []
    found = []
    for grant in policy.grants:
        rights = ", ".join(grant.rights)
        if grant.user.upper() == "ANYONE":
            found.append(f"{rights} to ANYONE")
        elif "EXPORT" in grant.rights:
            found.append(f"EXPORT to {grant.user}")
    return found


def _template_findings(report: AuditReport,
                       stores: Sequence[tuple[LicenseStore, Any]]) -> None:
    """RMS-014 once per template (by name and text), naming the stores that hold it."""
    held: dict[tuple[str, str], list[str]] = {}
    for store, _ in stores:
        for template in store.templates:
            name = template.name.rsplit("/", 1)[-1]
            held.setdefault((name, template.text), []).append(store.subject)
    for (name, text), holders in sorted(held.items()):
        broad = _broad_grants(text)
        if broad:
            where = ", ".join(holders[:5]) + (f" and {len(holders) - 5} more"
                                              if len(holders) > 5 else "")
            report.add(Finding("RMS-014", "medium", f"template {name}",
                               f"grants {'; '.join(broad)}; held in {len(holders)} "
                               f"store(s): {where}",
                               "narrow the template's rights to the groups that need them",
                               "R-6"))


def share_graph(records: Iterable[dict[str, Any]]) -> graphviz.Digraph:
    """Which cluster (SLC key) protected what: one box per key, one per container kind,
    arrows labelled with file counts."""
    picture = _Picture()
    for record in records:
        picture.add(record)
    return picture.graph()


def lab_stores(deployment: Deployment) -> list[tuple[LicenseStore, Registry]]:
    """The client-mode license store of every account of a lab (D-3), as the lab holds
    it — RAC, CLC, use licenses and the template archive — each with its computer's
    registry. Entries are named as the lab names their files."""
    from rmslab.store.names import KINDS
    found = []
    for client in deployment.clients.values():
        for name, account in client.accounts.items():
            email = deployment.user(name).email if name in deployment.directory.users \
                else f"{name}@{deployment.directory.domain}"
            entries = [StoreEntry(KINDS["gic"].file_name(email), "GIC", "UTF-8",
                                  account.rac_text)]
            if account.clc_text:
                entries.append(StoreEntry(KINDS["clc"].file_name(email), "CLC", "UTF-8",
                                          account.clc_text))
            entries += [StoreEntry(KINDS["eul"].file_name(content_id), "EUL", "UTF-8", text)
                        for content_id, text in sorted(account.licenses.items())]
            templates = [StoreEntry(f"Templates/{KINDS['template'].file_name(t)}",
                                    "template", "UTF-8", text)
                         for t, text in sorted(account.templates.items())]
            store = LicenseStore("msipc-client", Path(client.name), None, entries, templates,
                                 label=f"store of {name} on {client.name}")
            found.append((store, client.registry))
    return found


def audit_artefacts(*, records: Iterable[dict[str, Any]] | None = None,
                    stores: Sequence[tuple[LicenseStore, Any]] = (),
                    domains_known: bool = False, at: datetime, subject: str = "share",
                    picture: bool = True, into: AuditReport | None = None) -> AuditReport:
    """Findings over inventory records (read once: they may be streamed) and license
    stores (each with its registry, or None). ``domains_known``: the inventory was given
    the trusted publishing domains.
    ``into``: add them to this report (a lab's) instead of a new one; the picture of
    which key protected what follows the report's own."""
    report = into if into is not None else AuditReport(subject, at)
    drawn = _Picture()
    content_ids = _inventory_findings(report, records or (), domains_known, at, drawn)
    for store, registry in stores:
        _store_findings(report, store, registry, content_ids, at)
    _template_findings(report, stores)
    if picture and content_ids is not None:
        from rmslab.viz.render import render
        svg = render(drawn.graph(), "svg").decode("utf-8")
        svg = svg[svg.index("<svg"):] if "<svg" in svg else svg
        before = report.picture_svg or ""
        before = before[before.index("<svg"):] if "<svg" in before else before
        report.picture_svg = before + svg
    return report
