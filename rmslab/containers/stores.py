"""Client license stores as Windows keeps them (SPEC D-3, A-1).

* **MSIPC** (the RMS client 2.x): client mode in ``%LOCALAPPDATA%\\Microsoft\\MSIPC``,
  server mode in ``%ALLUSERSPROFILE%\\Microsoft\\MSIPC\\Server\\<SID>`` (one folder per
  service account); templates under ``Templates`` (``…\\Server\\Templates\\<SID>``).
* **MSDRM** (the RMS client 1.0 of Windows XP to 8): ``%LOCALAPPDATA%\\Microsoft\\DRM``
  (on Windows XP ``Local Settings\\Application Data\\Microsoft\\DRM``), and for the
  server lockbox ``%ALLUSERSPROFILE%\\Microsoft\\DRM\\Server\\<SID>``; the machine
  certificate is ``CERT-Machine.drm``.

Files are named by what they hold, as the clients name them: ``GIC-…drm`` for rights
account certificates (the client finds them with ``GIC-*.drm``), ``CLC-…drm`` for client
licensor certificates, ``EUL-…drm`` for use licenses. MSDRM names continue with the IDs
of the certificates of the chain (``GIC-<GUID>-<GUID>.drm``) and writes the XrML chain
as UTF-16LE text, the encoding of its wide-character API; MSIPC names carry the user's
address (``GIC-<email>.drm``, as rmslab's labs lay stores out). The reader accepts
either encoding in either store and checks that a file holds what its name says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rmslab.errors import InputError
from rmslab.xrml.source import MAX_INPUT_BYTES, decode_text

__all__ = ["StoreEntry", "LicenseStore", "read_store", "find_stores", "write_store",
           "ROLES", "store_file_name"]

#: File name prefix → what the file holds, and the document kind it must have.
ROLES: dict[str, tuple[str, str]] = {
    "GIC": ("rights account certificate", "Group-Identity-Credential"),
    "CLC": ("client licensor certificate", "Client-Licensor-Certificate"),
    "EUL": ("use license", "Content-License"),
    "CERT": ("machine certificate", "Machine-Certificate"),
}
_SID = re.compile(r"S-1-\d+(?:-\d+)+", re.ASCII)


@dataclass(frozen=True)
class StoreEntry:
    """One file of a store: its name, role by name, encoding and the XrML chain."""

    name: str
    role: str
    encoding: str
    text: str
    note: str | None = None


@dataclass
class LicenseStore:
    """A client's license store on disk."""

    kind: str            # msipc-client, msipc-server, msdrm, msdrm-server
    root: Path
    sid: str | None
    entries: list[StoreEntry] = field(default_factory=list)
    templates: list[StoreEntry] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: What reports call the store (default: its folder's name and kind).
    label: str | None = None

    @property
    def subject(self) -> str:
        return self.label or f"store {self.root.name} ({self.kind})"

    def role(self, prefix: str) -> list[StoreEntry]:
        return [e for e in self.entries if e.role == prefix]


def _encoding(data: bytes) -> str:
    if data.startswith(b"\xff\xfe") or (len(data) > 1 and data[1] == 0):
        return "UTF-16LE"
    if data.startswith(b"\xfe\xff"):
        return "UTF-16BE"
    return "UTF-8"


def _kind_of(path: Path) -> tuple[str, str | None]:
    parts = [p for p in path.parts]
    upper = [p.upper() for p in parts]
    sid = parts[-1] if _SID.fullmatch(parts[-1]) else None
    family = "msipc" if "MSIPC" in upper else "msdrm"
    server = sid is not None and len(upper) > 1 and upper[-2] == "SERVER"
    return f"{family}-server" if server else ("msipc-client" if family == "msipc"
                                              else "msdrm"), sid


def read_store(directory: str | Path, *, limit: int = MAX_INPUT_BYTES) -> LicenseStore:
    """Read the store in ``directory``: every ``*.drm`` file, and the templates of
    ``Templates`` (MSIPC). Unreadable files are listed with the reason, never fatal."""
    from rmslab.xrml.reader import parse
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder holding a license store")
    kind, sid = _kind_of(root.resolve())
    store = LicenseStore(kind, root, sid)
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".drm":
            continue
        prefix = path.name.split("-", 1)[0].upper()
        try:
            data = path.read_bytes()[:limit + 1]
            text = decode_text(data, limit=limit)
            chain = parse(text, source=path.name)
        except (OSError, InputError) as exc:
            store.unreadable.append((path.name, str(exc)))
            continue
        note = None
        if prefix in ROLES and chain.leaf.kind != ROLES[prefix][1]:
            note = (f"named as a {ROLES[prefix][0]} but holds a {chain.leaf.kind_name}")
        store.entries.append(StoreEntry(path.name, prefix if prefix in ROLES else "other",
                                        _encoding(data), text, note))
    templates = root / "Templates"
    if templates.is_dir():
        for path in sorted(templates.glob("*.xml")):
            try:
                text = decode_text(path.read_bytes()[:limit + 1], limit=limit)
                parse(text, source=path.name)
            except (OSError, InputError) as exc:
                store.unreadable.append((f"Templates/{path.name}", str(exc)))
                continue
            store.templates.append(StoreEntry(f"Templates/{path.name}", "template",
                                              "UTF-8", text))
    return store


def find_stores(path: str | Path) -> Iterator[Path]:
    """Every license store folder under ``path`` (itself included): ``…\\MSIPC``,
    ``…\\MSIPC\\Server\\<SID>``, ``…\\DRM``, ``…\\DRM\\Server\\<SID>``."""
    root = Path(path)
    candidates = [root, *(p for p in root.rglob("*") if p.is_dir())]
    for folder in candidates:
        name = folder.name.upper()
        parent = folder.parent.name.upper()
        if name in ("MSIPC", "DRM") or (_SID.fullmatch(folder.name) and parent == "SERVER"):
            if any(f.suffix.lower() == ".drm" for f in folder.iterdir() if f.is_file()):
                yield folder


def store_file_name(family: str, prefix: str, chain_text: str, *, user: str = "") -> str:
    """The name a client gives a chain: MSDRM ``PREFIX-<GUID>-<GUID>.drm`` from the IDs of
    the chain's documents; MSIPC ``PREFIX-<user>.drm`` (``EUL-<content ID>.drm`` for use
    licenses)."""
    from rmslab.xrml.reader import parse
    chain = parse(chain_text)
    if prefix == "CERT":
        return "CERT-Machine.drm"
    if family == "msdrm":
        ids = [(d.id or "").strip("{}") for d in chain][:2]
        return f"{prefix}-" + "-".join("{" + i + "}" for i in ids if i) + ".drm"
    if prefix == "EUL":
        return f"EUL-{(chain.leaf.content_id or chain.leaf.id or '').strip('{}')}.drm"
    return f"{prefix}-{user}.drm"


def write_store(directory: str | Path, family: str, chains: list[tuple[str, str, str]]) -> Path:
    """Write a store: ``chains`` are (prefix, user, chain text); MSDRM files are UTF-16LE,
    MSIPC files UTF-8 (as a lab lays its stores out)."""
    if family not in ("msdrm", "msipc"):
        raise ValueError("a store is msdrm or msipc")
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, user, text in chains:
        name = store_file_name(family, prefix, text, user=user)
        data = text.encode("utf-16-le") if family == "msdrm" else text.encode("utf-8")
        (root / name).write_bytes(data)
    return root
