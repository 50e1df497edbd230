"""The service connection point (SCP) of AD RMS in Active Directory: finding it, and the
rules for registering and removing it (SPEC D-7, D-8).

From [MS-RMPR] 3.1.4.4: the SCP is an object of class ``serviceConnectionPoint`` in a
``RightsManagementServices`` container of the forest's configuration naming context
(``CN=RightsManagementServices,CN=Services,CN=Configuration,DC=…``), with the keywords
``MSRMRootCluster`` and ``1.0``; its ``serviceBindingInformation`` is
``[baseURL]/certification``.

The deployment notes' rules (D-8): registering needs an account that is in Enterprise Admins *and* a
local administrator of the AD RMS server; a forest holds one SCP, so an existing one must
be removed before a new one is registered. Changes are returned as LDIF change records,
the file an administrator would import with ``ldifde -i``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmslab.discovery.directory import Directory, Entry, dn_within
from rmslab.discovery.ldif import LdifRecord, write_ldif
from rmslab.discovery.services import cluster_base, is_http_url, licensing_url
from rmslab.errors import ScpRegistrationRefusedError
from rmslab.trace import Trace

__all__ = [
    "SCP_KEYWORDS", "RMS_CONTAINER_NAME", "ServiceConnectionPoint", "ScpLookup", "find_scp",
    "AdminAccount", "ScpChange", "register_scp", "remove_scp", "configuration_contexts",
]

SCP_KEYWORDS = ("MSRMRootCluster", "1.0")
RMS_CONTAINER_NAME = "RightsManagementServices"
SCP_CLASS = "serviceConnectionPoint"


@dataclass(frozen=True)
class ServiceConnectionPoint:
    """A valid AD RMS SCP."""

    dn: str
    binding: str               # serviceBindingInformation: [baseURL]/certification
    keywords: tuple[str, ...]

    @property
    def base_url(self) -> str:
        return cluster_base(self.binding)

    @property
    def certification_url(self) -> str:
        return self.binding

    @property
    def licensing_url(self) -> str:
        return licensing_url(self.base_url)


@dataclass(frozen=True)
class ScpLookup:
    """What a search of the directory for the SCP found (D-7)."""

    scp: ServiceConnectionPoint | None
    searched: tuple[str, ...]                 # the RightsManagementServices containers
    rejected: tuple[tuple[str, str], ...]     # (dn, why it is not a usable SCP)
    reason: str                               # found what, or why nothing


def configuration_contexts(directory: Directory) -> tuple[str, ...]:
    """The configuration naming contexts (``CN=Configuration,DC=…``) the directory's
    entries lie in, in the order first seen."""
    found: dict[str, str] = {}
    for entry in directory:
        rdns = entry.rdns
        for i, (kind, value) in enumerate(rdns):
            tail = rdns[i + 1:]
            if (kind.lower() == "cn" and value.lower() == "configuration" and tail
                    and all(k.lower() == "dc" for k, _ in tail)):
                dn = ",".join(f"{k}={v}" for k, v in rdns[i:])
                found.setdefault(dn.lower(), dn)
                break
    return tuple(found.values())


def _container(config: str) -> str:
    return f"CN={RMS_CONTAINER_NAME},CN=Services,{config}"


def _in_rms_container(entry: Entry, configs: tuple[str, ...]) -> bool:
    rdns = entry.rdns
    if len(rdns) < 2 or rdns[1][0].lower() != "cn" or rdns[1][1].lower() != RMS_CONTAINER_NAME.lower():
        return False
    return any(dn_within(entry.dn, c) for c in configs)


def _is_scp_object(entry: Entry) -> bool:
    category = (entry.text("objectCategory") or "").lower()
    return (SCP_CLASS.lower() in entry.object_classes
            or category.startswith("cn=service-connection-point,"))


def _rms_scp_objects(directory: Directory, configs: tuple[str, ...]) -> list[Entry]:
    """SCP objects that belong to AD RMS: in an RMS container, or carrying its keyword."""
    return [e for e in directory if _is_scp_object(e) and (
        _in_rms_container(e, configs)
        or any(k.lower() == SCP_KEYWORDS[0].lower() for k in e.texts("keywords")))]


def _problem(entry: Entry, configs: tuple[str, ...]) -> str | None:
    if not _in_rms_container(entry, configs):
        return ("not in a RightsManagementServices container of the forest's configuration "
                "naming context")
    keywords = {k.lower() for k in entry.texts("keywords")}
    missing = [k for k in SCP_KEYWORDS if k.lower() not in keywords]
    if missing:
        return f"the keywords {', '.join(missing)} are missing"
    binding = entry.texts("serviceBindingInformation")
    if not binding:
        return "it has no serviceBindingInformation"
    if not is_http_url(binding[0]) or not binding[0].rstrip("/").lower().endswith("/certification"):
        return (f"serviceBindingInformation {binding[0]!r} is not an http(s) URL of the form "
                "[baseURL]/certification")
    return None


def find_scp(directory: Directory) -> ScpLookup:
    """Search the directory for the AD RMS SCP, as a domain-joined client does (D-7)."""
    configs = configuration_contexts(directory)
    containers = tuple(_container(c) for c in configs)
    if not configs:
        return ScpLookup(None, (), (), "the directory holds no configuration naming context "
                         "(CN=Configuration,DC=…): no SCP can be found")
    valid: list[ServiceConnectionPoint] = []
    rejected: list[tuple[str, str]] = []
    for entry in _rms_scp_objects(directory, configs):
        problem = _problem(entry, configs)
        if problem:
            rejected.append((entry.dn, problem))
            continue
        valid.append(ServiceConnectionPoint(entry.dn, entry.texts("serviceBindingInformation")[0]
                                            .strip(), entry.texts("keywords")))
    if len(valid) == 1:
        scp = valid[0]
        return ScpLookup(scp, containers, tuple(rejected),
                         f"{scp.dn} points to {scp.certification_url}")
    if not valid:
        why = ("no SCP is registered" if not rejected
               else f"{len(rejected)} object(s) look like one but are not usable")
        return ScpLookup(None, containers, tuple(rejected), f"{why} in {', '.join(containers)}")
    return ScpLookup(None, containers, tuple(rejected),
                     f"{len(valid)} SCPs are registered ({', '.join(s.dn for s in valid)}); a "
                     "forest holds one (D-8), so the client cannot tell which cluster to use")


# --- registration (D-8) -------------------------------------------------------------------


@dataclass(frozen=True)
class AdminAccount:
    """The account that registers or removes the SCP, and the rights it holds."""

    name: str
    enterprise_admin: bool = False
    local_administrator: bool = False


@dataclass(frozen=True)
class ScpChange:
    """A change to the directory: the directory after it, the LDIF change records that
    make it (for ``ldifde -i``), and the trace of the rules checked."""

    directory: Directory
    records: tuple[LdifRecord, ...]
    trace: Trace

    @property
    def ldif(self) -> str:
        return write_ldif(self.records)


def _check_rights(trace: Trace, account: AdminAccount, action: str) -> None:
    """Both rights the deployment notes require, each a check; refuse at the first one missing."""
    for description, held, missing in (
            ("the account is a member of Enterprise Admins", account.enterprise_admin,
             f"{account.name} is not in Enterprise Admins"),
            ("the account is a local administrator of the AD RMS server",
             account.local_administrator,
             f"{account.name} is not a local administrator of the AD RMS server")):
        trace.check("D-8", description, held, "" if held else missing)
        if not held:
            raise ScpRegistrationRefusedError(
                f"{action} refused: {missing} (Enterprise Admins and local administrator of "
                "the AD RMS server are both needed)", spec_id="D-8", trace=trace)


def _one_configuration(trace: Trace, directory: Directory, action: str) -> str:
    configs = configuration_contexts(directory)
    ok = trace.check(None, "the forest's configuration naming context is known",
                     len(configs) == 1,
                     configs[0] if len(configs) == 1 else
                     "the directory holds none" if not configs else
                     f"the directory holds {len(configs)} forests: {', '.join(configs)}")
    if not ok.passed:
        raise ScpRegistrationRefusedError(f"{action} refused: {ok.reason}", spec_id="D-8",
                                          trace=trace)
    return configs[0]


def register_scp(directory: Directory, base_url: str, account: AdminAccount) -> ScpChange:
    """Register the SCP of the cluster at ``base_url`` (``https://rms.contoso.com/_wmcs``;
    a URL ending in ``/certification`` is accepted too) — "set SCP to the current
    certification cluster" in the AD RMS console (D-8)."""
    base = cluster_base(base_url)
    binding = f"{base}/certification"
    trace = Trace("registering the AD RMS service connection point")
    trace.step(account.name, "registers the SCP", binding)
    _check_rights(trace, account, "SCP registration")
    config = _one_configuration(trace, directory, "SCP registration")
    ok = trace.check(None, "the cluster URL is an http(s) URL", is_http_url(base),
                     base if is_http_url(base) else f"{base_url!r} is not an http(s) URL")
    if not ok.passed:
        raise ScpRegistrationRefusedError(f"SCP registration refused: {ok.reason}",
                                          spec_id="D-8", trace=trace)
    existing = _rms_scp_objects(directory, (config,))
    ok = trace.check("D-8", "no SCP exists in the forest yet", not existing,
                     "" if not existing else f"{existing[0].dn} exists: remove the existing SCP "
                     "before registering a new one")
    if not ok.passed:
        raise ScpRegistrationRefusedError(f"SCP registration refused: {ok.reason}",
                                          spec_id="D-8", trace=trace)
    container = _container(config)
    records: list[LdifRecord] = []
    if directory.get(container) is None:
        records.append(LdifRecord(container, "add", (("objectClass", "container"),
                                                     ("cn", RMS_CONTAINER_NAME))))
    scp_dn = f"CN=SCP,{container}"
    records.append(LdifRecord(scp_dn, "add", (
        ("objectClass", SCP_CLASS), ("cn", "SCP"),
        ("keywords", SCP_KEYWORDS[0]), ("keywords", SCP_KEYWORDS[1]),
        ("serviceBindingInformation", binding))))
    trace.step(account.name, "adds the SCP object", scp_dn,
               note=f"serviceBindingInformation: {binding}")
    return ScpChange(directory.apply(records), tuple(records), trace)


def remove_scp(directory: Directory, account: AdminAccount) -> ScpChange:
    """Remove the forest's AD RMS SCP (the console's "change SCP", or before registering
    another cluster's) (D-8)."""
    trace = Trace("removing the AD RMS service connection point")
    trace.step(account.name, "removes the SCP")
    _check_rights(trace, account, "SCP removal")
    config = _one_configuration(trace, directory, "SCP removal")
    existing = _rms_scp_objects(directory, (config,))
    ok = trace.check(None, "an SCP exists in the forest", bool(existing),
                     ", ".join(e.dn for e in existing) if existing else
                     f"there is no SCP in {_container(config)}")
    if not ok.passed:
        raise ScpRegistrationRefusedError(f"SCP removal refused: {ok.reason}", spec_id="D-8",
                                          trace=trace)
    records = tuple(LdifRecord(e.dn, "delete") for e in existing)
    return ScpChange(directory.apply(records), records, trace)

