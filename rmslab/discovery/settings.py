"""The RMS client's registry settings, read as the client reads them (SPEC D-4, D-6, D-9).

Keys and values, as the deployment notes name them (HKLM paths are read through WOW64, so a 32-bit
application on 64-bit Windows finds them under ``SOFTWARE\\Wow6432Node``):

* ``HKLM\\SOFTWARE\\Microsoft\\MSIPC\\ServiceLocation\\EnterpriseCertification`` and
  ``…\\EnterprisePublishing`` — the default value (REG_SZ) of each: the certification and
  publishing (licensing) URLs, ``<http or https>://<cluster>/_wmcs/Certification`` and
  ``…/_wmcs/Licensing``.
* ``…\\ServiceLocation\\LicensingRedirection`` — one REG_SZ per old licensing URL: name =
  old URL, data = new URL (D-9).
* ``HKLM\\SOFTWARE\\Microsoft\\MSIPC`` — REG_DWORD ``Trace``: 1 debug tracing on, 0 off (the
  default) — the value name of Microsoft's English documentation of the RMS client ("How-to:
  debug a rights-enabled application", RMS SDK 2.1). The Dutch edition of the deployment notes
  translates the name as ``traceren``; the client reads no such value, so the lab does not
  either: a ``traceren`` value is ignored, and :attr:`ClientSettings.notes` says that the
  real name is ``Trace``.
* ``TemplateUpdateFrequency`` (days, at least 1) and ``TemplateUpdateFrequencyInSeconds``
  (seconds, at least 1; when set, the days value is ignored), REG_DWORD, under the
  mode's template refresh key (:mod:`rmslab.discovery.paths`). With neither, templates
  are refreshed every day from client 1.0.1784.0 on, every 7 days before.
* ``HKLM\\Software\\Microsoft\\MSIPC\\Federation`` — REG_SZ ``FederationHomeRealm`` (the
  federation service URI) and REG_DWORD ``EnableBrowser`` (forms sign-in in a browser).
* ``HKCU\\Software\\Classes\\Local Settings\\Software\\Microsoft\\MSIPC`` — REG_DWORD
  ``DisablePassportCertification``: 1 blocks content protected by the ILS service, 0
  allows it (the default).
* ``HKLM\\Software\\Microsoft\\MSIPC\\TrustedServers`` — REG_DWORD
  ``AllowTrustedServersOnly`` (non-zero: only the listed servers and the cloud service
  are trusted, D-6) and one REG_SZ per trusted server: a DNS name
  (``adrms.contoso.com``) or a URL (``https://adrms.contoso.com``; https means the client
  uses SSL/TLS to reach it).

A value of the wrong type or out of range is ignored, as the client ignores it, and
:attr:`ClientSettings.notes` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rmslab.discovery.machine import Machine, parse_version
from rmslab.discovery.paths import CLIENT_MODE_REGISTRY
from rmslab.discovery.regfile import RegType, RegValue
from rmslab.discovery.registry import RegistryView
from rmslab.discovery.services import host_of, is_cloud_url, is_http_url

__all__ = [
    "MSIPC_KEY", "SERVICE_LOCATION_KEY", "ENTERPRISE_CERTIFICATION_KEY",
    "ENTERPRISE_PUBLISHING_KEY", "LICENSING_REDIRECTION_KEY", "FEDERATION_KEY",
    "TRUSTED_SERVERS_KEY", "USER_SETTINGS_KEY", "TRACE_VALUES", "TRACE_VALUE",
    "TRACE_TRANSLATED", "TEMPLATE_DAYS_VALUE",
    "TEMPLATE_SECONDS_VALUE", "FEDERATION_HOME_REALM_VALUE", "ENABLE_BROWSER_VALUE",
    "DISABLE_ILS_VALUE", "ALLOW_TRUSTED_ONLY_VALUE", "DAILY_REFRESH_FROM_VERSION",
    "TemplateRefresh", "TrustedServer", "TrustDecision", "ClientSettings", "read_settings",
    "template_refresh", "parse_trusted_server",
]

MSIPC_KEY = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC"
SERVICE_LOCATION_KEY = MSIPC_KEY + r"\ServiceLocation"
ENTERPRISE_CERTIFICATION_KEY = SERVICE_LOCATION_KEY + r"\EnterpriseCertification"
ENTERPRISE_PUBLISHING_KEY = SERVICE_LOCATION_KEY + r"\EnterprisePublishing"
LICENSING_REDIRECTION_KEY = SERVICE_LOCATION_KEY + r"\LicensingRedirection"
FEDERATION_KEY = r"HKEY_LOCAL_MACHINE\Software\Microsoft\MSIPC\Federation"
TRUSTED_SERVERS_KEY = r"HKEY_LOCAL_MACHINE\Software\Microsoft\MSIPC\TrustedServers"
#: Where the deployment notes put DisablePassportCertification (and, in client mode, the template
#: refresh values and the per-server Template keys).
USER_SETTINGS_KEY = CLIENT_MODE_REGISTRY

#: The value the RMS client reads for tracing (Microsoft's English documentation).
TRACE_VALUE = "Trace"
#: The Dutch documentation's translation of that name: not a value the client reads.
TRACE_TRANSLATED = "traceren"
#: Kept for callers of an earlier release: the one real name.
TRACE_VALUES = (TRACE_VALUE,)
TEMPLATE_DAYS_VALUE = "TemplateUpdateFrequency"
TEMPLATE_SECONDS_VALUE = "TemplateUpdateFrequencyInSeconds"
FEDERATION_HOME_REALM_VALUE = "FederationHomeRealm"
ENABLE_BROWSER_VALUE = "EnableBrowser"
DISABLE_ILS_VALUE = "DisablePassportCertification"
ALLOW_TRUSTED_ONLY_VALUE = "AllowTrustedServersOnly"
DAILY_REFRESH_FROM_VERSION = "1.0.1784.0"

_DAY = 86_400
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*", re.ASCII)


@dataclass(frozen=True)
class TemplateRefresh:
    """How often templates are downloaded, and which setting decided it (D-4)."""

    seconds: int
    decided_by: str   # TemplateUpdateFrequencyInSeconds, TemplateUpdateFrequency or "default"
    key: str          # the key the values are read from

    @property
    def days(self) -> float:
        return self.seconds / _DAY

    def describe(self) -> str:
        if self.seconds % _DAY == 0:
            n = self.seconds // _DAY
            every = "every day" if n == 1 else f"every {n} days"
        else:
            every = f"every {self.seconds} seconds"
        return f"templates are refreshed {every} ({self.decided_by})"


@dataclass(frozen=True)
class TrustedServer:
    """One entry of the TrustedServers list (D-6)."""

    entry: str            # as written in the registry
    host: str             # lower case
    port: int | None      # when the entry is a URL naming one
    tls: bool             # an https:// URL: the client reaches the server over SSL/TLS

    def matches(self, url: str) -> bool:
        parts = urlsplit(url.strip())
        if (parts.hostname or "").lower() != self.host:
            return False
        return self.port is None or (parts.port or _default_port(parts.scheme)) == self.port


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def parse_trusted_server(entry: str) -> TrustedServer | None:
    """A TrustedServers entry as the client reads it: a DNS name or an http(s) URL;
    ``None`` when it is neither."""
    text = entry.strip()
    if "://" in text:
        if not is_http_url(text):
            return None
        parts = urlsplit(text)
        try:
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        return TrustedServer(entry, (parts.hostname or "").lower(),
                             port if port is not None else None, scheme == "https")
    if _HOST.fullmatch(text):
        return TrustedServer(entry, text.lower(), None, False)
    return None


@dataclass(frozen=True)
class TrustDecision:
    """Whether the client may contact a server, and the URL it will use (D-6)."""

    allowed: bool
    url: str
    reason: str
    tls: bool


@dataclass(frozen=True)
class ClientSettings:
    """Everything in the registry that shapes the client's behaviour, as the client
    reads it. ``sources`` names the key each setting was read from (after WOW64)."""

    enterprise_certification: str | None = None
    enterprise_publishing: str | None = None
    licensing_redirections: tuple[tuple[str, str], ...] = ()
    tracing: bool = False
    template_refresh: TemplateRefresh = field(
        default_factory=lambda: TemplateRefresh(_DAY, "default", USER_SETTINGS_KEY))
    federation_home_realm: str | None = None
    enable_browser: bool = False
    ils_blocked: bool = False
    trusted_servers_only: bool = False
    trusted_servers: tuple[TrustedServer, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def has_service_location(self) -> bool:
        return bool(self.enterprise_certification or self.enterprise_publishing)

    def redirect(self, url: str) -> str | None:
        """The new licensing URL for ``url``, if a LicensingRedirection value names it
        (D-9). Each URL needs its own entry: an intranet and an extranet URL of the same
        server are two names."""
        wanted = url.strip().rstrip("/").lower()
        for old, new in self.licensing_redirections:
            if old.strip().rstrip("/").lower() == wanted:
                return new
        return None

    def trust(self, url: str) -> TrustDecision:
        """Whether the client may contact the server at ``url`` (D-6): always, unless
        AllowTrustedServersOnly is set; then only servers on the TrustedServers list and
        the cloud service. An https:// entry makes the client use TLS to that server."""
        host = host_of(url)
        if is_cloud_url(url):
            return TrustDecision(True, url, "the cloud service is always trusted",
                                 url.lower().startswith("https://"))
        tls = url.lower().startswith("https://")
        if not self.trusted_servers_only:
            return TrustDecision(True, url, "AllowTrustedServersOnly is not set: every "
                                 "server is trusted", tls)
        for server in self.trusted_servers:
            if server.matches(url):
                if server.tls and not tls:
                    upgraded = "https://" + url.split("://", 1)[1]
                    return TrustDecision(True, upgraded, f"{host} is on the TrustedServers list "
                                         f"as {server.entry}: the client uses TLS", True)
                return TrustDecision(True, url, f"{host} is on the TrustedServers list "
                                     f"({server.entry})", tls or server.tls)
        listed = ", ".join(s.entry for s in self.trusted_servers) or "no servers"
        return TrustDecision(False, url, f"AllowTrustedServersOnly is set and {host} is not "
                             f"on the TrustedServers list ({listed}; plus the cloud service)",
                             tls)

    def rows(self) -> list[tuple[str, str, str]]:
        """``(setting, value, read from)`` for a table."""
        src = self.sources

        def show(value: object) -> str:
            return "(not set)" if value is None else str(value)

        rows = [
            ("EnterpriseCertification", show(self.enterprise_certification),
             src.get("EnterpriseCertification", "")),
            ("EnterprisePublishing", show(self.enterprise_publishing),
             src.get("EnterprisePublishing", "")),
            ("LicensingRedirection", "; ".join(f"{o} → {n}" for o, n in
                                               self.licensing_redirections) or "(none)",
             src.get("LicensingRedirection", "")),
            ("Trace", "on" if self.tracing else "off", src.get("Trace", "")),
            ("template refresh", self.template_refresh.describe(), self.template_refresh.key),
            ("FederationHomeRealm", show(self.federation_home_realm),
             src.get("Federation", "")),
            ("EnableBrowser", "yes" if self.enable_browser else "no", src.get("Federation", "")),
            ("DisablePassportCertification", "ILS content blocked" if self.ils_blocked
             else "ILS content allowed", src.get("DisablePassportCertification", "")),
            ("AllowTrustedServersOnly", "on" if self.trusted_servers_only else "off",
             src.get("TrustedServers", "")),
            ("TrustedServers", ", ".join(s.entry for s in self.trusted_servers) or "(none)",
             src.get("TrustedServers", "")),
        ]
        return rows


