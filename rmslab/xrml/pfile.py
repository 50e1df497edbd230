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

import dataclasses
import io
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from rmslab.errors import ContainerError

__all__ = ["MAGIC", "ProtectedFile", "is_protected_file", "read_protected_file",
           "write_protected_file", "container_header", "read_container_header",
           "read_container_file", "MAX_LICENSE_BYTES"]

MAGIC = b".pfile"
_SUPPORTED_MAJOR = (2, 3)
_UNKNOWN_SIZE = 0xFFFFFFFFFFFFFFFF

#: Bounds on what the header may ask rmslab to read (real files: a notice of about 400
#: bytes, a header of 24 or 40, an extension of 4, metadata of at most a few kilobytes,
#: a license of tens of kilobytes). The license is XrML text: 16 MB, as for any XrML.
MAX_NOTICE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 1024
MAX_EXTENSION_BYTES = 1024
MAX_METADATA_BYTES = 1024 * 1024
MAX_LICENSE_BYTES = 16 * 1024 * 1024
_SKIP_CHUNK = 1 << 20


@dataclass(frozen=True)
class ProtectedFile:
    """A parsed container: its header fields, the license bytes and the sealed content.

    ``content_length`` is the size of the sealed content (None when the container was
    read from a stream whose end cannot be seen). ``content`` holds it only when the
    container was read from bytes (:func:`read_protected_file`); read from a file
    (:func:`read_container_header`), the content stays in the file and ``content`` is
    empty — inspecting or verifying a protected file never reads its content."""

    major_version: int
    minor_version: int
    notice: str
    extension: str
    license_bytes: bytes
    content_offset: int
    original_size: int | None
    metadata: bytes
    content_length: int | None
    content: bytes = b""

    @property
    def version(self) -> str:
        return f"{self.major_version}.{self.minor_version}"


def is_protected_file(data: bytes) -> bool:
    return data.startswith(MAGIC)


def read_protected_file(data: bytes, *,
                        license_limit: int = MAX_LICENSE_BYTES) -> ProtectedFile:
    """Parse a protected-file container held in memory. Raises :class:`ContainerError`
    naming the field that is missing, out of bounds or impossible."""
    header = read_container_header(io.BytesIO(data), license_limit=license_limit)
    return dataclasses.replace(header, content=data[header.content_offset:])


def read_container_header(handle: BinaryIO, *, license_limit: int = MAX_LICENSE_BYTES,
                          already_read: bytes = b"") -> ProtectedFile:
    """Read a container's header, extension, license and metadata from an open file,
    leaving the handle at the start of the sealed content (for streaming); ``content``
    of the result is empty. Every length is checked against its bound before anything
    is read, so a crafted header cannot make rmslab read more than the bounds (the
    content is never read); the parts must lie, without overlapping, between the
    header and the content, and the content must be whole AES blocks, at least as many
    as the original size the header states. ``already_read`` is what the caller read of
    the file before passing the handle (its first bytes, to recognise it).

    Raises :class:`ContainerError` naming the field."""
    reader = _Reader(handle, already_read)
    if reader.read_at_most(len(MAGIC)) != MAGIC:
        raise ContainerError("not a protected file: it does not start with '.pfile'")
    prefix = MAGIC + reader.read(12, "the version and notice length")
    major, minor, notice_length = struct.unpack_from("<III", prefix, 6)
    if major not in _SUPPORTED_MAJOR:
        raise ContainerError(f"protected-file version {major}.{minor} is not supported "
                             f"(rmslab reads versions 2 and 3)")
    _bound(notice_length, MAX_NOTICE_BYTES, "notice", 14)
    notice = reader.read(notice_length, "the notice").decode("utf-8", errors="replace")
    header_at = 18 + notice_length
    header_length = struct.unpack("<I", reader.read(4, "the header length"))[0]
    if header_length < 24 or header_length % 4 or header_length > MAX_HEADER_BYTES:
        raise ContainerError(
            f"the header length {header_length} at byte {header_at} is impossible (a "
            f"header holds 24 to {MAX_HEADER_BYTES} bytes, in 4-byte fields)")
    values = (header_length,) + struct.unpack(
        f"<{header_length // 4 - 1}I", reader.read(header_length - 4, "the header"))
    header_end = header_at + header_length
    ext_offset, ext_length, lic_offset, lic_length, content_offset = values[1:6]
    original_size: int | None = None
    sections = [("file extension", ext_offset, ext_length, MAX_EXTENSION_BYTES, 4),
                ("publishing license", lic_offset, lic_length, license_limit, 12)]
    if len(values) >= 10:
        size = values[6] | (values[7] << 32)
        original_size = None if size == _UNKNOWN_SIZE else size
        sections.append(("metadata", values[8], values[9], MAX_METADATA_BYTES, 32))
    if content_offset < header_end:
        raise ContainerError(
            f"the content is said to start at byte {content_offset}, inside the "
            f"container's header (bytes {header_at}–{header_end})")
    read: dict[str, bytes] = {}
    for what, offset, length, limit, field in sorted(sections, key=lambda s: (s[1], s[2])):
        _bound(length, limit, what, header_at + field + 4)
        if offset < reader.position or offset + length > content_offset:
            raise ContainerError(
                f"the {what} is said to occupy bytes {offset}–{offset + length}, which is "
                f"not between the header (ending at byte {reader.position}, after the "
                f"parts before it) and the content (starting at byte {content_offset})")
        reader.skip_to(offset, f"the {what}")
        read[what] = reader.read(length, f"the {what}")
    reader.skip_to(content_offset, "the content")
    content_length = reader.remaining()
    _check_content_length(content_length, original_size, content_offset)
    return ProtectedFile(major, minor, notice,
                         read["file extension"].decode("utf-8", errors="replace"),
                         read["publishing license"], content_offset, original_size,
                         read.get("metadata", b""), content_length)


