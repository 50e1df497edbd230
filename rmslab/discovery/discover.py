"""Service discovery: which RMS server a client talks to, and why (SPEC D-7, D-9, D-6,
D-4, D-1).

Before protecting (publishing) the client looks for an on-premises server: first the
registry of the local computer (``ServiceLocation``), then the service connection point
(SCP) in Active Directory; if neither gives one, the cloud service. When consuming, the
server named in the content's publishing license comes first — its intranet URL, then its
extranet URL — and discovery runs only if that fails. With no registry setting and no SCP,
on-premises discovery fails.

Along the way: each licensing URL is passed through the LicensingRedirection values (old
URL → new URL; intranet and extranet URLs each need their own, D-9); each server must be
trusted when AllowTrustedServersOnly is set (the TrustedServers list plus the cloud
service; an https entry means TLS, D-6); content of the ILS service is refused outright
when DisablePassportCertification is 1, with HRESULT_FROM_WIN32
(ERROR_ACCESS_DISABLED_BY_POLICY) = 0x800704EC (D-4). On-premises and cloud services are
found and used the same way (D-1).

:func:`discover` never raises for a failed discovery: the :class:`Discovery` it returns
holds the error, the attempts in order and the :class:`~rmslab.trace.Trace` — which is
what an auditor needs; :meth:`Discovery.require` raises it for a flow that needs a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Literal

from rmslab.discovery.machine import Machine
from rmslab.discovery.scp import find_scp
from rmslab.discovery.services import (AZURE_RMS, CloudService, certification_url,
                                       cluster_base, host_of, is_ils_url, licensing_url)
from rmslab.discovery.settings import (ENTERPRISE_CERTIFICATION_KEY, ENTERPRISE_PUBLISHING_KEY,
                                       MSIPC_KEY, SERVICE_LOCATION_KEY, ClientSettings,
                                       read_settings)
from rmslab.errors import AccessDisabledByPolicyError, DiscoveryError, InputError
from rmslab.trace import Trace
from rmslab.xrml.document import PublishingLicense, XrmlDocument
from rmslab.xrml.reader import Chain

__all__ = [
    "Purpose", "Source", "Outcome", "Attempt", "Discovery", "discover", "license_urls",
    "INTRANET", "EXTRANET",
]

Purpose = Literal["publish", "consume"]
Source = Literal["registry", "scp", "license", "cloud"]
Outcome = Literal["used", "not found", "refused", "unreachable", "blocked"]

INTRANET = "License-Acquisition-URL"
EXTRANET = "Extranet-License-Acquisition-URL"


@dataclass(frozen=True)
class Attempt:
    """One place the client tried, what it named, and what came of it."""

    source: Source
    label: str
    outcome: Outcome
    reason: str
    certification_url: str | None = None
    licensing_url: str | None = None
    redirected_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "label": self.label, "outcome": self.outcome,
                "reason": self.reason, "certification_url": self.certification_url,
                "licensing_url": self.licensing_url, "redirected_from": self.redirected_from}


@dataclass(frozen=True)
class Discovery:
    """The outcome of service discovery: the URLs the client will use (``licensing_url``
    after any redirection), where they came from, every attempt in order, the trace —
    or, when no server can be used, the error."""

    machine: str
    purpose: Purpose
    source: Source | None
    certification_url: str | None
    licensing_url: str | None
    attempts: tuple[Attempt, ...]
    trace: Trace = field(repr=False)
    redirected_from: str | None = None
    error: DiscoveryError | None = None

    @property
    def found(self) -> bool:
        return self.error is None

    @property
    def failure(self) -> str | None:
        return self.error.reason if self.error is not None else None

    @property
    def tls(self) -> bool:
        """Whether the licensing server is reached over SSL/TLS."""
        return bool(self.licensing_url and self.licensing_url.lower().startswith("https://"))

    def require(self) -> Discovery:
        """This discovery, or its error raised (for flows that need a server)."""
        if self.error is not None:
            raise self.error
        return self

    def to_json(self) -> dict[str, Any]:
        error = self.error
        return {
            "machine": self.machine, "purpose": self.purpose,
            "certification_url": self.certification_url,
            "licensing_url": self.licensing_url, "source": self.source,
            "redirected_from": self.redirected_from, "tls": self.tls,
            "error": None if error is None else {
                "reason": error.reason, "spec_id": error.spec_id, "code": error.code,
                "hresult": (f"0x{error.hresult:08X}"
                            if isinstance(error, AccessDisabledByPolicyError) else None)},
            "attempts": [a.to_json() for a in self.attempts],
            "trace": [s.to_json() for s in self.trace.steps],
        }

    def summary(self) -> str:
        """Two or three lines: what the client will use, or why it cannot."""
        head = f"{self.machine} — {self.purpose}"
        if self.error is not None:
            return f"{head}\n  discovery FAILED: {self.error}"
        lines = [head, f"  source         {self.source}",
                 f"  certification  {self.certification_url}",
                 f"  licensing      {self.licensing_url}"]
        if self.redirected_from:
            lines.append(f"                 (redirected from {self.redirected_from})")
        return "\n".join(lines)

    def to_text(self) -> str:
        return f"{self.summary()}\n{self.trace.to_text()}"

    def __repr__(self) -> str:
        what = f"source={self.source!r}" if self.found else f"failed: {self.failure!r}"
        return f"<Discovery {self.machine!r} {self.purpose}: {what}>"


def _publishing_license(license: XrmlDocument | Chain) -> PublishingLicense:
    documents = license.documents if isinstance(license, Chain) else (license,)
    for doc in documents:
        if isinstance(doc, PublishingLicense):
            return doc
    raise InputError("no publishing license (Microsoft Rights Label) among the documents "
                     "given as the content's license")


def license_urls(license: XrmlDocument | Chain) -> list[tuple[str, str]]:
    """``(label, URL)`` of the licensing servers a publishing license names: the intranet
    URL first, then the extranet URL (the same URL only once)."""
    pl = _publishing_license(license)
    out: list[tuple[str, str]] = []
    for kind, label in ((INTRANET, "intranet licensing URL"),
                        (EXTRANET, "extranet licensing URL")):
        for point in pl.distribution_points:
            if point.type == kind and point.address and point.address not in (u for _, u in out):
                out.append((label, point.address))
    return out


class _Run:
    """One discovery in progress: the trace and the attempts so far."""

    def __init__(self, machine: Machine, purpose: Purpose, settings: ClientSettings,
                 unreachable: Collection[str]) -> None:
        self.machine = machine
        self.purpose = purpose
        self.settings = settings
        self.unreachable = {h.lower() for h in unreachable}
        self.trace = Trace(f"service discovery for {machine.name} ({purpose})")
        self.attempts: list[Attempt] = []

    def attempt(self, source: Source, label: str, outcome: Outcome, reason: str,
                certification: str | None = None, licensing: str | None = None,
                redirected_from: str | None = None) -> Attempt:
        made = Attempt(source, label, outcome, reason, certification, licensing,
                       redirected_from)
        self.attempts.append(made)
        return made

    def redirect(self, licensing: str) -> tuple[str, str | None]:
        """The licensing URL after LicensingRedirection (D-9), and the old URL if it was
        redirected."""
        new = self.settings.redirect(licensing)
        if new is not None:
            self.trace.step("client", "redirects licensing (LicensingRedirection)", new)
            self.trace.check("D-9", "a LicensingRedirection value names this licensing URL",
                             True, f"{licensing} → {new}")
            return new, licensing
        if self.settings.licensing_redirections:
            self.trace.check("D-9", "a LicensingRedirection value names this licensing URL",
                             True, f"none names {licensing} (an intranet and an extranet URL "
                             "each need their own entry): not redirected")
        return licensing, None

    def usable(self, source: Source, label: str, certification: str, licensing: str,
               redirected_from: str | None) -> Attempt:
        """Check trust (D-6) and reachability of a candidate server, once per host; record
        the attempt."""
        self.trace.step("client", "checks the server it would use", licensing)
        decisions = [self.settings.trust(certification), self.settings.trust(licensing)]
        hosts: list[str] = []
        for decision in decisions:
            host = host_of(decision.url)
            if host in hosts:
                continue
            hosts.append(host)
            self.trace.check("D-6", f"the client may contact {host}", decision.allowed,
                             decision.reason)
            if not decision.allowed:
                return self.attempt(source, label, "refused", decision.reason, certification,
                                    licensing, redirected_from)
        certification, licensing = (d.url for d in decisions)
        for host in hosts:
            reachable = host not in self.unreachable
            self.trace.check(None, f"{host} answers", reachable,
                             "" if reachable else f"{host} does not answer (decommissioned or "
                             "out of reach)")
            if not reachable:
                return self.attempt(source, label, "unreachable", f"{host} does not answer",
                                    certification, licensing, redirected_from)
        return self.attempt(source, label, "used", "the client uses this server",
                            certification, licensing, redirected_from)

    def result(self, used: Attempt) -> Discovery:
        self.trace.step("client", f"uses the {used.label}", used.licensing_url,
                        note=f"certification {used.certification_url}; licensing "
                             f"{used.licensing_url}")
        return Discovery(self.machine.describe(), self.purpose, used.source,
                         used.certification_url, used.licensing_url, tuple(self.attempts),
                         self.trace, used.redirected_from)

    def failed(self, error: DiscoveryError) -> Discovery:
        error.trace = self.trace
        return Discovery(self.machine.describe(), self.purpose, None, None, None,
                         tuple(self.attempts), self.trace, error=error)


def _read_settings_step(run: _Run) -> None:
    machine, settings = run.machine, run.settings
    view = machine.view
    notes = "; ".join(settings.notes)
    run.trace.step("client", "reads its RMS settings from the registry",
                   view.resolve(MSIPC_KEY), note=notes)
    run.trace.check(
        "D-4", "HKLM\\SOFTWARE is read as this application sees it", True,
        f"a 32-bit application on 64-bit Windows reads {view.resolve(MSIPC_KEY)}"
        if view.redirected else f"a {machine.app_bits}-bit application on "
        f"{machine.os_bits}-bit Windows reads {MSIPC_KEY}")
    if settings.trusted_servers_only:
        listed = ", ".join(s.entry for s in settings.trusted_servers) or "no servers"
        run.trace.check("D-6", "AllowTrustedServersOnly restricts the servers the client "
                        "trusts", True, f"trusted: {listed}, and the cloud service")


def _from_license(run: _Run, license: XrmlDocument | Chain) -> Attempt | None:
    """Try the servers the content's license names (D-7); raise for blocked ILS content."""
    urls = license_urls(license)
    run.trace.step("client", "reads the licensing servers named in the content's publishing "
                   "license", note=", ".join(u for _, u in urls) or "none")
    if not urls:
        run.trace.check("D-7", "the publishing license names a licensing server", False,
                        "it names none")
        run.attempt("license", "server named in the license", "not found",
                    "the publishing license names no licensing server")
        return None
    for label, named in urls:
        run.trace.step("client", f"tries the {label} of the publishing license", named)
        licensing, old = run.redirect(named)
        if is_ils_url(licensing):
            blocked = run.settings.ils_blocked
            run.trace.check("D-4", "content of the ILS service may be consumed", not blocked,
                            "DisablePassportCertification = 1 blocks it" if blocked else
                            "DisablePassportCertification is not 1")
            if blocked:
                run.attempt("license", label, "blocked", "ILS content is blocked by policy",
                            None, licensing, old)
                raise AccessDisabledByPolicyError(
                    "the content is protected by the ILS service and this client blocks it "
                    "(DisablePassportCertification = 1): HRESULT_FROM_WIN32("
                    "ERROR_ACCESS_DISABLED_BY_POLICY) = 0x800704EC", spec_id="D-4")
        attempt = run.usable("license", label, certification_url(cluster_base(licensing)),
                             licensing, old)
        if attempt.outcome == "used":
            return attempt
    return None