class _Reader:
    """Reads typed values through a view, noting every value it has to ignore."""

    def __init__(self, view: RegistryView) -> None:
        self.view = view
        self.notes: list[str] = []

    def where(self, key: str) -> str:
        return self.view.resolve(key)

    def value(self, key: str, name: str) -> RegValue | None:
        return self.view.value(key, name)

    def _typed(self, key: str, name: str, kind: RegType) -> RegValue | None:
        """The value if it has the type the client reads there; else a note, and None."""
        found = self.value(key, name)
        if found is None:
            return None
        if found.type != kind:
            self.notes.append(f"{self.where(key)}\\{found.display_name} is "
                              f"{_type(found)}; the client reads a {kind.name} there — ignored")
            return None
        return found

    def dword(self, key: str, name: str) -> int | None:
        found = self._typed(key, name, RegType.REG_DWORD)
        return found.number if found is not None else None

    def sz(self, key: str, name: str) -> str | None:
        found = self._typed(key, name, RegType.REG_SZ)
        return found.text if found is not None else None

    def url(self, key: str, name: str = "") -> str | None:
        text = self.sz(key, name)
        if text is None:
            return None
        if not is_http_url(text):
            self.notes.append(f"{self.where(key)}\\{name or '(Default)'} = {text!r} is not an "
                              "http:// or https:// URL — ignored")
            return None
        return text.strip()


