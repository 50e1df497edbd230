"""Installing the RMS client (MSIPC): which package installs where, and why not (SPEC D-2,
D-1).

The client ships as ``setup_msipc_x86.exe`` (32-bit computers) and
``setup_msipc_x64.exe`` (64-bit computers). The x64 package installs a 32-bit and a
64-bit runtime, serving 32-bit applications on 64-bit Windows too; the x86 package
cannot run on 64-bit Windows. Installing needs elevated rights (for example membership of
the local Administrators group), silently (``/quiet``, which keeps the computer's
Microsoft Update settings) or interactively (the installation wizard, which asks whether
to turn Microsoft Update on). The client goes to ``%ProgramFiles%\\Active Directory Rights
Management Services Client 2.<minor version>`` and installs Msipc.dll, Ipcsecproc.dll,
Ipcsecproc_ssp.dll and MSIPCEvents.man, with user-interface files in 44 languages.

Supported operating systems (the deployment notes' table; two rows only for AD RMS, not for the
cloud service): Windows Server 2012 R2, 2012, 2008 R2, 2008 (AD RMS only); Windows 8.1,
8, 7 with at least SP1, Vista with at least SP2 (AD RMS only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rmslab.errors import InputError, InstallationRefusedError
from rmslab.trace import Trace

__all__ = [
    "WindowsVersion", "SUPPORTED_SYSTEMS", "INSTALL_DIRECTORY", "CLIENT_FILES",
    "InstallDecision", "check_installation", "package_file", "Package", "Service",
]

Package = Literal["x86", "x64"]
Service = Literal["ad-rms", "azure-rms"]

INSTALL_DIRECTORY = (r"%ProgramFiles%\Active Directory Rights Management Services Client "
                     r"2.<minor version>")
CLIENT_FILES = ("Msipc.dll", "Ipcsecproc.dll", "Ipcsecproc_ssp.dll", "MSIPCEvents.man")


@dataclass(frozen=True)
class WindowsVersion:
    """A row of the deployment notes' support table."""

    name: str
    kind: Literal["server", "client"]
    min_service_pack: int = 0
    ad_rms_only: bool = False


SUPPORTED_SYSTEMS: tuple[WindowsVersion, ...] = (
    WindowsVersion("Windows Server 2012 R2", "server"),
    WindowsVersion("Windows Server 2012", "server"),
    WindowsVersion("Windows Server 2008 R2", "server"),
    WindowsVersion("Windows Server 2008", "server", ad_rms_only=True),
    WindowsVersion("Windows 8.1", "client"),
    WindowsVersion("Windows 8", "client"),
    WindowsVersion("Windows 7", "client", min_service_pack=1),
    WindowsVersion("Windows Vista", "client", min_service_pack=2, ad_rms_only=True),
)


def package_file(package: Package) -> str:
    return f"setup_msipc_{package}.exe"


@dataclass(frozen=True)
class InstallDecision:
    """Whether the package can be installed, why not, and what installing does."""

    package: Package
    system: str
    allowed: bool
    reasons: tuple[str, ...]
    command: str
    runtimes: tuple[str, ...]
    microsoft_update: str
    trace: Trace

    def require(self) -> InstallDecision:
        """This decision, or :class:`InstallationRefusedError` naming every reason."""
        if not self.allowed:
            raise InstallationRefusedError(f"{package_file(self.package)} cannot be installed "
                                           f"on {self.system}: " + "; ".join(self.reasons),
                                           spec_id="D-2", trace=self.trace)
        return self

    def describe(self) -> str:
        if not self.allowed:
            return f"refused: {'; '.join(self.reasons)}"
        return (f"{self.command} — installs the {' and '.join(self.runtimes)} runtime"
                f"{'s' if len(self.runtimes) > 1 else ''}; {self.microsoft_update}")


def _find_system(name: str) -> WindowsVersion | None:
    wanted = " ".join(name.split()).lower()
    return next((s for s in SUPPORTED_SYSTEMS if s.name.lower() == wanted), None)


def check_installation(package: Package, system: str, *, service_pack: int = 0,
                       os_bits: int = 64, elevated: bool = True, silent: bool = True,
                       service: Service = "ad-rms") -> InstallDecision:
    """Can ``package`` (x86 or x64) be installed on ``system`` (a name from the support
    table, e.g. ``"Windows 7"``, with its service pack), on 32- or 64-bit Windows, by a
    user with or without elevated rights, for AD RMS or the cloud service? (D-2)"""
    if package not in ("x86", "x64"):
        raise InputError(f"unknown client package {package!r}: x86 or x64")
    if os_bits not in (32, 64):
        raise InputError(f"Windows is 32- or 64-bit, not {os_bits}-bit")
    if service not in ("ad-rms", "azure-rms"):
        raise InputError(f"unknown service {service!r}: ad-rms or azure-rms")
    trace = Trace(f"installing {package_file(package)} on {system}")
    trace.step("administrator", "runs the RMS client installer", system,
               note="silent (/quiet)" if silent else "interactive (installation wizard)")
    reasons: list[str] = []

    def rule(description: str, passed: bool, why: str) -> None:
        trace.check("D-2", description, passed, "" if passed else why)
        if not passed:
            reasons.append(why)

    row = _find_system(system)
    rule("the operating system is in the support table", row is not None,
         f"{system} is not in the support table")
    if row is not None:
        rule(f"{row.name} has at least service pack {row.min_service_pack}",
             service_pack >= row.min_service_pack,
             f"{row.name} needs at least SP{row.min_service_pack} (this one has "
             f"{'SP' + str(service_pack) if service_pack else 'no service pack'})")
        if row.ad_rms_only:
            rule(f"{row.name} is supported for this service", service == "ad-rms",
                 f"{row.name} is supported only for AD RMS, not for the cloud service")
    rule("the package matches the Windows architecture",
         not (package == "x86" and os_bits == 64) and not (package == "x64" and os_bits == 32),
         "the x86 package cannot be installed on 64-bit Windows (use the x64 package, which "
         "also serves 32-bit applications)" if package == "x86" else
         "the x64 package is for 64-bit Windows; use the x86 package")
    rule("the installer runs with elevated rights", elevated,
         "installing needs elevated rights, e.g. membership of the local Administrators group")
    runtimes = ("32-bit", "64-bit") if package == "x64" else ("32-bit",)
    command = (f"{package_file(package)} /quiet" if silent
               else f"{package_file(package)} (the installation wizard)")
    update = ("keeps the computer's Microsoft Update settings" if silent
              else "the wizard asks whether to turn on Microsoft Update")
    if not reasons:
        trace.step("installer", "installs the RMS client", INSTALL_DIRECTORY,
                   note=", ".join(CLIENT_FILES) + f"; {' and '.join(runtimes)} runtime(s)")
    return InstallDecision(package, system + (f" SP{service_pack}" if service_pack else ""),
                           not reasons, tuple(reasons), command, runtimes, update, trace)
