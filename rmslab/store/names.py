"""Names that become paths, and files written into a lab (issue 10 item 4; SPEC D-3).

Everything a lab writes to disk goes through :func:`lab_path`: each component is either a
literal of rmslab's own layout or a name from the lab's data checked against the strict
pattern of its kind (:data:`KINDS`) — a content ID is a GUID, a session name is
``[A-Za-z0-9._-]{1,64}`` not starting with a dot, a user's e-mail names a ``GIC-``/``CLC-``
file — and no component may hold a separator, be ``.`` or ``..`` or hold a NUL. The
joined path is then resolved (symbolic links followed) and must stay inside the lab.
A document published at a URL, or a trusted user domain an administrator named, gets a
file name the store chooses (a digest of the URL or name), never a path from the lab's
data.

:func:`write_atomic` writes one file the way a crash cannot leave half of it: a
temporary file in the same directory, flushed to disk, then renamed over the old one.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rmslab.errors import UnsafeNameError

__all__ = ["KINDS", "check_name", "lab_path", "write_atomic", "remove_file",
           "chosen_file_name", "document_file_name"]

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_EMAIL = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}"


@dataclass(frozen=True)
class Kind:
    """A kind of name: the pattern a value must match whole, and the file name it gives."""

    what: str
    pattern: re.Pattern[str]
    file_name: Callable[[str], str]


def _kind(what: str, pattern: str, file_name: Callable[[str], str] = lambda v: v) -> Kind:
    return Kind(what, re.compile(pattern, re.ASCII), file_name)


#: Every kind of name that may become (part of) a path, or name a thing of the lab.
KINDS: dict[str, Kind] = {
    "part": _kind("a part of the lab's layout", r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"),
    "machine": _kind("a computer name", _NAME),
    "cluster": _kind("a cluster name", _NAME),
    "server": _kind("a server name", _NAME),
    "user": _kind("a user name", _NAME),
    "email": _kind("an e-mail address", _EMAIL),
    "gic": _kind("an e-mail address", _EMAIL, lambda v: f"GIC-{v}.drm"),
    "clc": _kind("an e-mail address", _EMAIL, lambda v: f"CLC-{v}.drm"),
    "content-id": _kind("a content ID (a GUID {8-4-4-4-12})", rf"\{{{_GUID}\}}|{_GUID}"),
    "eul": _kind("a content ID (a GUID {8-4-4-4-12})", rf"\{{{_GUID}\}}|{_GUID}",
                 lambda v: f"EUL-{v.strip('{}')}.drm"),
    "template": _kind("a template name", r"[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,126}[A-Za-z0-9_-])?",
                      lambda v: f"{v}.xml"),
    "session": _kind("a session name ([A-Za-z0-9._-], 1 to 64, not starting with a dot)",
                     r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", lambda v: f"{v}.json"),
    "number": _kind("a number", r"[1-9][0-9]{0,8}"),
}


def check_name(kind: str, value: object) -> str:
    """``value`` if it is a safe name of ``kind`` (see :data:`KINDS`), else
    :class:`~rmslab.errors.UnsafeNameError` naming the kind and the value."""
    rule = KINDS[kind]
    if (not isinstance(value, str) or not rule.pattern.fullmatch(value)
            or value in (".", "..")):
        raise UnsafeNameError(f"{value!r} is not {rule.what}: refused (names never become "
                              "paths unchecked)")
    return value


def chosen_file_name(label: str) -> str:
    """The file a document known by ``label`` — a name that is not safe as a path, such as
    a URL or the name an administrator gave a trusted user domain — is kept in: chosen by
    the store from a digest of the label (the label itself never becomes a path)."""
    return hashlib.sha256(label.encode("utf-8")).hexdigest()[:24] + ".xml"


def document_file_name(url: str) -> str:
    """The file a document published at ``url`` is kept in (:func:`chosen_file_name`)."""
    return chosen_file_name(url)


def lab_path(root: Path, *parts: str | tuple[str, str]) -> Path:
    """The path of ``parts`` inside the lab at ``root``. A plain string is a part of the
    lab's own layout; ``(kind, value)`` is a name from the lab's data, checked against
    its kind and turned into its file name (``("eul", "{…}")`` → ``EUL-….drm``). Every
    component must be one safe component, and the resolved path must stay inside the
    lab; anything else raises :class:`~rmslab.errors.UnsafeNameError`."""
    components = []
    for part in parts:
        if isinstance(part, tuple):
            kind, value = part
            component = KINDS[kind].file_name(check_name(kind, value))
        else:
            component = part
        if (not component or component in (".", "..") or "/" in component
                or "\\" in component or "\x00" in component):
            raise UnsafeNameError(f"{component!r} is not one safe path component: refused")
        components.append(component)
    base = root.resolve()
    path = base.joinpath(*components)
    if not path.resolve().is_relative_to(base):
        raise UnsafeNameError(f"{Path(*components)} leads outside the lab {root}: refused")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file in the same
    directory, flushed to disk, renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as writer:
            writer.write(data)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def remove_file(path: Path) -> None:
    """Remove a file of the lab that its state no longer holds (empty directories it
    leaves stay)."""
    path.unlink(missing_ok=True)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