def _type(value: RegValue) -> str:
    try:
        return RegType(value.type).name
    except ValueError:
        return f"type {value.type}"


def template_refresh(machine: Machine, notes: list[str] | None = None) -> TemplateRefresh:
    """How often ``machine`` refreshes templates (D-4): TemplateUpdateFrequencyInSeconds
    wins; else TemplateUpdateFrequency in days; else the default of the client version
    (every day from 1.0.1784.0 on, every 7 days before). Values below 1 are ignored."""
    reader = _Reader(machine.view)
    key = machine.paths.template_settings_key
    seconds = reader.dword(key, TEMPLATE_SECONDS_VALUE)
    days = reader.dword(key, TEMPLATE_DAYS_VALUE)
    where = reader.where(key)
    if seconds is not None and seconds < 1:
        reader.notes.append(f"{TEMPLATE_SECONDS_VALUE} = {seconds} is below the minimum of 1 "
                            "— ignored")
        seconds = None
    if days is not None and days < 1:
        reader.notes.append(f"{TEMPLATE_DAYS_VALUE} = {days} is below the minimum of 1 — "
                            "ignored")
        days = None
    if notes is not None:
        notes.extend(reader.notes)
    if seconds is not None:
        if days is not None and notes is not None:
            notes.append(f"both {TEMPLATE_SECONDS_VALUE} and {TEMPLATE_DAYS_VALUE} are set "
                         "(set one, not both): the days value is ignored")
        return TemplateRefresh(seconds, TEMPLATE_SECONDS_VALUE, where)
    if days is not None:
        return TemplateRefresh(days * _DAY, TEMPLATE_DAYS_VALUE, where)
    daily = parse_version(machine.client_version) >= parse_version(DAILY_REFRESH_FROM_VERSION)
    return TemplateRefresh(_DAY if daily else 7 * _DAY,
                           f"default of client {machine.client_version}", where)