def read_container_file(path: str | os.PathLike[str], *,
                        license_limit: int = MAX_LICENSE_BYTES) -> ProtectedFile:
    """:func:`read_container_header` of the file at ``path``: errors (a broken header, a
    file that cannot be opened) are :class:`ContainerError` naming the file."""
    try:
        with open(path, "rb") as handle:
            return read_container_header(handle, license_limit=license_limit)
    except OSError as exc:
        raise ContainerError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ContainerError as exc:
        raise ContainerError(f"{os.fspath(path)}: {exc}") from None


def _bound(length: int, limit: int, what: str, at: int) -> None:
    if length > limit:
        raise ContainerError(f"the {what} is said to be {length} bytes long (field at byte "
                             f"{at}); rmslab reads at most {limit} bytes of it")


def _check_content_length(length: int | None, original_size: int | None,
                          offset: int) -> None:
    """The sealed content is whole AES blocks, at least the padded size of the original
    when the header states it (docs/wire-format.md "Protected files"; both modes pad, see
    :func:`rmslab.crypto.content.encrypted_size`)."""
    if length is None:
        return
    expected = (original_size // 16 + 1) * 16 if original_size is not None else None
    if expected is not None and length < expected:
        raise ContainerError(
            f"the content section is {length} bytes from byte {offset}, but the header says "
            f"the content is {original_size} bytes, which encrypt to {expected}: the file "
            "is truncated")
    if length == 0 or length % 16:
        raise ContainerError(
            f"the content section is {length} bytes from byte {offset}, not a whole number "
            "of 16-byte AES blocks: the file is truncated or damaged")


class _Reader:
    """Reads a container sequentially, counting its position and naming what is missing
    when the file ends early."""

    def __init__(self, handle: BinaryIO, already_read: bytes) -> None:
        self.handle = handle
        self.position = 0
        self.pending = already_read

    def read_at_most(self, length: int) -> bytes:
        data, self.pending = self.pending[:length], self.pending[length:]
        while len(data) < length and (more := self.handle.read(length - len(data))):
            data += more
        self.position += len(data)
        return data

    def read(self, length: int, what: str) -> bytes:
        data, self.pending = self.pending[:length], self.pending[length:]
        if len(data) < length:
            data += self.handle.read(length - len(data))
        while len(data) < length:  # a pipe may return less than asked
            more = self.handle.read(length - len(data))
            if not more:
                raise ContainerError(
                    f"the protected file is truncated or damaged: {what} (bytes {self.position}–"
                    f"{self.position + length}) lies past its end (byte "
                    f"{self.position + len(data)})")
            data += more
        self.position += length
        return data

    def skip_to(self, offset: int, what: str) -> None:
        gap = offset - self.position
        if gap <= 0:
            return
        if self._seekable() and not self.pending:
            end = self.handle.seek(0, os.SEEK_END)
            if end < offset:
                raise ContainerError(f"the protected file is truncated or damaged: {what} is "
                                     f"said to start at byte {offset}, past its end (byte "
                                     f"{end})")
            self.handle.seek(offset)
            self.position = offset
            return
        while gap:
            self.read(min(gap, _SKIP_CHUNK), what)
            gap = offset - self.position

    def remaining(self) -> int | None:
        """Bytes left after the position, when the stream can tell (it stays put)."""
        if not self._seekable() or self.pending:
            return None
        end = self.handle.seek(0, os.SEEK_END)
        self.handle.seek(self.position)
        return end - self.position

    def _seekable(self) -> bool:
        try:
            return bool(self.handle.seekable())
        except (AttributeError, OSError, ValueError):
            return False


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
