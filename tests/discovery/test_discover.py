"""Service discovery, asserted on its trace: registry, then SCP, then cloud; the server in
the content's license first when consuming; licensing redirection; the trusted-servers
restriction; blocked ILS content; 32-bit applications; on-premises and cloud alike.

covers: D-1, D-4, D-6, D-7, D-9
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmslab.discovery.discover import discover, license_urls
from rmslab.discovery.machine import Machine
from rmslab.discovery.paths import ClientMode
from rmslab.discovery.samples import OLD_CONTOSO_EXTRANET, OLD_CONTOSO_INTRANET, content_license
from rmslab.discovery.services import ILS_HOST, CloudService
from rmslab.errors import AccessDisabledByPolicyError, DiscoveryError, InputError
from rmslab.lab import Lab
from rmslab.trace import Trace
from rmslab.xrml.reader import Chain, read_file

REPO = Path(__file__).resolve().parents[2]
REG, LDIF = REPO / "data" / "registry", REPO / "data" / "directory"
OLD_CLUSTER = ["corprights", "corprights.contoso.com"]


def machine(name: str, *regs: str, ldif: str | None = None, app_bits: int = 64) -> Machine:
    return Machine.from_files(name, *(REG / r for r in regs),
                              ldif=LDIF / ldif if ldif else None, app_bits=app_bits)


@pytest.fixture(scope="module")
def old_document() -> Chain:
    return content_license(Lab())


def steps(discovery_trace: Trace) -> list[str]:
    return [s.action for s in discovery_trace]


# covers: D-7
def test_registry_first() -> None:
    result = discover(machine("WS-PILOT", "contoso-new-cluster-service-location.reg",
                              ldif="contoso-forest-scp.ldf"))
    assert (result.source, result.certification_url, result.licensing_url) == (
        "registry", "https://rms.contoso.com/_wmcs/Certification",
        "https://rms.contoso.com/_wmcs/Licensing")
    assert steps(result.trace) == [
        "reads its RMS settings from the registry", "looks for ServiceLocation in the registry",
        "checks the server it would use", "uses the ServiceLocation in the registry"]
    assert [a.source for a in result.attempts] == ["registry"]  # the SCP is never asked
    d7 = [c for c in result.trace.checks if c.spec_id == "D-7"]
    assert d7[0].passed and "EnterpriseCertification = https://rms.contoso.com" in d7[0].reason


# covers: D-7
def test_then_the_service_connection_point() -> None:
    result = discover(machine("WS-SCP", "ws-fresh-client.reg", ldif="contoso-forest-scp.ldf"))
    assert result.source == "scp"
    assert result.certification_url == "https://corprights.contoso.com/_wmcs/certification"
    assert result.licensing_url == "https://corprights.contoso.com/_wmcs/licensing"
    assert [(a.source, a.outcome) for a in result.attempts] == [("registry", "not found"),
                                                                ("scp", "used")]
    registry_check, scp_check = [c for c in result.trace.checks if c.spec_id == "D-7"]
    assert not registry_check.passed and "are not set (they are not set by default)" in \
        registry_check.reason
    assert scp_check.passed and scp_check.reason.startswith("CN=SCP,CN=RightsManagementServices")


# covers: D-7, D-1
def test_with_neither_on_premises_discovery_fails_and_the_cloud_is_used() -> None:
    result = discover(machine("WS-NEW", "ws-fresh-client.reg", ldif="contoso-forest-no-scp.ldf"),
                      cloud=CloudService(tenant="4f1c2a9e"))
    assert result.source == "cloud" and result.found
    assert result.certification_url == "https://4f1c2a9e.rms.na.aadrm.com/_wmcs/certification"
    failed = result.trace.failed_checks
    assert [c.description for c in failed] == [
        "the registry names the enterprise certification and publishing services",
        "Active Directory holds an SCP (serviceConnectionPoint, keywords MSRMRootCluster and 1.0)",
        "on-premises discovery finds an AD RMS server"]
    assert failed[-1].reason == "neither the registry nor an SCP names an AD RMS server"
    assert steps(result.trace)[-3:] == ["falls back to the cloud service",
                                        "checks the server it would use",
                                        "uses the cloud service (Azure Rights Management)"]


# covers: D-7
def test_without_a_cloud_service_discovery_fails_with_the_reason() -> None:
    result = discover(machine("WS-NEW", "ws-fresh-client.reg"), cloud=None)
    assert not result.found and result.source is None and result.licensing_url is None
    assert result.failure is not None and result.failure.startswith(
        "on-premises discovery failed: neither the registry nor an SCP in Active Directory "
        "names an AD RMS server, and cloud service: no cloud service for this user")
    assert result.attempts[1].reason == "the computer is not joined to a domain"
    with pytest.raises(DiscoveryError) as caught:
        result.require()
    assert caught.value.spec_id == "D-7" and caught.value.trace is result.trace
    assert result.to_json()["error"]["code"] == "discovery-failed"


# covers: D-7
def test_consuming_asks_the_server_named_in_the_license_first(old_document: Chain) -> None:
    assert license_urls(old_document) == [("intranet licensing URL", OLD_CONTOSO_INTRANET),
                                          ("extranet licensing URL", OLD_CONTOSO_EXTRANET)]
    result = discover(machine("WS-PILOT", "contoso-new-cluster-service-location.reg"),
                      purpose="consume", license=old_document)
    assert (result.source, result.licensing_url) == ("license", OLD_CONTOSO_INTRANET)
    assert result.certification_url == "https://corprights/_wmcs/certification"
    assert [a.source for a in result.attempts] == ["license"]  # no discovery at all


# covers: D-7
def test_discovery_runs_only_when_the_licenses_server_fails(old_document: Chain) -> None:
    result = discover(machine("WS-PILOT", "contoso-new-cluster-service-location.reg"),
                      purpose="consume", license=old_document, unreachable=OLD_CLUSTER)
    assert [(a.source, a.outcome) for a in result.attempts] == [
        ("license", "unreachable"), ("license", "unreachable"), ("registry", "used")]
    assert "runs service discovery" in steps(result.trace)
    rule = next(c for c in result.trace.checks if c.description.startswith("discovery runs only"))
    assert rule.spec_id == "D-7" and "corprights does not answer" in rule.reason
    with pytest.raises(InputError, match="publishing license"):
        discover(Machine(), purpose="consume")


# covers: D-9
def test_redirection_after_a_merger(old_document: Chain) -> None:
    result = discover(machine("FAB-LT-7", "fabrikam-merger-licensing-redirection.reg",
                              ldif="fabrikam-forest-scp.ldf"),
                      purpose="consume", license=old_document, unreachable=OLD_CLUSTER)
    assert result.source == "license"
    assert result.licensing_url == "https://adrms.fabrikam.com/_wmcs/licensing"
    assert result.redirected_from == OLD_CONTOSO_INTRANET
    assert result.to_json()["licensing_url"] == "https://adrms.fabrikam.com/_wmcs/licensing"
    (d9,) = [c for c in result.trace.checks if c.spec_id == "D-9"]
    assert d9.reason == f"{OLD_CONTOSO_INTRANET} → https://adrms.fabrikam.com/_wmcs/licensing"


# covers: D-9
def test_intranet_and_extranet_urls_each_need_their_own_entry(old_document: Chain) -> None:
    from rmslab.discovery.regfile import RegValue
    only_extranet = machine("FAB-LT-8", ldif="fabrikam-forest-scp.ldf")
    only_extranet.registry.set_value(
        r"HKLM\SOFTWARE\Microsoft\MSIPC\ServiceLocation\LicensingRedirection",
        RegValue.sz(OLD_CONTOSO_EXTRANET, "https://adrms.fabrikam.com/_wmcs/licensing"))
    result = discover(only_extranet, purpose="consume", license=old_document,
                      unreachable=OLD_CLUSTER)
    assert [(a.label, a.outcome) for a in result.attempts] == [
        ("intranet licensing URL", "unreachable"), ("extranet licensing URL", "used")]
    missing, applied = [c for c in result.trace.checks if c.spec_id == "D-9"]
    assert "none names https://corprights/_wmcs/licensing (an intranet and an extranet URL " \
           "each need their own entry)" in missing.reason
    assert applied.reason.startswith(OLD_CONTOSO_EXTRANET + " →")
    assert result.redirected_from == OLD_CONTOSO_EXTRANET


# covers: D-9, D-7
def test_redirection_applies_to_discovered_licensing_urls_too() -> None:
    result = discover(machine("WS", "fabrikam-merger-licensing-redirection.reg",
                              ldif="contoso-forest-scp.ldf"))
    assert result.source == "scp"
    assert result.certification_url == "https://corprights.contoso.com/_wmcs/certification"
    assert result.licensing_url == "https://adrms.fabrikam.com/_wmcs/licensing"


# covers: D-6
def test_trusted_servers_lockdown(old_document: Chain) -> None:
    kiosk = machine("KIOSK", "contoso-kiosk-trusted-servers.reg", ldif="contoso-forest-scp.ldf")
    published = discover(kiosk)
    assert published.source == "registry"
    assert published.licensing_url == "https://rms.contoso.com/_wmcs/Licensing"  # https: TLS
    assert published.tls and published.to_json()["tls"] is True
    consumed = discover(kiosk, purpose="consume", license=old_document)
    refused = [a for a in consumed.attempts if a.outcome == "refused"]
    assert [a.label for a in refused] == ["intranet licensing URL", "extranet licensing URL"]
    assert all("not on the TrustedServers list" in a.reason for a in refused)
    assert consumed.source == "registry"
    d6 = [c for c in consumed.trace.checks if c.spec_id == "D-6"]
    assert d6[0].description == "AllowTrustedServersOnly restricts the servers the client trusts"
    assert [c.passed for c in d6[1:]] == [False, False, True]
    # with no registry override, the SCP's old cluster is refused too: only the cloud is left
    locked = machine("KIOSK-2", ldif="contoso-forest-scp.ldf")
    locked.registry.apply(kiosk.registry.export(
        r"HKLM\Software\Microsoft\MSIPC\TrustedServers"))
    fallback = discover(locked)
    assert [(a.source, a.outcome) for a in fallback.attempts] == [
        ("registry", "not found"), ("scp", "refused"), ("cloud", "used")]


# covers: D-4
def test_ils_content_is_blocked_with_access_disabled_by_policy() -> None:
    ils_document = content_license(Lab(), intranet=f"https://{ILS_HOST}/_wmcs/licensing",
                                   extranet=None)
    blocked = machine("WS", "contoso-client-settings.reg", "contoso-new-cluster-service-location.reg")
    result = discover(blocked, purpose="consume", license=ils_document)
    assert not result.found
    assert isinstance(result.error, AccessDisabledByPolicyError)
    assert result.error.hresult == 0x800704EC and result.error.win32_error == 1260
    assert "HRESULT_FROM_WIN32(ERROR_ACCESS_DISABLED_BY_POLICY) = 0x800704EC" in str(result.error)
    assert result.to_json()["error"]["hresult"] == "0x800704EC"
    assert [a.outcome for a in result.attempts] == ["blocked"]  # no discovery after it
    allowed = discover(machine("WS", "contoso-new-cluster-service-location.reg"),
                       purpose="consume", license=ils_document)
    assert allowed.source == "license"


# covers: D-4, D-7
def test_a_32_bit_application_reads_the_wow6432node_service_location() -> None:
    office32 = discover(machine("WS-OFFICE32", "contoso-new-cluster-service-location-32bit.reg",
                                ldif="contoso-forest-scp.ldf", app_bits=32))
    native = discover(machine("WS-OFFICE64", "contoso-new-cluster-service-location-32bit.reg",
                              ldif="contoso-forest-scp.ldf", app_bits=64))
    assert office32.source == "registry" and native.source == "scp"
    first = office32.trace.checks[0]
    assert first.spec_id == "D-4" and "Wow6432Node" in first.reason
    assert office32.trace[1].target == \
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Microsoft\MSIPC\ServiceLocation"


# covers: D-1
def test_on_premises_and_cloud_services_are_found_and_used_alike(corpus: Path) -> None:
    """A real cloud-protected file (the corpus) and a lab on-premises license go through
    the same steps and give the same shape of answer."""
    cloud_file = read_file(corpus / "pfiles" / "AliceBvt.txt.pfile")
    (url,) = {u for _, u in license_urls(cloud_file)}
    assert url.endswith(".rms.na.aadrm.com/_wmcs/licensing")
    cloud = discover(Machine("WS"), purpose="consume", license=cloud_file)
    onprem = discover(Machine("WS"), purpose="consume", license=content_license(Lab()))
    assert cloud.source == onprem.source == "license"
    assert cloud.licensing_url == url
    assert set(cloud.to_json()) == set(onprem.to_json())
    assert [s.action for s in cloud.trace][:2] == [s.action for s in onprem.trace][:2]


# covers: D-1
def test_a_cloud_service_is_trusted_under_lockdown_and_used_like_a_server() -> None:
    kiosk = machine("KIOSK", "contoso-kiosk-trusted-servers.reg")
    cloud_doc = content_license(Lab(), intranet="https://4f1c2a9e.rms.na.aadrm.com/_wmcs/licensing",
                                extranet=None)
    result = discover(kiosk, purpose="consume", license=cloud_doc)
    assert result.source == "license"
    assert result.certification_url == "https://4f1c2a9e.rms.na.aadrm.com/_wmcs/certification"


def test_the_text_and_json_views() -> None:
    result = discover(machine("WS-SCP", "ws-fresh-client.reg", ldif="contoso-forest-scp.ldf"),
                      purpose="publish")
    data = result.to_json()
    assert {"certification_url", "licensing_url", "source", "trace"} <= set(data)
    assert data["trace"][0]["actor"] == "client"
    text = result.to_text()
    assert text.splitlines()[0] == ("WS-SCP: client mode, 64-bit application on 64-bit Windows "
                                    "— publish")
    assert "  source         scp" in text
    assert repr(result) == ("<Discovery 'WS-SCP: client mode, 64-bit application on 64-bit "
                            "Windows' publish: source='scp'>")
    server = Machine("SP01", mode=ClientMode.SERVER)
    assert server.describe() == ("SP01: server mode (service account S-1-5-20), 64-bit "
                                 "application on 64-bit Windows")
    with pytest.raises(InputError, match="publish or consume"):
        discover(server, purpose="share")  # type: ignore[arg-type]


# covers: D-7, D-6
def test_when_every_server_is_refused_or_silent_the_reason_lists_each() -> None:
    kiosk = machine("KIOSK-2", ldif="contoso-forest-scp.ldf")
    kiosk.registry.apply(machine("x", "contoso-kiosk-trusted-servers.reg").registry.export(
        r"HKLM\Software\Microsoft\MSIPC\TrustedServers"))
    result = discover(kiosk, unreachable=["<tenant>.rms.na.aadrm.com"])
    assert [(a.source, a.outcome) for a in result.attempts] == [
        ("registry", "not found"), ("scp", "refused"), ("cloud", "unreachable")]
    assert result.failure is not None
    assert result.failure.startswith("no AD RMS server could be used (ServiceLocation in the "
                                     "registry: EnterpriseCertification and EnterprisePublishing "
                                     "are not set; SCP in Active Directory: "
                                     "AllowTrustedServersOnly is set and corprights.contoso.com "
                                     "is not on the TrustedServers list")
    assert result.failure.endswith("and cloud service (Azure Rights Management): "
                                   "<tenant>.rms.na.aadrm.com does not answer")


def test_the_license_in_data_is_the_lab_sample() -> None:
    """data/licenses holds the publishing license the lessons build (same seed, same time:
    the same bytes), so the CLI examples and the notebook agree."""
    path = REPO / "data" / "licenses" / "contoso-old-cluster-document.xml"
    assert path.read_text(encoding="utf-8") == content_license(Lab()).text