def read_settings(machine: Machine) -> ClientSettings:
    """Read every RMS client setting of ``machine``'s registry, as its application sees
    it (mode, WOW64)."""
    r = _Reader(machine.view)
    sources = {
        "EnterpriseCertification": r.where(ENTERPRISE_CERTIFICATION_KEY),
        "EnterprisePublishing": r.where(ENTERPRISE_PUBLISHING_KEY),
        "LicensingRedirection": r.where(LICENSING_REDIRECTION_KEY),
        "Trace": r.where(MSIPC_KEY),
        "Federation": r.where(FEDERATION_KEY),
        "DisablePassportCertification": r.where(USER_SETTINGS_KEY),
        "TrustedServers": r.where(TRUSTED_SERVERS_KEY),
    }
    redirections: list[tuple[str, str]] = []
    for value in machine.view.values(LICENSING_REDIRECTION_KEY):
        new = value.text if value.type == RegType.REG_SZ else None
        if not value.name or new is None or not is_http_url(value.name) or not is_http_url(new):
            r.notes.append(f"LicensingRedirection\\{value.display_name} is not old URL = new "
                           "URL (two http(s) URLs, REG_SZ) — ignored")
            continue
        redirections.append((value.name, new.strip()))
    tracing = r.dword(MSIPC_KEY, TRACE_VALUE)
    if any(v.name.lower() == TRACE_TRANSLATED for v in machine.view.values(MSIPC_KEY)):
        r.notes.append(f"MSIPC\\{TRACE_TRANSLATED} is the Dutch documentation's translation of "
                       f"the value name {TRACE_VALUE!r}; the RMS client reads only "
                       f"{TRACE_VALUE!r} — ignored")
    trusted: list[TrustedServer] = []
    for value in machine.view.values(TRUSTED_SERVERS_KEY):
        if value.name.lower() == ALLOW_TRUSTED_ONLY_VALUE.lower():
            continue
        if value.type != RegType.REG_SZ or value.text is None:
            r.notes.append(f"TrustedServers\\{value.display_name} is {_type(value)}; the "
                           "client reads REG_SZ entries — ignored")
            continue
        entry = value.text.strip() or value.name
        server = parse_trusted_server(entry)
        if server is None:
            r.notes.append(f"TrustedServers\\{value.display_name} = {entry!r} is neither a DNS "
                           "name nor an http(s) URL — ignored")
            continue
        trusted.append(server)
    certification = r.url(ENTERPRISE_CERTIFICATION_KEY)
    publishing = r.url(ENTERPRISE_PUBLISHING_KEY)
    realm = r.sz(FEDERATION_KEY, FEDERATION_HOME_REALM_VALUE)
    browser = r.dword(FEDERATION_KEY, ENABLE_BROWSER_VALUE)
    ils = r.dword(USER_SETTINGS_KEY, DISABLE_ILS_VALUE)
    if ils not in (None, 0, 1):
        r.notes.append(f"{DISABLE_ILS_VALUE} = {ils}: only 1 blocks ILS content")
    trusted_only = r.dword(TRUSTED_SERVERS_KEY, ALLOW_TRUSTED_ONLY_VALUE)
    refresh = template_refresh(machine, r.notes)
    return ClientSettings(
        enterprise_certification=certification,
        enterprise_publishing=publishing,
        licensing_redirections=tuple(redirections),
        tracing=bool(tracing),
        template_refresh=refresh,
        federation_home_realm=realm,
        enable_browser=bool(browser),
        ils_blocked=ils == 1,
        trusted_servers_only=bool(trusted_only),
        trusted_servers=tuple(trusted),
        sources=sources,
        notes=tuple(r.notes),
    )
