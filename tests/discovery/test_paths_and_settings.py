"""Client mode and server mode locations; the client's registry settings; the trusted
servers restriction; licensing redirection entries.

covers: D-3, D-4, D-6, D-9
"""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from rmslab.discovery.machine import Machine
from rmslab.discovery.paths import LOCATIONS, ClientMode, client_paths, host_path
from rmslab.discovery.regfile import RegType, RegValue
from rmslab.discovery.registry import Registry
from rmslab.discovery.settings import (TRUSTED_SERVERS_KEY, USER_SETTINGS_KEY,
                                       parse_trusted_server, read_settings, template_refresh)
from rmslab.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "data" / "registry"


# covers: D-3
def test_client_mode_paths_are_the_seed_table() -> None:
    paths = client_paths("client", user_profile=r"C:\Users\alice")
    assert paths.mode is ClientMode.CLIENT and paths.sid is None
    assert paths.license_store == PureWindowsPath(r"C:\Users\alice\AppData\Local\Microsoft\MSIPC")
    assert paths.template_archive == PureWindowsPath(
        r"C:\Users\alice\AppData\Local\Microsoft\MSIPC\Templates")
    assert paths.unmanaged_templates == PureWindowsPath(
        r"C:\Users\alice\AppData\Local\Microsoft\MSIPC\UnmanagedTemplates")
    assert paths.registry_key == \
        r"HKEY_CURRENT_USER\Software\Classes\Local Settings\Software\Microsoft\MSIPC"
    assert paths.template_settings_key == paths.registry_key
    assert paths.template_key("corprights") == paths.registry_key + r"\corprights\Template"


# covers: D-3
def test_server_mode_paths_carry_the_service_accounts_sid() -> None:
    paths = client_paths(ClientMode.SERVER)  # the network service account by default
    assert paths.sid == "S-1-5-20"
    assert paths.license_store == PureWindowsPath(r"C:\ProgramData\Microsoft\MSIPC\Server\S-1-5-20")
    assert paths.template_archive == PureWindowsPath(
        r"C:\ProgramData\Microsoft\MSIPC\Server\Templates\S-1-5-20")
    assert paths.unmanaged_templates == PureWindowsPath(
        r"C:\ProgramData\Microsoft\MSIPC\Server\UnmanagedTemplates\S-1-5-20")
    assert paths.registry_key == r"HKEY_CURRENT_USER\Software\Microsoft\MSIPC\Server\S-1-5-20"
    assert paths.template_settings_key == \
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC\Server\S-1-5-20"
    sharepoint = client_paths("server", service_sid="S-1-5-21-1004336348-1177238915-682003330-1001",
                              all_users_profile=r"D:\ProgramData")
    assert str(sharepoint.license_store).startswith(r"D:\ProgramData\Microsoft\MSIPC\Server\S-1-5-21-")
    assert LOCATIONS["license store"][ClientMode.SERVER].endswith(r"\Server\<SID>")


# covers: D-3
def test_paths_map_onto_a_lab_directory(tmp_path: Path) -> None:
    paths = client_paths("server")
    assert host_path(paths.license_store, tmp_path) == \
        tmp_path / "C" / "ProgramData" / "Microsoft" / "MSIPC" / "Server" / "S-1-5-20"


def test_bad_mode_or_sid_is_an_input_error() -> None:
    with pytest.raises(InputError, match="client or server"):
        client_paths("kiosk")
    with pytest.raises(InputError, match="not a security identifier"):
        client_paths("server", service_sid="NETWORK SERVICE")
    with pytest.raises(InputError, match="not a server name"):
        client_paths().template_key("a\\b")


