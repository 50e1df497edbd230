"""Grayscale bitmaps and their PNG (rmslab.viz.bitmap): a valid PNG that decodes to the
pixels, the padlock's flat areas, pictures side by side, sizes refused."""

from __future__ import annotations

import struct
import zlib

import pytest

from rmslab.viz.bitmap import Bitmap, padlock, side_by_side


def _chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, {}
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        tag, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, tag
        chunks[tag] = body
        at += 12 + length
    assert list(chunks)[-1] == b"IEND"
    return chunks


@pytest.mark.parametrize("picture", [padlock(), padlock(64, 48),
                                     Bitmap(3, 2, bytes([0, 127, 255, 1, 2, 3]))])
def test_the_png_decodes_to_the_pixels(picture: Bitmap) -> None:
    data = picture.to_png()
    assert picture._repr_png_() == data
    chunks = _chunks(data)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (width, height, depth, color, interlace) == (picture.width, picture.height, 8, 0, 0)
    rows = zlib.decompress(chunks[b"IDAT"])
    assert len(rows) == height * (width + 1)
    assert all(rows[y * (width + 1)] == 0 for y in range(height))  # filter type 0
    assert b"".join(rows[y * (width + 1) + 1:(y + 1) * (width + 1)]
                    for y in range(height)) == picture.pixels


def test_the_padlock_is_two_shades_in_large_flat_areas() -> None:
    picture = padlock()
    assert set(picture.pixels) == {0xE6, 0x28}
    dark = picture.pixels.count(0x28)
    assert len(picture.pixels) // 5 < dark < len(picture.pixels) // 2
    rows = [picture.pixels[y * picture.width:(y + 1) * picture.width]
            for y in range(picture.height)]
    assert rows[0] == bytes([0xE6]) * picture.width  # background above the shackle
    middle = rows[picture.height * 3 // 4]
    assert middle[picture.width // 2 - 40] == 0x28  # the body, beside the keyhole


def test_side_by_side_keeps_each_picture_and_fills_the_rest() -> None:
    a = Bitmap(2, 2, b"\x01\x02\x03\x04", "a")
    b = Bitmap(1, 3, b"\x05\x06\x07", "b")
    both = side_by_side(a, b, gap=1, background=9)
    assert (both.width, both.height, both.caption) == (4, 3, "a | b")
    assert both.pixels == bytes([1, 2, 9, 5, 3, 4, 9, 6, 9, 9, 9, 7])
    with pytest.raises(ValueError):
        side_by_side()


def test_a_bitmap_must_hold_its_pixels() -> None:
    with pytest.raises(ValueError, match="has 6 pixels, not 5"):
        Bitmap(3, 2, bytes(5))
    with pytest.raises(ValueError):
        Bitmap(0, 2, b"")
