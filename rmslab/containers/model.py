"""What a container reader returns: the publishing license chain, the sealed payload's
description, and the use licenses the container caches (SPEC A-1).

The content itself stays sealed: only who holds a license (and so the content key) can
open it. A reader names the stream or object that holds it, its declared plaintext size,
how many sealed bytes there are, and the cipher the format prescribes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from rmslab.errors import ContainerError

__all__ = ["KINDS", "Payload", "Artefact", "unicode_lp_p4", "utf8_lp_p4", "LengthPrefixed"]

#: Every kind of artefact rmslab recognises, with what people call it.
KINDS: dict[str, str] = {
    "protected-file": "protected file (.pfile container)",
    "office-ooxml": "Office document protected with IRM (OOXML in a compound file)",
    "office-binary": "Office binary document protected with IRM",
    "rpmsg": "protected mail (message.rpmsg)",
    "outlook-msg": "Outlook message carrying a protected mail (.msg)",
    "pdf-irm-v1": "PDF protected with Microsoft IRM, version 1",
    "pdf-irm-v2": "PDF protected with Microsoft IRM, version 2",
    "pdf-irm-v2-wrapper": "PDF IRM version 2 in its unencrypted wrapper",
    "xrml": "XrML document or chain (a license, a certificate, a store entry)",
}


@dataclass(frozen=True)
class Payload:
    """The sealed content of an artefact."""

    name: str
    declared_size: int | None
    sealed_size: int
    cipher: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "declared_size": self.declared_size,
                "sealed_size": self.sealed_size, "cipher": self.cipher}


@dataclass(frozen=True)
class Artefact:
    """A recognised protected artefact: its kind, the publishing license chain as text,
    the payload, cached use licenses (each a chain as text) and facts of the format."""

    kind: str
    source: str
    license_text: str
    payload: Payload | None = None
    use_licenses: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    inner: "Artefact | None" = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def kind_name(self) -> str:
        return KINDS[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "kind_name": self.kind_name,
                "payload": self.payload.to_json() if self.payload else None,
                "use_licenses": len(self.use_licenses),
                "details": dict(self.details),
                "inner": self.inner.to_json() if self.inner else None}


# --- MS-OFFCRYPTO 2.1.2 and 2.1.3: length-prefixed strings padded to 4 bytes ----------


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def unicode_lp_p4(text: str) -> bytes:
    """UNICODE-LP-P4: a 32-bit byte count, UTF-16LE characters, padding to 4 bytes."""
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data)) + _pad4(data)


def utf8_lp_p4(data: bytes) -> bytes:
    """UTF-8-LP-P4: a 32-bit byte count, the UTF-8 bytes, padding to 4 bytes."""
    return struct.pack("<I", len(data)) + _pad4(data)


class LengthPrefixed:
    """Reads the structures of MS-OFFCRYPTO 2.1 from bytes, every length checked against
    what is left; errors name the structure and the offset."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.at = 0
        self.what = what

    def _fail(self, message: str) -> ContainerError:
        return ContainerError(f"{self.what}: {message} at byte {self.at} "
                              f"(of {len(self.data)})")

    def u32(self, field_name: str) -> int:
        if self.at + 4 > len(self.data):
            raise self._fail(f"truncated before its {field_name}")
        value = int(struct.unpack_from("<I", self.data, self.at)[0])
        self.at += 4
        return value

    def u16(self, field_name: str) -> int:
        if self.at + 2 > len(self.data):
            raise self._fail(f"truncated before its {field_name}")
        value = int(struct.unpack_from("<H", self.data, self.at)[0])
        self.at += 2
        return value

    def take(self, count: int, field_name: str) -> bytes:
        if count < 0 or self.at + count > len(self.data):
            raise self._fail(f"its {field_name} claims {count} bytes, more than remain")
        value = self.data[self.at:self.at + count]
        self.at += count
        return value

    def unicode(self, field_name: str) -> str:
        length = self.u32(f"{field_name} length")
        if length % 2:
            raise self._fail(f"its {field_name} has an odd byte count {length}")
        raw = self.take(length, field_name)
        self.take(-length % 4, f"{field_name} padding")
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise self._fail(f"its {field_name} is not UTF-16") from None

    def utf8(self, field_name: str) -> bytes:
        length = self.u32(f"{field_name} length")
        raw = self.take(length, field_name)
        if -length % 4:
            self.take(min(-length % 4, len(self.data) - self.at), f"{field_name} padding")
        return raw

    def version(self, field_name: str) -> tuple[int, int]:
        return self.u16(f"{field_name} major"), self.u16(f"{field_name} minor")