# covers: D-4
def test_settings_read_from_a_hand_written_file() -> None:
    machine = Machine.from_files("WS", DATA / "contoso-client-settings.reg")
    settings = read_settings(machine)
    assert settings.tracing
    assert settings.federation_home_realm == "https://fs-01.contoso.com"
    assert settings.enable_browser
    assert settings.ils_blocked
    refresh = settings.template_refresh
    assert (refresh.seconds, refresh.decided_by) == (3600, "TemplateUpdateFrequencyInSeconds")
    assert refresh.key == USER_SETTINGS_KEY
    assert any("set one, not both" in n for n in settings.notes)
    assert not settings.has_service_location and not settings.trusted_servers_only
    assert ("Trace", "on", r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC") in settings.rows()


def _machine(values: dict[str, int], *, key: str = USER_SETTINGS_KEY,
             version: str = "1.0.1784.0", mode: ClientMode = ClientMode.CLIENT) -> Machine:
    registry = Registry()
    for name, number in values.items():
        registry.set_value(key, RegValue.dword(name, number))
    return Machine("WS", registry, mode=mode, client_version=version)


# covers: D-4
@pytest.mark.parametrize("values, version, seconds, decided_by", [
    ({}, "1.0.1784.0", 86_400, "default of client 1.0.1784.0"),
    ({}, "1.0.2004.0", 86_400, "default of client 1.0.2004.0"),
    ({}, "1.0.1783.9", 7 * 86_400, "default of client 1.0.1783.9"),
    ({"TemplateUpdateFrequency": 3}, "1.0.1784.0", 3 * 86_400, "TemplateUpdateFrequency"),
    ({"TemplateUpdateFrequency": 3, "TemplateUpdateFrequencyInSeconds": 90}, "1.0.1784.0", 90,
     "TemplateUpdateFrequencyInSeconds"),
    ({"TemplateUpdateFrequency": 0}, "1.0.1700.0", 7 * 86_400, "default of client 1.0.1700.0"),
    ({"TemplateUpdateFrequencyInSeconds": 0, "TemplateUpdateFrequency": 2}, "1.0.1784.0",
     2 * 86_400, "TemplateUpdateFrequency"),
])
def test_template_refresh_seconds_win_over_days_and_the_default_depends_on_version(
        values: dict[str, int], version: str, seconds: int, decided_by: str) -> None:
    refresh = template_refresh(_machine(values, version=version))
    assert (refresh.seconds, refresh.decided_by) == (seconds, decided_by)


# covers: D-3, D-4
def test_server_mode_reads_template_refresh_under_hklm_server_sid() -> None:
    machine = Machine.from_files("SP01", DATA / "sharepoint-server-mode-settings.reg",
                                 mode="server")
    refresh = template_refresh(machine)
    assert refresh.seconds == 7200
    assert refresh.key == r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC\Server\S-1-5-20"
    assert template_refresh(Machine.from_files("WS", DATA / "sharepoint-server-mode-settings.reg")
                            ).decided_by.startswith("default")  # client mode looks elsewhere
    assert "every 7200 seconds" in refresh.describe()


# covers: D-4
def test_values_of_the_wrong_type_are_ignored_with_a_note() -> None:
    registry = Registry()
    registry.set_value(r"HKLM\SOFTWARE\Microsoft\MSIPC", RegValue.sz("Trace", "1"))
    registry.set_value(r"HKLM\SOFTWARE\Microsoft\MSIPC\ServiceLocation\EnterpriseCertification",
                       RegValue.sz("", "rms.contoso.com/_wmcs/Certification"))
    registry.set_value(USER_SETTINGS_KEY, RegValue.dword("DisablePassportCertification", 2))
    settings = read_settings(Machine("WS", registry))
    assert not settings.tracing and settings.enterprise_certification is None
    assert not settings.ils_blocked
    assert len(settings.notes) == 3
    assert "the client reads a REG_DWORD there" in settings.notes[0]
    assert "is not an http:// or https:// URL" in " ".join(settings.notes)


# covers: D-4
def test_the_dutch_translation_of_the_trace_value_is_not_read() -> None:
    # issue 12 item 12: "traceren" is the Dutch documentation's translation; the RMS client
    # reads the value "Trace" (Microsoft's English documentation of the client)
    registry = Registry()
    registry.set_value(r"HKLM\SOFTWARE\Microsoft\MSIPC", RegValue.dword("traceren", 1))
    settings = read_settings(Machine("WS", registry))
    assert not settings.tracing
    assert any("translation" in note and "'Trace'" in note for note in settings.notes)
    registry.set_value(r"HKLM\SOFTWARE\Microsoft\MSIPC", RegValue.dword("Trace", 1))
    assert read_settings(Machine("WS", registry)).tracing


# covers: D-6
def test_trusted_server_entries_are_host_names_or_urls() -> None:
    by_name = parse_trusted_server("ADRMS.contoso.com")
    by_url = parse_trusted_server("https://adrms.contoso.com")
    assert by_name is not None and (by_name.host, by_name.tls) == ("adrms.contoso.com", False)
    assert by_url is not None and (by_url.host, by_url.tls) == ("adrms.contoso.com", True)
    with_port = parse_trusted_server("http://adrms.contoso.com:8080")
    assert with_port is not None and with_port.port == 8080
    assert with_port.matches("http://adrms.contoso.com:8080/_wmcs/licensing")
    assert not with_port.matches("http://adrms.contoso.com/_wmcs/licensing")
    assert parse_trusted_server("not a host!") is None
    assert parse_trusted_server("ftp://adrms.contoso.com") is None


# covers: D-6
def test_allow_trusted_servers_only_restricts_to_the_list_and_the_cloud() -> None:
    settings = read_settings(Machine.from_files("KIOSK", DATA / "contoso-kiosk-trusted-servers.reg"))
    assert settings.trusted_servers_only
    assert [s.entry for s in settings.trusted_servers] == ["https://rms.contoso.com",
                                                           "adrms.fabrikam.com"]
    upgraded = settings.trust("http://rms.contoso.com/_wmcs/Licensing")
    assert upgraded.allowed and upgraded.tls
    assert upgraded.url == "https://rms.contoso.com/_wmcs/Licensing"  # https entry: TLS
    plain = settings.trust("http://ADRMS.fabrikam.com/_wmcs/licensing")
    assert plain.allowed and not plain.tls and plain.url.startswith("http://")
    refused = settings.trust("https://corprights.contoso.com/_wmcs/licensing")
    assert not refused.allowed and "not on the TrustedServers list" in refused.reason
    cloud = settings.trust("https://0f4c.rms.eu.aadrm.com/_wmcs/licensing")
    assert cloud.allowed and "cloud service" in cloud.reason
    anything = read_settings(Machine()).trust("http://anything/_wmcs/licensing")
    assert anything.allowed


# covers: D-6
def test_trusted_servers_entries_a_client_cannot_read_are_ignored() -> None:
    registry = Registry()
    registry.set_value(TRUSTED_SERVERS_KEY, RegValue.dword("AllowTrustedServersOnly", 5))
    registry.set_value(TRUSTED_SERVERS_KEY, RegValue("bad", RegType.REG_MULTI_SZ, ("a",)))
    registry.set_value(TRUSTED_SERVERS_KEY, RegValue.sz("x", "not a host!"))
    settings = read_settings(Machine("WS", registry))
    assert settings.trusted_servers_only and settings.trusted_servers == ()
    assert len(settings.notes) == 2
    assert not settings.trust("https://rms.contoso.com/_wmcs/licensing").allowed


# covers: D-9
def test_licensing_redirection_maps_each_old_url_to_a_new_one() -> None:
    settings = read_settings(Machine.from_files(
        "FAB", DATA / "fabrikam-merger-licensing-redirection.reg"))
    assert settings.licensing_redirections == (
        ("https://corprights/_wmcs/licensing", "https://adrms.fabrikam.com/_wmcs/licensing"),
        ("https://corprights.contoso.com/_wmcs/licensing",
         "https://adrms.fabrikam.com/_wmcs/licensing"))
    assert settings.redirect("HTTPS://CorpRights.contoso.com/_wmcs/licensing/") == \
        "https://adrms.fabrikam.com/_wmcs/licensing"
    assert settings.redirect("http://corprights/_wmcs/licensing") is None  # http: no entry
    assert settings.redirect("https://rms.contoso.com/_wmcs/licensing") is None
