"""Small grayscale pictures for the lessons: a generated padlock with large flat areas,
any bytes shown as pixels, and PNG output (issue 15, attacks notebook: "the picture of an
ECB-encrypted image").

One byte is one pixel (0 black, 255 white), row after row, so a picture's bytes can be
encrypted as content and the ciphertext shown as a picture of the same size. PNG is
written with the standard library (``zlib``; PNG specification, ISO/IEC 15948: IHDR,
one IDAT, IEND; filter type 0 on every row): an image library would be a dependency for
twenty lines, and nothing here reads images.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["Bitmap", "padlock", "side_by_side"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))


@dataclass(frozen=True)
class Bitmap:
    """A grayscale picture: ``width`` × ``height`` bytes, row after row."""

    width: int
    height: int
    pixels: bytes
    caption: str = ""

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError("a bitmap has at least one pixel")
        if len(self.pixels) != self.width * self.height:
            raise ValueError(f"a {self.width}×{self.height} bitmap has "
                             f"{self.width * self.height} pixels, not {len(self.pixels)}")

    def to_png(self) -> bytes:
        """The picture as a PNG file (8-bit grayscale)."""
        rows = b"".join(b"\x00" + self.pixels[y * self.width:(y + 1) * self.width]
                        for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 0, 0, 0, 0)
        return (_PNG_SIGNATURE + _chunk(b"IHDR", header)
                + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b""))

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def __repr__(self) -> str:
        about = f": {self.caption}" if self.caption else ""
        return f"<Bitmap {self.width}×{self.height}{about}>"


def padlock(width: int = 192, height: int = 160) -> Bitmap:
    """A padlock on a light background: a dark body with a keyhole and a shackle above it
    — large flat areas, as a drawing or a scanned form has."""
    light, dark = 0xE6, 0x28
    pixels = bytearray([light]) * (width * height)
    cx = width // 2
    body_top, body_bottom = height * 9 // 20, height * 19 // 20
    half_body = width * 9 // 32
    outer, inner = width * 6 // 32, width * 3 // 32
    hole_y, hole_r = (body_top + body_bottom) // 2 - height // 24, max(2, height // 20)
    for y in range(height):
        for x in range(width):
            dx = x - cx
            in_body = body_top <= y < body_bottom and abs(dx) < half_body
            dy = y - body_top
            ring = inner * inner <= dx * dx + dy * dy <= outer * outer
            in_shackle = y < body_top and ring
            keyhole = ((dx * dx + (y - hole_y) ** 2 <= hole_r * hole_r)
                       or (abs(dx) <= hole_r // 2 and hole_y <= y <= hole_y + 3 * hole_r))
            if (in_body and not keyhole) or in_shackle:
                pixels[y * width + x] = dark
    return Bitmap(width, height, bytes(pixels), "a padlock")


def side_by_side(*bitmaps: Bitmap, gap: int = 8, background: int = 0xFF) -> Bitmap:
    """The bitmaps next to one another, tops aligned, ``gap`` pixels apart."""
    if not bitmaps:
        raise ValueError("nothing to put side by side")
    height = max(b.height for b in bitmaps)
    width = sum(b.width for b in bitmaps) + gap * (len(bitmaps) - 1)
    rows = []
    for y in range(height):
        parts = []
        for b in bitmaps:
            parts.append(b.pixels[y * b.width:(y + 1) * b.width] if y < b.height
                         else bytes([background]) * b.width)
        rows.append((bytes([background]) * gap).join(parts))
    return Bitmap(width, height, b"".join(rows), " | ".join(b.caption for b in bitmaps))
