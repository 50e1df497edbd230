"""Protected mail: the ``message.rpmsg`` attachment of MS-OXORMMS.

Layout (MS-OXORMMS 2.2.4): the 8-byte prefix ``76 E8 04 60 C4 11 E3 86``, then blocks,
each a header of three 32-bit little-endian fields — ``ULCheck`` (0x00000FA0),
``SizeAfterInflation`` (at most 4096: the uncompressed content is cut into 4096-byte
segments) and ``SizeBeforeInflation`` — and that many bytes of zlib data (RFC 1950).
Inflated and joined, the blocks are an OLE compound file, the *storage container*: a
``\\x06DataSpaces`` storage in the binary form of MS-OFFCRYPTO (the publishing license in
the ``\\x09DRMTransform``) and the ``\\x09DRMContent`` stream holding the encrypted
message body and attachments.

Inflation is bounded: a block may not inflate past the size it declares, nor past 4096
bytes, and the whole container past a limit — a zip bomb ends in
:class:`CompressionBombError`, never in memory exhaustion.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from typing import BinaryIO, cast

from rmslab.containers.cfb import CompoundWriter, open_compound
from rmslab.containers.model import Artefact
from rmslab.containers.office import (BINARY, add_dataspaces, content_payload,
                                      protected_content_stream, read_dataspaces)
from rmslab.errors import CompressionBombError, ContainerError
from rmslab.xrml.source import MAX_INPUT_BYTES

__all__ = ["PREFIX", "is_rpmsg", "compress_storage", "inflate_storage", "write_rpmsg",
           "read_rpmsg", "MAX_STORAGE_BYTES"]

PREFIX = b"\x76\xe8\x04\x60\xc4\x11\xe3\x86"
_CHECK = 0x00000FA0
_SEGMENT = 4096
#: The largest storage container rmslab inflates (mail with its attachments).
MAX_STORAGE_BYTES = 256 * 1024 * 1024


def is_rpmsg(head: bytes) -> bool:
    return head.startswith(PREFIX)


def compress_storage(storage: bytes) -> bytes:
    """The prefix and the zlib blocks of a storage container, 4096 bytes per block."""
    out = [PREFIX]
    for at in range(0, max(len(storage), 1), _SEGMENT):
        segment = storage[at:at + _SEGMENT]
        packed = zlib.compress(segment, 9)
        out.append(struct.pack("<III", _CHECK, len(segment), len(packed)) + packed)
    return b"".join(out)


def inflate_storage(handle: BinaryIO, source: str, *,
                    limit: int = MAX_STORAGE_BYTES) -> BinaryIO:
    """Inflate the blocks after the prefix into a temporary file (kept in memory while
    small); every block checked against what it declares."""
    if handle.read(8) != PREFIX:
        raise ContainerError(f"{source}: not a protected mail: no rpmsg prefix")
    sink = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024))
    total = 0
    block = 0
    while True:
        header = handle.read(12)
        if not header:
            break
        if len(header) < 12:
            raise ContainerError(f"{source}: the rpmsg is truncated in the header of "
                                 f"block {block}")
        check, after, before = struct.unpack("<III", header)
        if check != _CHECK:
            raise ContainerError(f"{source}: block {block} does not start with ULCheck "
                                 f"0x00000FA0 (found {check:#010x}) (MS-OXORMMS 2.2.4)")
        if after > _SEGMENT:
            raise CompressionBombError(f"{source}: block {block} declares {after} bytes "
                                       "after inflation; segments are at most 4096")
        if before > _SEGMENT + 1024:
            raise ContainerError(f"{source}: block {block} declares {before} compressed "
                                 "bytes, more than a 4096-byte segment can need")
        packed = handle.read(before)
        if len(packed) < before:
            raise ContainerError(f"{source}: the rpmsg is truncated in block {block}")
        engine = zlib.decompressobj()
        try:
            data = engine.decompress(packed, after + 1)
        except zlib.error as exc:
            raise ContainerError(f"{source}: block {block} is not zlib data ({exc})") from None
        if len(data) > after or engine.unconsumed_tail:
            raise CompressionBombError(f"{source}: block {block} inflates past the {after} "
                                       "bytes it declares")
        if len(data) != after or not engine.eof:
            raise ContainerError(f"{source}: block {block} inflates to {len(data)} bytes, "
                                 f"not the {after} it declares")
        total += after
        if total > limit:
            raise CompressionBombError(f"{source}: the storage container inflates past "
                                       f"{limit} bytes, the limit rmslab reads")
        sink.write(data)
        block += 1
    if block == 0:
        raise ContainerError(f"{source}: the rpmsg has no blocks after its prefix")
    sink.seek(0)
    return sink


def storage_container(license_text: str, sealed: bytes, plaintext_size: int, *,
                      use_licenses: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    """The uncompressed storage container (MS-OXORMMS 2.2.4.4): the data spaces in the
    binary form and the ``\\x09DRMContent`` stream."""
    writer = CompoundWriter()
    add_dataspaces(writer, BINARY, license_text, use_licenses)
    writer.add_stream(BINARY[0], protected_content_stream(sealed, plaintext_size))
    return writer.to_bytes()


def write_rpmsg(license_text: str, sealed: bytes, plaintext_size: int, *,
                use_licenses: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    """A whole ``message.rpmsg`` around a sealed message body."""
    return compress_storage(storage_container(license_text, sealed, plaintext_size,
                                              use_licenses=use_licenses))


def read_rpmsg(handle: BinaryIO | bytes, source: str, *,
               limit: int = MAX_INPUT_BYTES) -> Artefact:
    """The publishing license and sealed body of a protected mail."""
    stream = io.BytesIO(handle) if isinstance(handle, (bytes, bytearray)) else handle
    storage = inflate_storage(stream, source, limit=max(MAX_STORAGE_BYTES, 4 * limit))
    try:
        with open_compound(storage, f"{source} (storage container)") as cf:
            spaces = read_dataspaces(cf, source, limit=limit)
            if spaces.form is not BINARY:
                raise ContainerError(f"{source}: the storage container protects "
                                     f"{spaces.content_stream!r}, not \\x09DRMContent "
                                     "(MS-OXORMMS 2.2.4.4)")
            payload = content_payload(cf, source, BINARY[0], cipher="AES-128-ECB")
            size = storage.seek(0, io.SEEK_END)
    finally:
        storage.close()
    return Artefact("rpmsg", source, spaces.license_text, payload, spaces.use_licenses,
                    (("storage container", f"{size} bytes inflated"),))
