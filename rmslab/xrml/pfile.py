"""The protected-file container (docs/wire-format.md "Protected files").

Layout, as real files show it (all integers little-endian, 32-bit unless noted)::

    ".pfile"                      6-byte magic
    major, minor                  container version (2.x and 3.x are read)
    notice_length                 length of the plain-text notice that follows
    notice                        text for people who open the file by hand
    header_length                 length of this block of offsets, itself included
    extension_offset, extension_length      the original file name extension
    license_offset, license_length          the publishing license chain (XrML text)
    content_offset                          where the encrypted content starts
    [version ≥ 2.1 and 3.x] original_size (64-bit), metadata_offset, metadata_length

The content stays sealed: reading it needs the content key, which only a license gives.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from rmslab.errors import ContainerError

__all__ = ["MAGIC", "ProtectedFile", "is_protected_file", "read_protected_file",
           "write_protected_file", "container_header", "read_container_header"]

MAGIC = b".pfile"
_SUPPORTED_MAJOR = (2, 3)
_UNKNOWN_SIZE = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True)
class ProtectedFile:
    """A parsed container: its header fields, the license bytes and the sealed content."""

    major_version: int
    minor_version: int
    notice: str
    extension: str
    license_bytes: bytes
    content_offset: int
    original_size: int | None
    metadata: bytes
    content: bytes

    @property
    def version(self) -> str:
        return f"{self.major_version}.{self.minor_version}"


def is_protected_file(data: bytes) -> bool:
    return data.startswith(MAGIC)


def _u32(data: bytes, offset: int, what: str) -> int:
    if offset + 4 > len(data):
        raise ContainerError(
            f"the protected file is truncated: {what} at byte {offset} lies past its end "
            f"({len(data)} bytes)")
    return int(struct.unpack_from("<I", data, offset)[0])


def _slice(data: bytes, offset: int, length: int, what: str) -> bytes:
    if offset < 0 or length < 0 or offset + length > len(data):
        raise ContainerError(
            f"the protected file is truncated or damaged: the {what} is said to occupy "
            f"bytes {offset}–{offset + length}, but the file has {len(data)} bytes")
    return data[offset:offset + length]


def read_protected_file(data: bytes) -> ProtectedFile:
    """Parse a protected-file container. Raises :class:`ContainerError` naming the field
    that is missing or out of bounds."""
    if not data.startswith(MAGIC):
        raise ContainerError("not a protected file: it does not start with '.pfile'")
    major = _u32(data, 6, "the major version")
    minor = _u32(data, 10, "the minor version")
    if major not in _SUPPORTED_MAJOR:
        raise ContainerError(f"protected-file version {major}.{minor} is not supported "
                             f"(rmslab reads versions 2 and 3)")
    notice_length = _u32(data, 14, "the notice length")
    notice = _slice(data, 18, notice_length, "notice").decode("utf-8", errors="replace")
    header = 18 + notice_length
    header_length = _u32(data, header, "the header length")
    if header_length < 24 or header_length % 4:
        raise ContainerError(f"the header length {header_length} at byte {header} is impossible")
    fields = _slice(data, header, header_length, "header")
    values = struct.unpack(f"<{header_length // 4}I", fields)
    ext_offset, ext_length, lic_offset, lic_length, content_offset = values[1:6]
    extension = _slice(data, ext_offset, ext_length, "file extension").decode(
        "utf-8", errors="replace")
    license_bytes = _slice(data, lic_offset, lic_length, "publishing license")
    if content_offset > len(data):
        raise ContainerError(f"the content is said to start at byte {content_offset}, past "
                             f"the end of the file ({len(data)} bytes)")
    original_size: int | None = None
    metadata = b""
    if len(values) >= 10:
        size = values[6] | (values[7] << 32)
        original_size = None if size == _UNKNOWN_SIZE else size
        metadata = _slice(data, values[8], values[9], "metadata")
    return ProtectedFile(major, minor, notice, extension, license_bytes, content_offset,
                         original_size, metadata, data[content_offset:])


_NOTICE = ("\r\n\r\n\r\nThis file is protected by rmslab, a teaching and audit workbench "
           "for Rights Management Services.\r\nOpen it with an application that supports "
           "protected files.\r\n\r\nDo not change this file in any way -- doing so will "
           "result in data loss.\r\n\r\n")


def container_header(license_text: str, *, extension: str = ".txt",
                     original_size: int | None = None, metadata: bytes = b"",
                     notice: str = _NOTICE) -> bytes:
    """Everything of a version 3.0 container before the encrypted content (the layout real
    clients read); the content follows it directly, so it can be streamed. The license is
    written as UTF-8 with a BOM, as real files do."""
    notice_bytes = notice.encode("utf-8")
    license_bytes = b"\xef\xbb\xbf" + license_text.encode("utf-8")
    ext_bytes = extension.encode("utf-8")
    header_length = 40
    header_at = 18 + len(notice_bytes)
    ext_offset = header_at + header_length
    lic_offset = ext_offset + len(ext_bytes)
    meta_offset = lic_offset + len(license_bytes)
    content_offset = meta_offset + len(metadata)
    size = _UNKNOWN_SIZE if original_size is None else original_size
    header = struct.pack("<10I", header_length, ext_offset, len(ext_bytes), lic_offset,
                         len(license_bytes), content_offset, size & 0xFFFFFFFF, size >> 32,
                         meta_offset, len(metadata))
    return b"".join([MAGIC, struct.pack("<III", 3, 0, len(notice_bytes)), notice_bytes,
                     header, ext_bytes, license_bytes, metadata])


def write_protected_file(license_text: str, content: bytes, *, extension: str = ".txt",
                         original_size: int | None = None, metadata: bytes = b"",
                         notice: str = _NOTICE) -> bytes:
    """A whole version 3.0 container around a license chain and sealed content."""
    return container_header(license_text, extension=extension, original_size=original_size,
                            metadata=metadata, notice=notice) + content


def read_container_header(handle: BinaryIO, *, limit: int = 64 * 1024 * 1024) -> ProtectedFile:
    """Read a container's header from an open file, leaving the handle at the start of the
    encrypted content (for streaming). ``content`` of the result is empty."""
    prefix = handle.read(18)
    if not prefix.startswith(MAGIC):
        raise ContainerError("not a protected file: it does not start with '.pfile'")
    if len(prefix) < 18:
        raise ContainerError("the protected file is truncated: its header is incomplete")
    notice_length = _u32(prefix, 14, "the notice length")
    rest = handle.read(notice_length + 4)
    header_length = _u32(prefix + rest, 18 + notice_length, "the header length")
    head = prefix + rest + handle.read(max(header_length - 4, 0))
    if len(head) < 18 + notice_length + header_length:
        raise ContainerError("the protected file is truncated: its header is incomplete")
    values = struct.unpack_from("<6I", head, 18 + notice_length)
    content_offset = values[5]
    if content_offset > limit:
        raise ContainerError(f"the header says the content starts at byte {content_offset}; "
                             "that is not a protected file rmslab reads")
    head += handle.read(content_offset - len(head))
    parsed = read_protected_file(head)
    return parsed
