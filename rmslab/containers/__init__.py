"""Real protected containers: recognised by content, read without opening the content
(SPEC A-1).

:func:`open_artefact` looks at a file's first bytes — never at its name — and hands it
to the reader of its family: the ``.pfile`` container, an OLE compound file (an Office
document protected with IRM, MS-OFFCRYPTO 2.2; an Outlook ``.msg`` carrying a protected
mail), a ``message.rpmsg`` (MS-OXORMMS), a PDF protected with Microsoft IRM (versions 1
and 2, in or out of the wrapper), or XrML text (a license, a certificate, an entry of a
client license store). Each returns an :class:`Artefact`: the publishing license chain
as text and the sealed payload's description. A file that holds no protection rmslab
knows raises :class:`rmslab.errors.NotProtectedError`; a damaged or hostile one a named
:class:`rmslab.errors.InputError`.

Writers for every format live beside the readers (``write_office``, ``write_rpmsg``,
``write_msg``, ``write_pdf_irm``, ``wrap_pdf_irm_v2``, ``write_store``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from rmslab.containers.cfb import is_compound_file, open_compound
from rmslab.containers.model import KINDS, Artefact, Payload
from rmslab.containers.msg import is_msg, read_msg, write_msg
from rmslab.containers.office import read_office, write_office
from rmslab.containers.pdf import is_pdf, read_pdf, wrap_pdf_irm_v2, write_pdf_irm
from rmslab.containers.rpmsg import is_rpmsg, read_rpmsg, write_rpmsg
from rmslab.containers.stores import LicenseStore, StoreEntry, find_stores, read_store, write_store
from rmslab.errors import HostileInputError, InputError, NotProtectedError
from rmslab.xrml.pfile import MAGIC as PFILE_MAGIC, read_container_header
from rmslab.xrml.source import MAX_INPUT_BYTES, decode_text

__all__ = ["open_artefact", "Artefact", "Payload", "KINDS", "write_office", "write_rpmsg",
           "write_msg", "write_pdf_irm", "wrap_pdf_irm_v2", "LicenseStore", "StoreEntry",
           "find_stores", "read_store", "write_store", "looks_like_xrml"]

#: Files up to this size are read into memory at once; larger ones are read as streams.
IN_MEMORY_BYTES = 1024 * 1024

_XRML_MARKERS = (b"<XrML", "<XrML".encode("utf-16-le"), "<XrML".encode("utf-16-be"))


def looks_like_xrml(head: bytes) -> bool:
    """Whether the first bytes of a file hold an ``<XrML`` start tag in an encoding XrML
    files use."""
    return any(marker in head for marker in _XRML_MARKERS)


def _read_pfile(handle: BinaryIO, source: str, size: int, limit: int) -> Artefact:
    try:
        header = read_container_header(handle, license_limit=limit)
    except InputError as exc:
        raise type(exc)(f"{source}: {exc}") from None
    text = decode_text(header.license_bytes, limit=limit)
    sealed = (header.content_length if header.content_length is not None
              else max(size - header.content_offset, 0))
    payload = Payload("encrypted content", header.original_size, sealed, "")
    details = (("version", header.version), ("extension", header.extension))
    return Artefact("protected-file", source, text, payload, details=details)


def _from_handle(handle: BinaryIO, source: str, size: int, limit: int) -> Artefact:
    head = handle.read(1024)
    handle.seek(0)
    if head.startswith(PFILE_MAGIC):
        return _read_pfile(handle, source, size, limit)
    if is_compound_file(head):
        with open_compound(handle, source) as cf:
            if is_msg(cf):
                return read_msg(cf, source, limit=limit)
            return read_office(cf, source, limit=limit)
    if is_rpmsg(head):
        return read_rpmsg(handle, source, limit=limit)
    if is_pdf(head):
        return read_pdf(handle, source, limit=limit)
    if not looks_like_xrml(handle.read(64 * 1024)):
        raise NotProtectedError(f"{source}: holds no rights-management protection rmslab "
                                "knows")
    if size > limit:
        raise HostileInputError(f"{source}: the XrML file is {size} bytes, more than the "
                                f"{limit} rmslab reads")
    handle.seek(0)
    return Artefact("xrml", source, decode_text(handle.read(limit + 1), limit=limit))


def open_artefact(source: str | os.PathLike[str] | BinaryIO | bytes, *,
                  name: str | None = None, limit: int = MAX_INPUT_BYTES) -> Artefact:
    """Recognise and read a protected artefact from a path, an open binary file or bytes.
    ``limit`` bounds the license text (the XrML limit); payloads are described, never
    read whole."""
    if isinstance(source, (bytes, bytearray)):
        return _from_handle(io.BytesIO(source), name or "<bytes>", len(source), limit)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size <= IN_MEMORY_BYTES:
                    # a small file is read at once: the readers' many small reads and
                    # seeks then cost nothing (a share holds mostly small files)
                    data = handle.read(IN_MEMORY_BYTES + 1)
                    return _from_handle(io.BytesIO(data), label, len(data), limit)
                return _from_handle(handle, label, size, limit)
        except OSError as exc:
            raise InputError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    label = str(name or getattr(source, "name", None) or "<stream>")
    at = source.tell()
    size = source.seek(0, io.SEEK_END) - at
    source.seek(at)
    return _from_handle(source, str(label), size, limit)