def _from_registry(run: _Run) -> Attempt | None:
    settings, view = run.settings, run.machine.view
    run.trace.step("client", "looks for ServiceLocation in the registry",
                   view.resolve(SERVICE_LOCATION_KEY))
    certification = settings.enterprise_certification
    publishing = settings.enterprise_publishing
    found = certification is not None or publishing is not None
    run.trace.check("D-7", "the registry names the enterprise certification and publishing "
                    "services", found,
                    f"EnterpriseCertification = {certification}; EnterprisePublishing = "
                    f"{publishing}" if found else
                    f"{view.resolve(ENTERPRISE_CERTIFICATION_KEY)} and "
                    f"{view.resolve(ENTERPRISE_PUBLISHING_KEY)} are not set (they are not "
                    "set by default)")
    if not found:
        run.attempt("registry", "ServiceLocation in the registry", "not found",
                    "EnterpriseCertification and EnterprisePublishing are not set")
        return None
    if certification is None or publishing is None:
        given = certification or publishing or ""
        certification = certification or certification_url(cluster_base(given))
        publishing = publishing or licensing_url(cluster_base(given))
        run.trace.step("client", "completes the service location from the same cluster",
                       note=f"only one of EnterpriseCertification and EnterprisePublishing is "
                            f"set: certification {certification}, licensing {publishing}")
    licensing, old = run.redirect(publishing)
    attempt = run.usable("registry", "ServiceLocation in the registry", certification,
                         licensing, old)
    return attempt if attempt.outcome == "used" else None


