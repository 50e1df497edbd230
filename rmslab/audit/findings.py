"""The audit of a deployment (SPEC A-2)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rmslab.deployment import Deployment
from rmslab.errors import VerificationError
from rmslab.rules import RULE_ID, RULES, rule_anchor
from rmslab.trust import validate_chain
from rmslab.xrml.model import format_time
from rmslab.xrml.reader import parse

__all__ = ["Finding", "AuditReport", "audit_deployment", "SEVERITIES", "CHECKS",
           "UNAUTHORIZED_REPEATS"]

SEVERITIES = ("high", "medium", "low", "info")

#: Every check of the audit: stable ID → what it looks for.
CHECKS: dict[str, str] = {
    "RMS-001": "a certificate or license chain that does not verify up to the pinned root",
    "RMS-002": "a server licensor certificate that expires within 60 days, or has expired",
    "RMS-003": "cryptographic mode 1 (RSA-1024 / SHA-1) in use",
    "RMS-004": "refused enrollment or renewal requests in a cluster's log",
    "RMS-005": "temporary rights account certificates",
    "RMS-006": "trusted publishing domains imported into a cluster",
    "RMS-007": "no rights policy template requires revocation (revocation is not in force)",
    "RMS-008": "a cluster's revocation list is older than 7 days",
    "RMS-009": "a logging database that is missing, damaged, or lost requests",
    "RMS-010": "content protected in cryptographic mode 1 or with AES in ECB mode",
    "RMS-011": "content whose issuing key belongs to no known trusted publishing domain",
    "RMS-012": "licenses in a client's store from clusters the client does not trust",
    "RMS-013": "an expired client licensor certificate still used for offline publishing",
    "RMS-014": "a rights policy template granting ANYONE or EXPORT",
    "RMS-015": "a store holding use licenses for content no longer on the share",
    "RMS-016": "protected files that cannot be read",
    "RMS-017": "a server that answers over plain HTTP",
    "RMS-018": "a server licensor certificate chain checked against no pinned root",
    "RMS-019": "repeated UnauthorizedAccessException faults for one caller in a request log",
}

#: How many UnauthorizedAccessException faults for one caller make RMS-019.
UNAUTHORIZED_REPEATS = 3


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    subject: str
    detail: str
    remediation: str
    spec_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "check": CHECKS[self.id],
                "subject": self.subject, "detail": self.detail,
                "remediation": self.remediation, "spec_id": self.spec_id}


@dataclass
class AuditReport:
    domain: str
    at: datetime
    findings: list[Finding] = field(default_factory=list)
    picture_svg: str | None = None

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def to_json(self) -> dict[str, Any]:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        return {"schema": 1, "domain": self.domain, "at": format_time(self.at),
                "counts": self.counts(), "checks": dict(CHECKS),
                "findings": [f.to_json() for f in sorted(
                    self.findings, key=lambda f: (order[f.severity], f.id, f.subject))]}

    def to_text(self) -> str:
        data = self.to_json()
        lines = [f"audit of {self.domain} at {data['at']}: "
                 + ", ".join(f"{n} {s}" for s, n in data["counts"].items())]
        for f in data["findings"]:
            rule = f" [{f['spec_id']}]" if f["spec_id"] else ""
            lines.append(f"  {f['id']} {f['severity']:<6} {f['subject']}: {f['detail']}{rule}")
            lines.append(f"         → {f['remediation']}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """One self-contained page: the findings, the deployment picture, and an appendix
        that restates, in one line each, every check and rule the findings cite — each
        finding ID and rule ID on the page links to its line (nothing is fetched)."""
        data = self.to_json()
        cited: list[str] = []

        def linked(text: str) -> str:
            """``text`` escaped, with every known rule ID in it a link to the appendix."""
            def link(match: re.Match[str]) -> str:
                rule_id = match.group()
                if rule_id not in RULES:
                    return rule_id
                if rule_id not in cited:
                    cited.append(rule_id)
                return f"<a href='#rule-{rule_anchor(rule_id)}'>{rule_id}</a>"
            return RULE_ID.sub(link, html.escape(text))

        rows = "".join(
            f"<tr class='{html.escape(f['severity'])}'>"
            f"<td><a href='#check-{html.escape(f['id'].lower())}'>{html.escape(f['id'])}</a></td>"
            f"<td>{html.escape(f['severity'])}</td><td>{html.escape(f['subject'])}</td>"
            f"<td>{linked(f['detail'])}</td><td>{linked(f['remediation'])}</td>"
            f"<td>{linked(f['spec_id'] or '')}</td></tr>" for f in data["findings"])
        found = sorted({f["id"] for f in data["findings"]})
        checks = "".join(
            f"<tr id='check-{html.escape(check.lower())}'><td>{html.escape(check)}</td>"
            f"<td>{html.escape(CHECKS[check])}</td></tr>" for check in found)
        rules = "".join(
            f"<tr id='rule-{rule_anchor(rule_id)}'><td>{rule_id}</td>"
            f"<td>{html.escape(RULES[rule_id])}</td></tr>"
            for rule_id in sorted(cited, key=list(RULES).index))
        appendix = (
            "<h2 id='appendix'>Appendix: the checks and rules cited</h2>"
            + (f"<table>{checks}</table>" if checks else "<p>No finding.</p>")
            + (f"<p>Each rule in one line (rmslab's rule catalogue, docs/rules.md in its "
               f"repository, says where each comes from):</p><table>{rules}</table>"
               if rules else ""))
        picture = self.picture_svg or ""
        if picture.startswith("<?xml"):
            picture = picture[picture.index("<svg"):]
        counts = ", ".join(f"{n} {s}" for s, n in data["counts"].items())
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>rmslab audit of {html.escape(self.domain)}</title><style>"
            "body{font-family:Helvetica,sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
            "tr.high td{background:#fdecea}tr.medium td{background:#fff4e5}"
            "tr:target td{background:#fff9c4}"
            "</style></head><body>"
            f"<h1>Audit of {html.escape(self.domain)}</h1><p>at {data['at']} UTC: {counts}</p>"
            "<table><tr><th>ID</th><th>severity</th><th>subject</th><th>finding</th>"
            f"<th>remediation</th><th>rule</th></tr>{rows}</table>"
            f"<h2>Deployment</h2>{picture}{appendix}</body></html>\n")


def _chain_finding(report: AuditReport, text: str, subject: str, deployment: Deployment,
                   at: datetime) -> None:
    try:
        validate_chain(parse(text, source=subject), deployment.enrollment_service.anchor, at=at)
    except VerificationError as exc:
        report.add(Finding("RMS-001", "high", subject, str(exc),
                           "renew or re-issue the certificate; until then clients refuse it",
                           exc.spec_id or "A-1"))


def _unauthorized_finding(report: AuditReport, subject: str, log: Any) -> None:
    """RMS-019: a caller (account and address) the servers refused as unauthorized
    (MS-RMPR 3.3.4.1: Certify without a valid sign-in) again and again — someone
    guessing passwords, or a client with a stale one."""
    callers: dict[tuple[str, str], list[Any]] = {}
    for entry in log.requests(outcome="fault"):
        if (entry.exception or "").endswith("UnauthorizedAccessException"):
            callers.setdefault((entry.account, entry.client), []).append(entry)
    for (account, client), entries in sorted(callers.items()):
        if len(entries) < UNAUTHORIZED_REPEATS:
            continue
        where = f" from {client}" if client else ""
        report.add(Finding(
            "RMS-019", "medium", subject,
            f"{len(entries)} requests by {account}{where} refused as unauthorized "
            f"({', '.join(sorted({e.operation for e in entries}))}), {entries[0].at} to "
            f"{entries[-1].at}; the last: {entries[-1].detail}",
            "find out who is signing in with a wrong password (rmslab log DIR --requests "
            "--outcome fault)", "E-9"))


def audit_deployment(deployment: Deployment, *, at: datetime | None = None,
                     picture: bool = True) -> AuditReport:
    """Run every audit check over ``deployment`` at ``at`` (default: the lab's clock)."""
    moment = at or deployment.lab.now()
    report = AuditReport(deployment.directory.domain, moment)
    owners = [(f"cluster {c.name}", c.log) for c in deployment.clusters.values()]
    for subject, log in [*owners, ("the enrollment service", deployment.enrollment_service.log)]:
        if log.damage is not None:
            report.add(Finding("RMS-009", "high", subject, log.damage,
                               "restore the logging database from a backup and find out who "
                               "changed it: a log that disappears or loses requests hides "
                               "who asked for what", "E-8"))
    for subject, log in [*owners, ("the enrollment service", deployment.enrollment_service.log)]:
        if log.damage is None:
            _unauthorized_finding(report, subject, log)
    for cluster in deployment.clusters.values():
        subject = f"cluster {cluster.name}"
        if not cluster.enrolled:
            report.add(Finding("RMS-001", "high", subject, "the cluster has no SLC",
                               "enroll the cluster", "E-1"))
            continue
        _chain_finding(report, cluster.slc_text or "", subject, deployment, moment)
        expires = cluster.resources().slc_expires
        if expires is not None and expires - moment < timedelta(days=60):
            state = "expired" if expires < moment else "expires"
            report.add(Finding("RMS-002", "high" if expires < moment else "medium", subject,
                               f"the SLC {state} on {expires:%Y-%m-%d}",
                               "renew the SLC (online, or offline with "
                               f"{cluster.first_server.renew_request_name})", "S-6"))
        if cluster.key.bits < 2048 or cluster.slc.mode == 1:
            report.add(Finding("RMS-003", "medium", subject,
                               f"signs in cryptographic mode 1 ({cluster.key.bits}-bit key)",
                               "move the cluster to cryptographic mode 2", None))
        for entry in cluster.log.entries(outcome="refused"):
            report.add(Finding("RMS-004", "low", subject,
                               f"refused {entry.kind} request by {entry.requester} at "
                               f"{entry.at}: {entry.reason}",
                               "check who tried, and why", entry.spec_id or "E-8"))
        for name in sorted(cluster.trusted_domains):
            report.add(Finding("RMS-006", "info", subject,
                               f"trusts the publishing domain of {name}: it can license "
                               "everything that domain protected",
                               "keep the list of trusted publishing domains current", "P-7"))
        if cluster.revocation_list:
            issued = parse(cluster.revocation_list)[0].issued
            if issued is not None and moment - issued > timedelta(days=7):
                report.add(Finding("RMS-008", "medium", subject,
                                   f"its revocation list was signed on {issued:%Y-%m-%d}",
                                   "sign and publish the list again", "R-7"))
    templates = [t for c in deployment.clusters.values() for t in c.templates.values()]
    from rmslab.flows.publishing import policy_from_template
    if templates and not any(policy_from_template(t).revocation for t in templates):
        report.add(Finding("RMS-007", "info", deployment.directory.domain,
                           ("the one rights policy template does not require" if
                            len(templates) == 1 else
                            f"none of the {len(templates)} rights policy templates requires")
                           + " revocation, so revocation is not in force",
                           "require revocation in at least one template if you need it",
                           "R-6"))
    for client in deployment.clients.values():
        for name, account in client.accounts.items():
            subject = f"{name} on {client.name}"
            _chain_finding(report, account.rac_text, f"RAC of {subject}", deployment, moment)
            levels = dict(account.rac.principals[0].security_levels)
            if levels.get("Group-Identity-Credential-Type") == "Temporary":
                report.add(Finding("RMS-005", "info", subject,
                                   "holds a temporary rights account certificate",
                                   "expected on shared computers; otherwise certify the "
                                   "account normally", "E-9"))
            if account.clc_text:
                _chain_finding(report, account.clc_text, f"CLC of {subject}", deployment,
                               moment)
    if picture:
        from rmslab.viz.deployment import deployment_graph
        from rmslab.viz.render import render
        report.picture_svg = render(deployment_graph(deployment), "svg").decode("utf-8")
    return report
