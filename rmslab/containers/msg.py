"""An Outlook message file (``.msg``, MS-OXMSG) that carries a protected mail.

A ``.msg`` file is an OLE compound file: message properties in ``__substg1.0_TTTTPPPP``
streams and the ``__properties_version1.0`` stream, one ``__attach_version1.0_#N``
storage per attachment. A rights-protected mail (MS-OXORMMS 2.2.3) has the message
class beginning ``IPM.Note.rpmsg`` and one
attachment named ``message.rpmsg`` whose binary data (``PidTagAttachDataBinary``,
property 0x3701, type 0x0102) is the rpmsg of :mod:`rmslab.containers.rpmsg`.

The reader finds the attachment by its data's prefix, not by its name; the message
class and file name are reported.
"""

from __future__ import annotations

import io
import struct

from rmslab.containers.cfb import CompoundFile, CompoundWriter
from rmslab.containers.model import Artefact
from rmslab.containers.rpmsg import MAX_STORAGE_BYTES, PREFIX, read_rpmsg
from rmslab.errors import NotProtectedError
from rmslab.xrml.source import MAX_INPUT_BYTES

__all__ = ["write_msg", "read_msg", "is_msg", "MESSAGE_CLASS"]

MESSAGE_CLASS = "IPM.Note.rpmsg"
_PROPS = "__properties_version1.0"
_CLASS = "__substg1.0_001A001F"         # PidTagMessageClass, Unicode
_SUBJECT = "__substg1.0_0037001F"       # PidTagSubject, Unicode
_ATTACH_DATA = "__substg1.0_37010102"   # PidTagAttachDataBinary
_ATTACH_NAME = "__substg1.0_3707001F"   # PidTagAttachLongFilename
_ATTACH_MIME = "__substg1.0_370E001F"   # PidTagAttachMimeTag
_NAMEID = "__nameid_version1.0"


def is_msg(cf: CompoundFile) -> bool:
    return cf.kind(_PROPS) == "stream" and (cf.kind(_CLASS) == "stream"
                                           or any(n.startswith("__attach_version1.0_")
                                                  for n in cf.list()))


def _property(tag: int, size: int) -> bytes:
    """A 16-byte property entry for a variable-length value (MS-OXMSG 2.4.2): tag,
    flags (readable, writable), the value's size and a reserved word."""
    return struct.pack("<IIII", tag, 0x6, size, 0)


def write_msg(rpmsg: bytes, *, subject: str = "Protected message") -> bytes:
    """A ``.msg`` file with the protected mail as its ``message.rpmsg`` attachment."""
    writer = CompoundWriter()
    message_class = MESSAGE_CLASS.encode("utf-16-le")
    title = subject.encode("utf-16-le")
    header = struct.pack("<8sIIII8s", bytes(8), 0, 1, 0, 1, bytes(8))
    writer.add_stream(_PROPS, header + _property(0x001A001F, len(message_class) + 2)
                      + _property(0x0037001F, len(title) + 2))
    writer.add_stream(_CLASS, message_class)
    writer.add_stream(_SUBJECT, title)
    for stream in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        writer.add_stream(f"{_NAMEID}/{stream}", b"")
    attachment = "__attach_version1.0_#00000000"
    name = "message.rpmsg".encode("utf-16-le")
    mime = "application/x-microsoft-rpmsg-message".encode("utf-16-le")
    writer.add_stream(f"{attachment}/{_PROPS}", bytes(8)
                      + struct.pack("<IIQ", 0x37050003, 0x6, 1)          # ATTACH_BY_VALUE
                      + _property(0x37010102, len(rpmsg))
                      + _property(0x3707001F, len(name) + 2)
                      + _property(0x370E001F, len(mime) + 2))
    writer.add_stream(f"{attachment}/{_ATTACH_DATA}", rpmsg)
    writer.add_stream(f"{attachment}/{_ATTACH_NAME}", name)
    writer.add_stream(f"{attachment}/{_ATTACH_MIME}", mime)
    return writer.to_bytes()


def _unicode(cf: CompoundFile, path: str) -> str:
    if cf.kind(path) != "stream":
        return ""
    return cf.read(path, limit=4096).decode("utf-16-le", errors="replace").rstrip("\0")


def read_msg(cf: CompoundFile, source: str, *, limit: int = MAX_INPUT_BYTES) -> Artefact:
    """The protected mail inside a ``.msg`` file."""
    message_class = _unicode(cf, _CLASS)
    for storage in cf.list():
        if not storage.startswith("__attach_version1.0_"):
            continue
        data_path = f"{storage}/{_ATTACH_DATA}"
        if cf.kind(data_path) != "stream" or cf.head(data_path, 8) != PREFIX:
            continue
        name = _unicode(cf, f"{storage}/{_ATTACH_NAME}") or "(no name)"
        rpmsg = cf.read(data_path, limit=MAX_STORAGE_BYTES)
        inner = read_rpmsg(io.BytesIO(rpmsg), f"{source}: {name}", limit=limit)
        details = (("message class", message_class or "(none)"), ("attachment", name))
        return Artefact("outlook-msg", source, inner.license_text, inner.payload,
                        inner.use_licenses, details, inner=inner)
    raise NotProtectedError(f"{source}: an Outlook message without a protected-mail "
                            f"attachment (message class {message_class or 'unknown'})")
