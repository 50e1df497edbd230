"""What several flows share: request files, the log entry, the admin rule, the trust
rule for the computer that submits files, the rule that a cluster issues only while
its SLC lets it, and the rule that a decommissioned cluster answers none of MS-RMPR's
operations (SPEC E-8, S-1, S-4; MS-RMPR 3.1.6.2, 3.1.1.1.1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rmslab.actors.cluster import Cluster, Server
from rmslab.actors.people import LOCAL_ADMINISTRATORS, Computer, Directory, User
from rmslab.errors import (ClusterDecommissionedError, NotAdministratorError, NotConnectedError, NotEnrolledError,
                           RefusedError, SlcExpiredError, UntrustedSiteError)
from rmslab.trace import Trace

__all__ = ["RequestFile", "InProcessService", "log_request", "require_administrator",
           "require_trusted_site", "require_slc_in_force", "require_not_decommissioned",
           "SLC_EXPIRY_RULE", "SERVER_STATE_RULE"]

#: The rule an expired SLC breaks (there is no SPEC ID for it).
SLC_EXPIRY_RULE = "MS-RMPR 3.1.6.2"
#: The switches of a cluster's ServerState: serverDecommissioned, onlinePublishingEnabled
#: (no SPEC ID covers them).
SERVER_STATE_RULE = "MS-RMPR 3.1.1.1.1"


class InProcessService:
    """A cluster's service called in process: reachable while one of its servers is
    connected (the HTTP counterparts are in :mod:`rmslab.service`)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.name = cluster.name

    @property
    def server_name(self) -> str:
        return self.cluster.first_server.name

    @property
    def reachable(self) -> bool:
        return any(s.connected for s in self.cluster.servers)


