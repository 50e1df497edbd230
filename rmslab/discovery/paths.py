"""Client mode and server mode: where the RMS client keeps licenses, templates and its
registry state (SPEC D-3, D-5, D-4).

A desktop application (Word, Outlook, the sharing application) runs the client in
*client mode*; a service (SharePoint, Exchange) in *server mode*, where every location
carries the security identifier (SID) of the account the service runs as — for the
built-in network service account, the well-known SID S-1-5-20. The deployment notes' table is
:data:`LOCATIONS` (client mode → server mode):

* license store: ``%localappdata%\\Microsoft\\MSIPC`` →
  ``%allusersprofile%\\Microsoft\\MSIPC\\Server\\<SID>``
* template archive: ``…\\MSIPC\\Templates`` → ``…\\MSIPC\\Server\\Templates\\<SID>``
* unmanaged templates (D-5): ``…\\MSIPC\\UnmanagedTemplates`` →
  ``…\\MSIPC\\Server\\UnmanagedTemplates\\<SID>``
* registry location: ``HKCU\\Software\\Classes\\Local Settings\\Software\\Microsoft\\MSIPC``
  → ``HKCU\\Software\\Microsoft\\MSIPC\\Server\\<SID>``
* template refresh values (D-4): the registry location →
  ``HKLM\\SOFTWARE\\Microsoft\\MSIPC\\Server\\<SID>``

(The deployment notes put the server-mode registry location under HKEY_CURRENT_USER in its table,
and the server-mode template refresh values under HKEY_LOCAL_MACHINE in its settings
table; both are kept as written.)

The functions here are pure: they compute Windows paths. :func:`host_path` maps one to a
directory on this machine, which is how a lab lays client stores out on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PureWindowsPath

from rmslab.errors import InputError

__all__ = [
    "ClientMode", "ClientPaths", "client_paths", "host_path", "NETWORK_SERVICE_SID",
    "CLIENT_MODE_REGISTRY", "SERVER_MODE_REGISTRY", "SERVER_MODE_TEMPLATE_SETTINGS",
    "LOCATIONS", "check_sid", "parse_mode", "DEFAULT_USER_PROFILE", "DEFAULT_ALL_USERS_PROFILE",
]

#: The well-known SID of the built-in network service account (the deployment notes' example).
NETWORK_SERVICE_SID = "S-1-5-20"
DEFAULT_USER_PROFILE = r"C:\Users\alice"
DEFAULT_ALL_USERS_PROFILE = r"C:\ProgramData"

CLIENT_MODE_REGISTRY = r"HKEY_CURRENT_USER\Software\Classes\Local Settings\Software\Microsoft\MSIPC"
SERVER_MODE_REGISTRY = r"HKEY_CURRENT_USER\Software\Microsoft\MSIPC\Server\<SID>"
SERVER_MODE_TEMPLATE_SETTINGS = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC\Server\<SID>"

_SID = re.compile(r"S-1-\d+(?:-\d+)*", re.ASCII)


class ClientMode(str, Enum):
    """How an application runs the RMS client (D-3)."""

    CLIENT = "client"   # desktop applications
    SERVER = "server"   # services, per service account


#: The deployment notes' table, as written (``<SID>`` stands for the service account's SID).
LOCATIONS: dict[str, dict[ClientMode, str]] = {
    "license store": {
        ClientMode.CLIENT: r"%localappdata%\Microsoft\MSIPC",
        ClientMode.SERVER: r"%allusersprofile%\Microsoft\MSIPC\Server\<SID>"},
    "template archive": {
        ClientMode.CLIENT: r"%localappdata%\Microsoft\MSIPC\Templates",
        ClientMode.SERVER: r"%allusersprofile%\Microsoft\MSIPC\Server\Templates\<SID>"},
    "unmanaged templates": {
        ClientMode.CLIENT: r"%localappdata%\Microsoft\MSIPC\UnmanagedTemplates",
        ClientMode.SERVER: r"%allusersprofile%\Microsoft\MSIPC\Server\UnmanagedTemplates\<SID>"},
    "registry location": {
        ClientMode.CLIENT: CLIENT_MODE_REGISTRY,
        ClientMode.SERVER: SERVER_MODE_REGISTRY},
    "template refresh settings": {
        ClientMode.CLIENT: CLIENT_MODE_REGISTRY,
        ClientMode.SERVER: SERVER_MODE_TEMPLATE_SETTINGS},
}


def parse_mode(mode: ClientMode | str) -> ClientMode:
    """``"client"`` or ``"server"`` as a :class:`ClientMode`."""
    try:
        return ClientMode(mode)
    except ValueError:
        raise InputError(f"unknown client mode {mode!r}: client or server") from None


def check_sid(sid: str) -> str:
    """``sid`` if it is a security identifier in string form (``S-1-5-20``)."""
    if not _SID.fullmatch(sid):
        raise InputError(f"{sid!r} is not a security identifier (S-1-…, e.g. "
                         f"{NETWORK_SERVICE_SID} for the network service account)")
    return sid


@dataclass(frozen=True)
class ClientPaths:
    """Where one client (a user's desktop applications, or one service account) keeps its
    state. Files are Windows paths; registry locations are full key paths."""

    mode: ClientMode
    sid: str | None
    license_store: PureWindowsPath
    template_archive: PureWindowsPath
    unmanaged_templates: PureWindowsPath
    registry_key: str
    template_settings_key: str

    def template_key(self, server_name: str) -> str:
        """``…\\MSIPC\\<Server Name>\\Template``: deleting it makes the client download
        templates right after the next publishing request (D-4). Server names are host
        names as the client uses them: external (``corprights.contoso.com``) and internal
        (``corprights``) names are two entries."""
        if not server_name or "\\" in server_name:
            raise InputError(f"{server_name!r} is not a server name")
        return f"{self.registry_key}\\{server_name}\\Template"

    def rows(self) -> list[tuple[str, str]]:
        """``(what, where)`` for a table."""
        return [("license store", str(self.license_store)),
                ("template archive", str(self.template_archive)),
                ("unmanaged templates", str(self.unmanaged_templates)),
                ("registry location", self.registry_key),
                ("template refresh settings", self.template_settings_key)]


def _expand(template: str, *, local_app_data: str, all_users: str, sid: str) -> str:
    return (template.replace("%localappdata%", local_app_data)
            .replace("%allusersprofile%", all_users).replace("<SID>", sid))


def client_paths(mode: ClientMode | str = ClientMode.CLIENT, *,
                 user_profile: str = DEFAULT_USER_PROFILE,
                 all_users_profile: str = DEFAULT_ALL_USERS_PROFILE,
                 service_sid: str = NETWORK_SERVICE_SID) -> ClientPaths:
    """The locations of the deployment notes' table for ``mode``, with ``%localappdata%`` as
    ``<user_profile>\\AppData\\Local``, ``%allusersprofile%`` as ``all_users_profile``
    and ``<SID>`` as ``service_sid`` (server mode only)."""
    chosen = parse_mode(mode)
    sid = check_sid(service_sid) if chosen is ClientMode.SERVER else ""
    local = str(PureWindowsPath(user_profile) / "AppData" / "Local")

    def where(what: str) -> str:
        return _expand(LOCATIONS[what][chosen], local_app_data=local,
                       all_users=all_users_profile, sid=sid)

    return ClientPaths(
        mode=chosen, sid=sid or None,
        license_store=PureWindowsPath(where("license store")),
        template_archive=PureWindowsPath(where("template archive")),
        unmanaged_templates=PureWindowsPath(where("unmanaged templates")),
        registry_key=where("registry location"),
        template_settings_key=where("template refresh settings"))


def host_path(path: PureWindowsPath, root: Path) -> Path:
    """Where a Windows path of a simulated machine lies under ``root`` on this machine:
    ``C:\\Users\\alice\\AppData`` → ``root/C/Users/alice/AppData``."""
    drive = path.drive.rstrip(":") or "_"
    return root.joinpath(drive, *path.parts[1:])