def _from_scp(run: _Run) -> Attempt | None:
    directory = run.machine.directory
    if directory is None:
        run.trace.step("client", "looks for the service connection point in Active Directory")
        run.trace.check("D-7", "Active Directory holds an SCP", False,
                        "the computer is not joined to a domain (no directory given): there "
                        "is no SCP to look up")
        run.attempt("scp", "SCP in Active Directory", "not found",
                    "the computer is not joined to a domain")
        return None
    lookup = find_scp(directory)
    run.trace.step("client", "searches Active Directory for the service connection point",
                   ", ".join(lookup.searched) or None,
                   note="; ".join(f"{dn}: {why}" for dn, why in lookup.rejected))
    scp = lookup.scp
    run.trace.check("D-7", "Active Directory holds an SCP (serviceConnectionPoint, keywords "
                    "MSRMRootCluster and 1.0)", scp is not None, lookup.reason)
    if scp is None:
        run.attempt("scp", "SCP in Active Directory", "not found", lookup.reason)
        return None
    licensing, old = run.redirect(scp.licensing_url)
    attempt = run.usable("scp", "SCP in Active Directory", scp.certification_url, licensing,
                         old)
    return attempt if attempt.outcome == "used" else None


def _from_cloud(run: _Run, cloud: CloudService | None) -> Attempt | None:
    run.trace.step("client", "falls back to the cloud service",
                   cloud.certification_url if cloud else None)
    if cloud is None:
        run.trace.check("D-7", "a cloud service is available", False,
                        "the user's organisation has no cloud (Azure RMS) service")
        run.attempt("cloud", "cloud service", "not found", "no cloud service for this user")
        return None
    attempt = run.usable("cloud", f"cloud service ({cloud.name})", cloud.certification_url,
                         cloud.licensing_url, None)
    return attempt if attempt.outcome == "used" else None


