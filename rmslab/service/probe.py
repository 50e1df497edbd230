"""``rmslab probe``: what an auditor learns from an RMS cluster by asking it what any
client may ask (SPEC A-1, A-2; MS-RMPR 3.4.4.2, 3.7.4.1–3.7.4.3).

:func:`probe` sends, to the cluster's base URL, GetServerInfo (version, features,
service locations), GetLicensorCertificate (the SLC chain, examined as ``rmslab verify``
examines a file: :func:`rmslab.report.examine`), FindServiceLocationsForUser (only with
a user's credentials: MS-RMPR lets no anonymous caller ask) and
AcquireTemplateInformation, and turns what it learns into findings with the audit's IDs
(:data:`rmslab.audit.findings.CHECKS`): a chain that does not verify to the pinned root
(RMS-001), an SLC expiring or expired (RMS-002), cryptographic mode 1 (RMS-003), a
server answering over plain HTTP (RMS-017), a chain checked against no pinned root
(RMS-018).

Every request is a SOAP 1.1 message written with :mod:`rmslab.service.soap`; a fault is
kept as an outcome (the exception name MS-RMPR gives, 3.1.4.5), not raised: the probe
goes on with the next request. This module does the probe's I/O (HTTP); it reads no
clock — the caller says when to check.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from rmslab.audit.findings import CHECKS, SEVERITIES, Finding
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, RmslabError
from rmslab.report import ChainReport, Verdict, examine
from rmslab.service.auth import basic_authorization
from rmslab.service.soap import (OPERATIONS, VERSION_1_0, Envelope, EnvelopeError, Node, el,
                                 read_envelope, read_fault, write_envelope)
from rmslab.xrml.model import format_time
from rmslab.xrml.reader import parse

__all__ = ["probe", "ProbeReport", "ProbeStep", "PROBE_SCHEMA_VERSION"]

PROBE_SCHEMA_VERSION = 1
_MAX_ANSWER = 32 * 1024 * 1024
#: The SLC expiry the audit warns about (RMS-002).
_SLC_WARNING = timedelta(days=60)
#: The service types the probe asks FindServiceLocationsForUser for (MS-RMPR 3.7.4.2.4.1).
_LOCATIONS = ("CertificationService", "LicensingService", "PublishingService",
              "ActivationService", "EnrollmentService", "ServerService")


@dataclass
class ProbeStep:
    """One request the probe made: the operation, the URL, the HTTP status, and what
    came of it — ``answered``, ``fault`` (the exception name), ``unreadable`` (no SOAP
    answer) or ``unreachable`` (no answer)."""

    operation: str
    url: str
    outcome: str
    status: int | None = None
    exception: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "url": self.url, "outcome": self.outcome,
                "status": self.status, "exception": self.exception, "detail": self.detail}


@dataclass
class ProbeReport:
    """What the probe learned: the steps, the server's information, the SLC chain's
    report, service locations, templates, and findings."""

    url: str
    checked_at: datetime
    anchor: PublicKey | None
    steps: list[ProbeStep] = field(default_factory=list)
    version: str | None = None
    features: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str | None] = field(default_factory=dict)
    user_locations: dict[str, str | None] | None = None
    slc: ChainReport | None = None
    slc_text: str | None = None
    templates: list[dict[str, str]] | None = None
    template_key: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        """Why the probe could not do its job (nothing answered, or not SOAP)."""
        broken = [s for s in self.steps if s.outcome in ("unreachable", "unreadable")]
        if not broken:
            return None
        return f"{broken[0].operation} at {broken[0].url}: {broken[0].detail}"

    def exit_status(self) -> int:
        """4 no server answered; 2 an answer was not SOAP; 3 the server refused a
        request; 1 a high finding; else 0 (docs/cli.md)."""
        outcomes = {s.outcome for s in self.steps}
        if outcomes == {"unreachable"}:
            return 4
        if "unreadable" in outcomes or "unreachable" in outcomes:
            return 2
        if "fault" in outcomes:
            return 3
        return 1 if any(f.severity == "high" for f in self.findings) else 0

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def _sorted_findings(self) -> list[Finding]:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(self.findings, key=lambda f: (order[f.severity], f.id, f.subject))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": PROBE_SCHEMA_VERSION, "url": self.url,
            "checked_at": format_time(self.checked_at),
            "anchor": self.anchor.fingerprint if self.anchor else None,
            "steps": [s.to_json() for s in self.steps],
            "server": {"version": self.version, "features": dict(self.features),
                       "service_locations": dict(self.locations)},
            "user_service_locations": (dict(self.user_locations)
                                       if self.user_locations is not None else None),
            "slc": self.slc.to_json() if self.slc is not None else None,
            "templates": ({"server_public_key": self.template_key,
                           "templates": list(self.templates)}
                          if self.templates is not None else None),
            "counts": self.counts(),
            "findings": [f.to_json() for f in self._sorted_findings()],
        }

    def to_text(self) -> str:
        lines = [f"probe of {self.url} at {self.checked_at:%Y-%m-%d %H:%M} UTC"]
        for step in self.steps:
            what = (f"{step.exception}: {step.detail}" if step.outcome == "fault" else
                    step.detail if step.outcome != "answered" else "answered")
            status = f"HTTP {step.status}" if step.status is not None else "no answer"
            lines.append(f"  {step.operation:<28} {status:<9} {what}")
        if self.version or self.features:
            features = ", ".join(f"{k}={v}" for k, v in self.features.items())
            lines.append(f"server version {self.version or '?'}"
                         + (f"; features {features}" if features else ""))
        for title, locations in (("service locations (GetServerInfo)", self.locations),
                                 ("service locations for the user "
                                  "(FindServiceLocationsForUser)", self.user_locations)):
            if locations:
                lines.append(title)
                lines += [f"  {kind:<22} {url or '(none)'}" for kind, url in locations.items()]
        if self.templates is not None:
            lines.append(f"templates: {len(self.templates)}, server key "
                         f"{self.template_key or '?'}")
            lines += [f"  {{{t['guid']}}} hash {t['hash']}" for t in self.templates]
        if self.slc is not None:
            lines.append("the server licensor certificate chain (GetLicensorCertificate):")
            lines += ["  " + line for line in self.slc.to_text().rstrip("\n").splitlines()]
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        lines.append(f"findings: {counts}")
        for f in self._sorted_findings():
            rule = f" [{f.spec_id}]" if f.spec_id else ""
            lines.append(f"  {f.id} {f.severity:<6} {f.subject}: {f.detail}{rule}")
            lines.append(f"         → {f.remediation}")
        return "\n".join(lines)


class _Client:
    """POSTs SOAP 1.1 requests to URLs under the probed base URL, over HTTP or HTTPS."""

    def __init__(self, base: str, timeout: float) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"{base!r} is not an http(s) URL of a cluster (…/_wmcs)")
        try:
            parts.port
        except ValueError:
            raise InputError(f"{base!r}: the port is not a number from 0 to 65535") from None
        self.base = base.rstrip("/")
        self.parts = parts
        self.timeout = timeout

    def call(self, report: ProbeReport, path: str, operation: str, request: Node, *,
             authorization: str | None = None) -> Envelope | None:
        """Send ``request`` to ``base/path``; record the step; the answer, or None."""
        definition = OPERATIONS[operation]
        versions = (VERSION_1_0, VERSION_1_0) if definition.versioned else None
        body = write_envelope(definition.service.namespace, request, versions=versions)
        url = f"{self.base}/{path}"
        step = ProbeStep(operation, url, "unreachable")
        report.steps.append(step)
        headers = {"Content-Type": "text/xml; charset=utf-8",
                   "SOAPAction": f'"{definition.action}"'}
        if authorization:
            headers["Authorization"] = authorization
        connection: http.client.HTTPConnection
        if self.parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                self.parts.hostname or "", self.parts.port, timeout=self.timeout,
                context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(self.parts.hostname or "",
                                                    self.parts.port, timeout=self.timeout)
        try:
            connection.request("POST", urlsplit(url).path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(_MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException, socket.timeout) as exc:
            step.detail = f"no answer ({exc})"
            return None
        finally:
            connection.close()
        step.status = response.status
        if len(data) > _MAX_ANSWER:
            step.outcome, step.detail = "unreadable", f"the answer is over {_MAX_ANSWER} bytes"
            return None
        try:
            envelope = read_envelope(data)
        except EnvelopeError:
            step.outcome = "unreadable"
            step.detail = ("not a SOAP answer: "
                           + data[:120].decode("utf-8", "replace").strip().replace("\n", " "))
            return None
        fault = read_fault(envelope)
        if fault is not None:
            step.outcome, step.exception = "fault", fault.exception.rsplit(".", 1)[-1]
            step.detail = fault.reason or fault.string
            return None
        if response.status != 200:
            step.outcome, step.detail = "unreadable", f"HTTP {response.status} without a fault"
            return None
        step.outcome = "answered"
        return envelope


def probe(url: str, *, at: datetime, anchor: PublicKey | None = None,
          user: str | None = None, password: str | None = None,
          timeout: float = 15.0) -> ProbeReport:
    """Probe the cluster whose base URL is ``url`` (see the module); check the SLC chain
    at ``at`` against ``anchor``; ask FindServiceLocationsForUser as ``user`` when a
    password is given."""
    client = _Client(url, timeout)
    report = ProbeReport(client.base, at, anchor)
    _server_info(client, report)
    if report.steps[-1].outcome == "unreachable":
        return report  # nothing answers there: the rest would fail the same way
    _licensor_certificate(client, report)
    if user is not None and password is not None:
        _user_locations(client, report, basic_authorization(user, password))
    _template_information(client, report)
    _findings(client, report)
    return report


def _server_info(client: _Client, report: ProbeReport) -> None:
    """GetServerInfo (MS-RMPR 3.7.4.3): version, features, service locations."""
    requests = el("requests", *(el("ServerInfoRequest", el("Type", kind))
                                for kind in ("VersionInfo", "ServerFeatureInfo",
                                             "ServiceLocations")))
    answer = client.call(report, "licensing/server.asmx", "GetServerInfo",
                         el("GetServerInfo", requests))
    if answer is None:
        return
    for result in answer.body.iter():
        if not isinstance(result.tag, str):
            continue
        local = result.tag.rsplit("}", 1)[-1]
        if local == "VersionInfo":
            report.version = result.get("Version")
        elif local == "Feature" and result.get("Name"):
            report.features[result.get("Name") or ""] = result.get("Value") or ""
        elif local == "ServiceLocation" and result.get("Type"):
            report.locations[result.get("Type") or ""] = result.get("Url") or None


def _licensor_certificate(client: _Client, report: ProbeReport) -> None:
    """GetLicensorCertificate (MS-RMPR 3.7.4.1): the SLC chain, examined."""
    answer = client.call(report, "licensing/server.asmx", "GetLicensorCertificate",
                         el("GetLicensorCertificate"))
    if answer is None:
        return
    try:
        chain_text = answer.chain(answer.find(answer.body, "GetLicensorCertificateResult",
                                              "CertificateChain"))
    except EnvelopeError as exc:
        chain_text, report.steps[-1].detail = None, str(exc)
    if chain_text is None:
        report.steps[-1].outcome = "unreadable"
        report.steps[-1].detail = report.steps[-1].detail or "the answer holds no certificate chain"
        return
    report.slc_text = chain_text
    try:
        chain = parse(chain_text, source="GetLicensorCertificate")
    except RmslabError as exc:
        report.steps[-1].outcome, report.steps[-1].detail = "unreadable", str(exc)
        return
    report.slc = examine(chain, at=report.checked_at, anchor=report.anchor)
    report.slc.file = f"{client.base}/licensing/server.asmx (GetLicensorCertificate)"


def _user_locations(client: _Client, report: ProbeReport, authorization: str) -> None:
    """FindServiceLocationsForUser (MS-RMPR 3.7.4.2), signed in."""
    names = el("ServiceNames", *(el("ServiceLocationRequest", el("Type", kind))
                                 for kind in _LOCATIONS))
    answer = client.call(report, "licensing/ServiceLocator.asmx",
                         "FindServiceLocationsForUser",
                         el("FindServiceLocationsForUser", names), authorization=authorization)
    if answer is None:
        return
    found: dict[str, str | None] = {}
    result = answer.find(answer.body, "FindServiceLocationsForUserResult")
    for response in answer.findall(result, "ServiceLocationResponse"):
        kind = answer.text_of(response, "Type") or "?"
        found[kind] = answer.text_of(response, "URL") or None
    report.user_locations = found


def _template_information(client: _Client, report: ProbeReport) -> None:
    """AcquireTemplateInformation (MS-RMPR 3.4.4.2): the server's key and a GUID and
    hash per template."""
    answer = client.call(report, "licensing/templateDistribution.asmx",
                         "AcquireTemplateInformation", el("AcquireTemplateInformation"))
    if answer is None:
        return
    result = answer.find(answer.body, "AcquireTemplateInformationResult")
    key = answer.text_of(result, "ServerPublicKey") if result is not None else None
    if key:
        import base64
        import binascii
        try:
            report.template_key = PublicKey.from_pem(
                base64.b64decode(key, validate=True)).short_fingerprint
        except (binascii.Error, ValueError, RmslabError):
            report.template_key = "(unreadable)"
    report.templates = [{"guid": answer.text_of(pair, "Guid") or "",
                         "hash": answer.text_of(pair, "Hash") or ""}
                        for pair in answer.findall(result, "GuidHash")]


def _findings(client: _Client, report: ProbeReport) -> None:
    subject = client.base
    if client.parts.scheme == "http":
        report.findings.append(Finding(
            "RMS-017", "medium", subject,
            "the server answers over plain HTTP: passwords (Basic), certificates and "
            "licenses travel in clear and can be altered on the way",
            "publish the cluster's URLs over HTTPS only (a lab on loopback may ignore this)",
            "A-2"))
    slc = report.slc
    if slc is None:
        return
    leaf = slc.documents[0] if slc.documents else None
    slc_subject = f"SLC of {subject}"
    verdict = slc.verdict
    if verdict is Verdict.INVALID or (verdict is Verdict.UNANCHORED and slc.anchor is not None):
        report.findings.append(Finding(
            "RMS-001", "high", slc_subject, slc.summary(),
            "renew or re-issue the SLC, or find out who answers at this URL: clients refuse "
            "what this chain signs", "A-1"))
    elif not slc.anchored and slc.anchor is None:
        report.findings.append(Finding(
            "RMS-018", "medium", slc_subject,
            "no root key was pinned, so nothing says who stands behind the chain the "
            "server sent",
            "probe again with --anchor KEYFILE: the root key you trust", "A-1"))
    try:
        document = parse(report.slc_text or "")[0]
    except RmslabError:
        return
    validity = document.validity
    expires = validity.not_after if validity is not None else None
    if expires is not None and expires - report.checked_at < _SLC_WARNING:
        state = "expired" if expires < report.checked_at else "expires"
        report.findings.append(Finding(
            "RMS-002", "high" if expires < report.checked_at else "medium", slc_subject,
            f"the SLC {state} on {expires:%Y-%m-%d}", "renew the cluster's SLC", "S-6"))
    if leaf is not None and ((leaf.key_bits or 2048) < 2048
                             or (leaf.digest_algorithm or "").upper().replace("-", "") == "SHA1"):
        report.findings.append(Finding(
            "RMS-003", "medium", slc_subject,
            f"signs in cryptographic mode 1 (RSA-{leaf.key_bits}, {leaf.digest_algorithm})",
            "move the cluster to cryptographic mode 2", None))
    assert all(f.id in CHECKS for f in report.findings)
