"""Rights policy templates on the client: when they are downloaded, forcing a download,
and templates placed by hand in the UnmanagedTemplates folder (SPEC D-4, D-5).

* The client keeps, per server it downloads templates from, a key
  ``<registry location>\\<Server Name>\\Template``. While it exists the client waits for
  the refresh interval (TemplateUpdateFrequency…); deleting it makes the client download
  templates right after the next publishing request. External (``corprights.contoso.com``)
  and internal (``corprights``) server names are separate keys: delete both.
* Templates in the UnmanagedTemplates folder are used instead of downloading from the
  default server (the client may still download from other servers). Any file name will
  do, but a template must end in ``.xml`` and be issued by an RMS server or service.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Mapping

from rmslab.discovery.machine import Machine
from rmslab.discovery.regfile import KeyDeletion, RegFile
from rmslab.discovery.settings import TemplateRefresh, template_refresh
from rmslab.errors import InputError, VerificationError
from rmslab.trace import Trace
from rmslab.xrml.document import RightsTemplate
from rmslab.xrml.reader import read_chain
from rmslab.xrml.verify import check_digest, check_signature

__all__ = [
    "TemplateDownload", "template_download", "force_template_download", "TemplateFile",
    "UnmanagedTemplates", "unmanaged_templates", "read_template_folder", "SERVER_ISSUER_TYPE",
]

#: The ISSUER type of documents an RMS server or service signs.
SERVER_ISSUER_TYPE = "MS-DRM-Server"


@dataclass(frozen=True)
class TemplateDownload:
    """When the client will next download templates from one server (D-4)."""

    server: str
    key: str
    immediate: bool
    refresh: TemplateRefresh
    reason: str


def template_download(machine: Machine, server_name: str) -> TemplateDownload:
    """Whether ``machine`` downloads templates from ``server_name`` right after the next
    publishing request (its Template key is absent) or waits for the refresh interval."""
    key = machine.paths.template_key(server_name)
    refresh = template_refresh(machine)
    present = machine.view.key(key) is not None
    if present:
        reason = (f"{key} exists: the client waits — {refresh.describe()}")
    else:
        reason = (f"{key} is absent: templates are downloaded right after the next "
                  "publishing request")
    return TemplateDownload(server_name, key, not present, refresh, reason)


def force_template_download(machine: Machine, *server_names: str) -> RegFile:
    """The ``.reg`` file that deletes the Template key of each server name — give both the
    external and the internal name of a server (D-4)."""
    if not server_names:
        raise InputError("name at least one server (its external and internal names)")
    return RegFile("5.00", tuple(KeyDeletion(machine.paths.template_key(n))
                                 for n in server_names))


@dataclass(frozen=True)
class TemplateFile:
    """One file in the UnmanagedTemplates folder, and whether the client uses it."""

    name: str
    accepted: bool
    reason: str
    template: RightsTemplate | None = None


@dataclass(frozen=True)
class UnmanagedTemplates:
    """What the client makes of its UnmanagedTemplates folder (D-5)."""

    folder: PureWindowsPath
    files: tuple[TemplateFile, ...]
    trace: Trace

    @property
    def accepted(self) -> tuple[TemplateFile, ...]:
        return tuple(f for f in self.files if f.accepted)

    @property
    def replaces_default_download(self) -> bool:
        """Whether the client uses these instead of downloading from the default server."""
        return bool(self.accepted)


def _examine(name: str, data: bytes) -> TemplateFile:
    if not name.lower().endswith(".xml"):
        return TemplateFile(name, False, "the name does not end in .xml")
    try:
        chain = read_chain(data, source=name)
    except InputError as exc:
        return TemplateFile(name, False, f"not an XrML document: {exc}")
    leaf = chain.leaf
    if not isinstance(leaf, RightsTemplate):
        return TemplateFile(name, False, f"a {leaf.kind_name}, not a rights policy template")
    issuer = leaf.issuer
    if issuer is None or issuer.object_type != SERVER_ISSUER_TYPE:
        who = issuer.label if issuer is not None else "nobody"
        return TemplateFile(name, False, f"issued by {who}, not by an RMS server or service",
                            leaf)
    try:
        check_digest(leaf)
        check_signature(leaf)
    except (VerificationError, InputError) as exc:
        return TemplateFile(name, False, f"its signature does not hold: {exc}", leaf)
    return TemplateFile(name, True, f"a template issued by {issuer.label}, signature valid",
                        leaf)


def unmanaged_templates(machine: Machine, files: Mapping[str, bytes]) -> UnmanagedTemplates:
    """Judge the files of ``machine``'s UnmanagedTemplates folder (name → content), in
    name order, as the client does (D-5)."""
    folder = machine.paths.unmanaged_templates
    trace = Trace("reading the UnmanagedTemplates folder")
    judged = []
    for name in sorted(files):
        verdict = _examine(name, files[name])
        trace.step("client", "reads a file from the UnmanagedTemplates folder",
                   str(folder / name))
        trace.check("D-5", "a template ending in .xml, issued by an RMS server or service",
                    verdict.accepted, verdict.reason)
        judged.append(verdict)
    result = UnmanagedTemplates(folder, tuple(judged), trace)
    trace.step("client", "decides where templates come from", note=(
        f"{len(result.accepted)} template(s) from the folder replace the download from the "
        "default server (other servers may still be asked)" if result.accepted else
        "no usable template in the folder: templates come from the default server"))
    return result


def read_template_folder(folder: str | os.PathLike[str]) -> dict[str, bytes]:
    """The files of a folder on this machine (name → content), for
    :func:`unmanaged_templates`."""
    path = Path(folder)
    try:
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
