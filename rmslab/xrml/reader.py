"""Reading XrML: from bytes, text or a file to a :class:`Chain` of typed documents.

Accepts XrML text (UTF-8 or UTF-16) and protected-file containers (docs/wire-format.md "Envelope",
"Protected files"); :func:`read_file` also accepts every container of
:mod:`rmslab.containers` (Office IRM, protected mail, PDF IRM), recognised by content
(docs/wire-format.md "Containers").
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, overload

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import HostileInputError, InputError
from rmslab.xrml.document import XrmlDocument, documents_from_text
from rmslab.xrml.pfile import (MAGIC, ProtectedFile, is_protected_file,
                               read_container_header, read_protected_file)
from rmslab.xrml.source import (MAX_INPUT_BYTES, decode_text, parse_chain_text,
                                 refuse_if_too_large)

__all__ = ["Chain", "CertifiedKeys", "read_chain", "read_file", "parse"]


@dataclass(frozen=True)
class CertifiedKeys:
    """Which certificates of a chain certify which keys: for each key, the indices of the
    certificates whose issued principals hold it (ascending); and the indices of the
    certificates whose keys cannot be read, with the error reading them raised."""

    holders: dict[PublicKey, tuple[int, ...]]
    unreadable: tuple[int, ...]
    errors: tuple[InputError, ...]


@dataclass(frozen=True)
class Chain:
    """Documents as they stand in one file or text: leaf first, then its issuers' certificates."""

    documents: tuple[XrmlDocument, ...]
    text: str
    source: str = "<text>"
    container: ProtectedFile | None = None
    #: a rmslab.containers.Artefact when read from one (not in the repr: a Chain shows as before)
    artefact: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[XrmlDocument]:
        return iter(self.documents)

    @overload
    def __getitem__(self, index: int) -> XrmlDocument: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[XrmlDocument, ...]: ...
    def __getitem__(self, index: int | slice) -> XrmlDocument | tuple[XrmlDocument, ...]:
        return self.documents[index]

    @property
    def leaf(self) -> XrmlDocument:
        return self.documents[0]

    @functools.cached_property
    def certified_keys(self) -> CertifiedKeys | None:
        """The index issuer lookups use (:func:`rmslab.trust.find_issuer`), read once per
        chain; None when the documents are not numbered by their positions."""
        holders: dict[PublicKey, list[int]] = {}
        unreadable: list[int] = []
        errors: list[InputError] = []
        for position, document in enumerate(self.documents):
            if document.index != position:
                return None
            if not document.is_certificate:
                continue
            try:
                keys = document.principal_keys
            except InputError as exc:
                unreadable.append(position)
                errors.append(exc)
                continue
            for key in dict.fromkeys(keys):
                holders.setdefault(key, []).append(position)
        return CertifiedKeys({key: tuple(found) for key, found in holders.items()},
                             tuple(unreadable), tuple(errors))


def parse(text: str, *, source: str = "<text>") -> Chain:
    """Parse XrML text holding one or more documents."""
    spans, elements = parse_chain_text(text)
    return Chain(documents_from_text(text, spans, elements), text, source)


def read_chain(data: bytes | str, *, source: str = "<bytes>",
               limit: int = MAX_INPUT_BYTES) -> Chain:
    """Read XrML from bytes (any supported encoding, or a protected file) or from text."""
    if isinstance(data, str):
        return parse(data, source=source)
    container = None
    if is_protected_file(data):
        if len(data) > 64 * limit:
            raise InputError(f"{source}: the protected file is larger than rmslab reads")
        container = read_protected_file(data, license_limit=limit)
        data = container.license_bytes
    text = decode_text(data, limit=limit)
    chain = parse(text, source=source)
    return Chain(chain.documents, chain.text, source, container)


def read_file(path: str | os.PathLike[str], *, limit: int = MAX_INPUT_BYTES) -> Chain:
    """Read an XrML file or a protected file. Reads are bounded whatever the file claims
    or is (a device, a pipe): XrML text beyond ``limit`` is refused after reading at most
    one byte more; of a protected file only the header and the license chain are read,
    never the sealed content (:func:`~rmslab.xrml.pfile.read_container_header`).
    Errors name the file."""
    p = Path(path)
    name = p.name
    try:
        with p.open("rb") as handle:
            head = handle.read(len(MAGIC))
            if head == MAGIC:
                container = read_container_header(handle, already_read=head,
                                                  license_limit=limit)
                data = container.license_bytes
            else:
                container = None
                head += handle.read(_PEEK - len(head))
                if _is_container(head) and stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    data = None     # an Office, mail or PDF container: read below
                else:
                    # a regular file says its size: refused without reading it
                    refuse_if_too_large(os.fstat(handle.fileno()).st_size, limit,
                                        "the file")
                    data = head + handle.read(limit + 1 - len(head))
                    if len(data) > limit:
                        raise HostileInputError(
                            f"the file holds more than {limit / 1_048_576:.0f} MB; rmslab "
                            f"reads at most {limit / 1_048_576:.0f} MB of XrML text")
    except OSError as exc:
        raise InputError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    except InputError as exc:
        raise type(exc)(f"{name}: {exc}") from None
    if data is None:
        return _read_container(p, str(path), limit)
    try:
        chain = parse(decode_text(data, limit=limit), source=str(path))
    except InputError as exc:
        raise type(exc)(f"{name}: {exc}") from None
    return Chain(chain.documents, chain.text, str(path), container)


#: How much of a file is looked at to recognise a container (a PDF's header may follow
#: some bytes of junk, ISO 32000-1 7.5.2).
_PEEK = 1024


def _is_container(head: bytes) -> bool:
    from rmslab.containers.cfb import is_compound_file
    from rmslab.containers.pdf import is_pdf
    from rmslab.containers.rpmsg import is_rpmsg
    return is_compound_file(head) or is_rpmsg(head) or is_pdf(head)


def _read_container(path: Path, source: str, limit: int) -> Chain:
    """An Office, mail or PDF container: its publishing license chain (the content
    stays sealed), with the artefact's description. Errors name the file."""
    from rmslab.containers import open_artefact
    artefact = open_artefact(path, name=source, limit=limit)
    try:
        chain = parse(artefact.license_text, source=source)
    except InputError as exc:
        raise type(exc)(f"{path.name}: {exc}") from None
    return Chain(chain.documents, chain.text, source, None, artefact)