@dataclass(frozen=True)
class RequestFile:
    """A request or response carried between computers as a file (E-3, S-3)."""

    name: str
    text: str

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / self.name
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(self.text, encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "RequestFile":
        from rmslab.xrml.source import decode_text
        p = Path(path)
        return cls(p.name, decode_text(p.read_bytes()))


def log_request(cluster: Cluster, trace: Trace, *, kind: str, requester: str, subject: str,
                channel: str, accepted: bool, reason: str = "", spec_id: str | None = None,
                request_id: str | None = None) -> None:
    """Record a request in the cluster's logging database, accepted or refused (E-8)."""
    row = cluster.log.record(at=cluster.lab.now(), kind=kind, requester=requester,
                             subject=subject, channel=channel, accepted=accepted,
                             reason=reason, spec_id=spec_id, request_id=request_id)
    trace.check("E-8", f"the {kind} request is logged in {cluster.name}'s logging database",
                True, f"log entry {row}: {'accepted' if accepted else 'refused'}")


def require_administrator(server: Server, user: User, directory: Directory,
                          trace: Trace) -> None:
    """S-1: only a member of the server's local Administrators group or of Domain Admins."""
    local = user.name in server.administrators
    domain = directory.is_domain_admin(user)
    passed = local or domain
    reason = (f"{user} is in {server.name}'s local {LOCAL_ADMINISTRATORS} group" if local else
              f"{user} is a domain administrator" if domain else
              f"{user} is neither in {server.name}'s local {LOCAL_ADMINISTRATORS} group nor "
              f"in Domain Admins")
    trace.check("S-1", "the user administers the server", passed, reason)
    if not passed:
        raise NotAdministratorError(f"the administration pages refuse {user}: {reason}",
                                    spec_id="S-1", trace=trace)


def require_trusted_site(computer: Computer, *, tls_root: str, site: str, url: str,
                         trace: Trace) -> None:
    """S-4: the submitting computer must be connected, trust the enrollment site's TLS root
    and trust the site."""
    if not computer.connected:
        trace.check("S-4", f"{computer.name} can reach the enrollment site", False,
                    f"{computer.name} is not connected to the internet")
        raise NotConnectedError(f"{computer.name} is not connected: carry the file to a "
                                f"connected computer", spec_id="S-3", trace=trace)
    root_ok = tls_root in computer.trusted_roots
    trace.check("S-4", f"{computer.name} trusts the TLS root of {site}", root_ok,
                f"'{tls_root}' is {'in' if root_ok else 'missing from'} its trusted store")
    if not root_ok:
        raise UntrustedSiteError(
            f"{computer.name} cannot open a trusted connection to {url}: the TLS root "
            f"'{tls_root}' is not in its trusted root store", spec_id="S-4", trace=trace)
    site_ok = site in computer.trusted_sites
    trace.check("S-4", f"{computer.name} trusts the site {site}", site_ok,
                "" if site_ok else "the site is not among its trusted sites")
    if not site_ok:
        raise UntrustedSiteError(f"{computer.name} does not trust the site {site}",
                                 spec_id="S-4", trace=trace)


def refuse_and_log(cluster: Cluster, trace: Trace, exc: RefusedError, *, kind: str,
                   requester: str, subject: str, channel: str) -> RefusedError:
    log_request(cluster, trace, kind=kind, requester=requester, subject=subject,
                channel=channel, accepted=False, reason=exc.reason, spec_id=exc.spec_id)
    exc.trace = trace
    return exc


def require_slc_in_force(cluster: Cluster, trace: Trace, what: str) -> None:
    """A cluster issues certificates and licenses only while the time range of its SLC's
    ISSUE right holds (MS-RMPR 3.1.6.2: outside it, what it issued would be invalid; the
    server has its SLC reissued first). Raises :class:`SlcExpiredError` naming the SLC's
    end (or start), :class:`NotEnrolledError` when the cluster has no SLC. ``what`` names
    what was asked for ("a use license"). The check is recorded only when it fails."""
    if not cluster.enrolled:
        trace.check("E-1", f"{cluster.name} has an SLC to issue {what} under", False)
        raise NotEnrolledError(f"{cluster.name} has no SLC: it cannot issue {what}",
                               spec_id="E-1", trace=trace)
    window = cluster.issue_window
    now = cluster.lab.now()
    if window is None or window.contains(now):
        return
    slc = cluster.slc
    if window.not_after is not None and now > window.not_after:
        reason = (f"the SLC {slc.id} of {cluster.name} expired on "
                  f"{window.not_after:%Y-%m-%d %H:%M} UTC")
    else:
        assert window.not_before is not None
        reason = (f"the SLC {slc.id} of {cluster.name} lets it issue only from "
                  f"{window.not_before:%Y-%m-%d %H:%M} UTC")
    trace.check(SLC_EXPIRY_RULE, f"{cluster.name}'s SLC lets it issue now", False,
                f"{reason}; now is {now:%Y-%m-%d %H:%M} UTC")
    raise SlcExpiredError(f"{reason}: a server issues no certificate or license outside its "
                          f"SLC's ISSUE right, so {cluster.name} cannot issue {what}; renew "
                          "the SLC first", spec_id=SLC_EXPIRY_RULE, trace=trace,
                          not_before=window.not_before, not_after=window.not_after)


def require_not_decommissioned(cluster: Cluster, trace: Trace, operation: str) -> None:
    """A decommissioned cluster answers none of the operations whose sections say so —
    Certify (MS-RMPR 3.3.4.1), AcquireLicense (3.4.4.1), AcquireTemplateInformation
    (3.4.4.2), AcquireTemplates (3.4.4.3), AcquireIssuanceLicense (3.5.4.1),
    GetClientLicensorCert (3.5.4.2), GetLicensorCertificate (3.7.4.1) — with
    ClusterDecommissionedException; MS-RMSI 3.3.4.1 adds "in this mode, it will only
    service requests to the Decommissioning interface". ``operation`` names the request.
    The check is recorded only when it fails."""
    if not cluster.decommissioned:
        return
    trace.check(SERVER_STATE_RULE, f"{cluster.name} is in normal operation", False,
                f"serverDecommissioned is true: it answers no {operation}, only "
                "AcquireContentKey (MS-RMSI 3.2.4.1)")
    raise ClusterDecommissionedError(
        f"{cluster.name} is decommissioned: it answers no {operation}; its content is "
        "decrypted through the decommissioning interface (AcquireContentKey) before the "
        "server is removed", spec_id=SERVER_STATE_RULE, trace=trace)