def _explain(attempts: list[Attempt]) -> str:
    return "; ".join(f"{a.label}: {a.reason}" for a in attempts)


def discover(machine: Machine, *, purpose: Purpose = "publish",
             license: XrmlDocument | Chain | None = None,
             cloud: CloudService | None = AZURE_RMS,
             unreachable: Collection[str] = ()) -> Discovery:
    """Find the server ``machine`` uses to publish, or to consume the content whose
    publishing license is ``license`` (D-7). ``cloud`` is the user's cloud service
    (``None``: the organisation has none); ``unreachable`` lists host names that do not
    answer (a decommissioned server)."""
    if purpose not in ("publish", "consume"):
        raise InputError(f"unknown purpose {purpose!r}: publish or consume")
    if purpose == "consume" and license is None:
        raise InputError("consuming needs the content's publishing license (the server it "
                         "names comes first)")
    run = _Run(machine, purpose, read_settings(machine), unreachable)
    _read_settings_step(run)
    if purpose == "consume" and license is not None:
        try:
            used = _from_license(run, license)
        except AccessDisabledByPolicyError as exc:
            return run.failed(exc)
        if used is not None:
            return run.result(used)
        run.trace.step("client", "runs service discovery")
        run.trace.check("D-7", "discovery runs only when the server named in the content's "
                        "license fails", True, _explain(run.attempts))
    on_premises = _from_registry(run) or _from_scp(run)
    if on_premises is not None:
        return run.result(on_premises)
    tried = [a for a in run.attempts if a.source in ("registry", "scp")]
    nothing = all(a.outcome == "not found" for a in tried)
    run.trace.step("client", "gives up on-premises (AD RMS) discovery")
    run.trace.check("D-7", "on-premises discovery finds an AD RMS server", False,
                    "neither the registry nor an SCP names an AD RMS server" if nothing else
                    _explain(tried))
    used = _from_cloud(run, cloud)
    if used is not None:
        return run.result(used)
    reason = ("on-premises discovery failed: neither the registry nor an SCP in Active "
              "Directory names an AD RMS server" if nothing else
              f"no AD RMS server could be used ({_explain(tried)})")
    cloud_attempt = run.attempts[-1]
    return run.failed(DiscoveryError(f"{reason}, and {cloud_attempt.label}: "
                                     f"{cloud_attempt.reason}", spec_id="D-7"))
