"""A client machine as discovery sees it: its registry, the directory of the forest it is
joined to, and how the application runs (mode, 32/64 bits) (SPEC D-3, D-4, D-7)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rmslab.discovery.directory import Directory
from rmslab.discovery.paths import (DEFAULT_USER_PROFILE, NETWORK_SERVICE_SID, ClientMode,
                                    ClientPaths, check_sid, client_paths, parse_mode)
from rmslab.discovery.registry import Registry, RegistryView, check_bits
from rmslab.errors import InputError

__all__ = ["Machine", "parse_version", "CURRENT_CLIENT_VERSION"]

#: The client version from which templates are refreshed daily by default (D-4).
CURRENT_CLIENT_VERSION = "1.0.1784.0"


def parse_version(text: str) -> tuple[int, ...]:
    """``"1.0.1784.0"`` → ``(1, 0, 1784, 0)``."""
    try:
        parts = tuple(int(p) for p in text.strip().split("."))
    except ValueError:
        raise InputError(f"{text!r} is not a client version like 1.0.1784.0") from None
    if not parts or any(p < 0 for p in parts):
        raise InputError(f"{text!r} is not a client version like 1.0.1784.0")
    return parts


@dataclass(frozen=True)
class Machine:
    """One application on one computer, with what its RMS client can read.

    ``directory`` is the forest's directory (from an LDIF export) when the computer is
    joined to a domain; ``None`` when it is not (or nothing was exported).
    """

    name: str = "client"
    registry: Registry = field(default_factory=Registry)
    directory: Directory | None = None
    mode: ClientMode = ClientMode.CLIENT
    app_bits: int = 64
    os_bits: int = 64
    service_sid: str = NETWORK_SERVICE_SID
    client_version: str = CURRENT_CLIENT_VERSION
    user_profile: str = DEFAULT_USER_PROFILE

    def __post_init__(self) -> None:
        check_bits(self.app_bits, self.os_bits)
        object.__setattr__(self, "mode", parse_mode(self.mode))
        if self.mode is ClientMode.SERVER:
            check_sid(self.service_sid)
        parse_version(self.client_version)

    @classmethod
    def from_files(cls, name: str, *reg_files: str | os.PathLike[str],
                   ldif: str | os.PathLike[str] | None = None,
                   mode: ClientMode | str = ClientMode.CLIENT, app_bits: int = 64,
                   os_bits: int = 64, service_sid: str = NETWORK_SERVICE_SID) -> Machine:
        """A machine whose registry imports ``reg_files`` in order, joined to the forest
        that the LDIF export ``ldif`` describes."""
        directory = Directory.from_ldif_file(ldif) if ldif is not None else None
        return cls(name, Registry.from_reg_files(*reg_files), directory, parse_mode(mode),
                   app_bits, os_bits, service_sid)

    @property
    def view(self) -> RegistryView:
        """The registry as this application sees it (WOW64 for 32-bit on 64-bit)."""
        return RegistryView(self.registry, app_bits=self.app_bits, os_bits=self.os_bits)

    @property
    def paths(self) -> ClientPaths:
        return client_paths(self.mode, user_profile=self.user_profile,
                            service_sid=self.service_sid)

    def describe(self) -> str:
        """``WS-ALICE: client mode, 32-bit application on 64-bit Windows``."""
        sid = f" (service account {self.service_sid})" if self.mode is ClientMode.SERVER else ""
        return (f"{self.name}: {self.mode.value} mode{sid}, {self.app_bits}-bit application "
                f"on {self.os_bits}-bit Windows")
