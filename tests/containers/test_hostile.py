"""Damaged and hostile containers end in a named input error (exit status 2), never a
traceback, a hang or memory exhaustion.

covers: A-1
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmslab.containers import open_artefact
from rmslab.containers.convert import WRITABLE, rewrap
from rmslab.containers.pdf import PAYLOAD_NAME, _serialize, _stream
from rmslab.containers.rpmsg import PREFIX
from rmslab.errors import CompoundFileError, CompressionBombError, ContainerError, InputError

from tests.clirun import run
from tests.containers.conftest import Published


def _fat_loop(data: bytes, *, directory: bool) -> bytes:
    """Point a sector's FAT entry back at itself: the directory's first sector, or the
    mini stream's."""
    out = bytearray(data)
    first_directory = struct.unpack_from("<I", out, 48)[0]
    fat = 512 + struct.unpack_from("<I", out, 76)[0] * 512
    sector = first_directory if directory else struct.unpack_from(
        "<I", out, 512 + first_directory * 512 + 116)[0]
    struct.pack_into("<I", out, fat + 4 * sector, sector)
    return bytes(out)


@pytest.mark.parametrize("directory", [True, False])
@pytest.mark.parametrize("kind", ["office-ooxml", "office-binary", "outlook-msg"])
def test_compound_file_with_a_cycle_in_its_sector_chain(
        published: Published, kind: str, directory: bool, tmp_path: Path) -> None:
    hostile = _fat_loop(rewrap(published.pfile, kind), directory=directory)
    with pytest.raises(CompoundFileError):
        open_artefact(hostile)
    path = tmp_path / "looping.docx"
    path.write_bytes(hostile)
    status, out, err = run("inspect", str(path))
    assert status == 2 and out == ""
    assert ("compound file" in err or "sector chain" in err) and "Traceback" not in err


def test_rpmsg_zip_bomb_in_a_chunk(published: Published, tmp_path: Path) -> None:
    """A block that declares 4096 bytes but inflates to 64 MiB is refused after reading
    at most 4097 bytes of it."""
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)
    hostile = PREFIX + struct.pack("<III", 0xFA0, 4096, len(bomb)) + bomb
    with pytest.raises((CompressionBombError, ContainerError)):
        open_artefact(hostile)
    small_bomb = zlib.compress(bytes(1024 * 1024), 9)          # fits the block budget
    hostile = PREFIX + struct.pack("<III", 0xFA0, 4096, len(small_bomb)) + small_bomb
    with pytest.raises(CompressionBombError, match="inflates past"):
        open_artefact(hostile)
    path = tmp_path / "bomb.rpmsg"
    path.write_bytes(hostile)
    status, _, err = run("verify", str(path))
    assert status == 2 and "inflates past" in err


def test_rpmsg_blocks_that_lie_about_their_size(published: Published) -> None:
    good = rewrap(published.pfile, "rpmsg")
    lying = bytearray(good)
    struct.pack_into("<I", lying, 12, 5000)                   # SizeAfterInflation > 4096
    with pytest.raises(CompressionBombError):
        open_artefact(bytes(lying))
    lying = bytearray(good)
    struct.pack_into("<I", lying, 8, 0x1234)                  # ULCheck
    with pytest.raises(ContainerError, match="ULCheck"):
        open_artefact(bytes(lying))


def _wrapper_with(stream: bytes) -> bytes:
    name = b"(" + PAYLOAD_NAME.encode() + b")"
    objects = [b"<< /Type /Catalog /Pages 2 0 R /AF [3 0 R] >>",
               b"<< /Type /Pages /Kids [] /Count 0 >>",
               b"<< /Type /Filespec /F " + name + b" /EF << /F 4 0 R >> /AFRelationship "
               b"/EncryptedPayload /EP << /Type /EncryptedPayload /Subtype "
               b"/MicrosoftIRMServices /Version 2 >> >>",
               stream]
    return _serialize(objects, root=1)


def test_pdf_with_a_huge_stream(tmp_path: Path) -> None:
    """An embedded payload that declares a terabyte is refused before it is read; one that
    inflates (Flate) past the payload limit is refused while inflating."""
    claim = b"<< /Type /EmbeddedFile /Length 1099511627776 >>\nstream\nxx\nendstream"
    with pytest.raises(ContainerError, match="more than"):
        open_artefact(_wrapper_with(claim))
    from rmslab.containers.pdf import read_pdf
    bomb = zlib.compress(bytes(8 * 1024 * 1024), 9)
    flate = _stream(b"/Type /EmbeddedFile /Filter /FlateDecode", bomb)
    with pytest.raises((CompressionBombError, ContainerError)):
        read_pdf(io.BytesIO(_wrapper_with(flate)), "bomb.pdf", payload_limit=1024 * 1024)
    path = tmp_path / "huge.pdf"
    path.write_bytes(_wrapper_with(claim))
    status, _, err = run("inspect", str(path))
    assert status == 2 and "more than" in err


def test_pdf_license_that_inflates_past_the_limit(published: Published) -> None:
    from rmslab.containers.pdf import read_pdf, write_pdf_irm
    data = write_pdf_irm(published.chain, b"sealed", version=1)
    limit = len(published.chain.encode("utf-8")) // 2   # the license fits packed, not inflated
    with pytest.raises(CompressionBombError):
        read_pdf(io.BytesIO(data), "v1.pdf", limit=limit)


@pytest.mark.parametrize("kind", WRITABLE)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(min_value=0.0, max_value=0.999))
def test_truncation_at_any_point_is_a_named_input_error(
        published: Published, kind: str, fraction: float) -> None:
    whole = rewrap(published.pfile, kind)
    cut = whole[:int(len(whole) * fraction)]
    try:
        artefact = open_artefact(cut)
    except InputError as exc:
        assert str(exc)
    else:   # only a cut inside trailing padding can leave the license intact
        assert artefact.license_text == published.chain


@pytest.mark.parametrize("kind", ["office-ooxml", "rpmsg", "pdf-irm-v2-wrapper"])
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_single_byte_damage_never_escapes_as_a_traceback(
        published: Published, kind: str, data: st.DataObject) -> None:
    whole = bytearray(rewrap(published.pfile, kind))
    at = data.draw(st.integers(min_value=0, max_value=len(whole) - 1))
    whole[at] ^= data.draw(st.integers(min_value=1, max_value=255))
    try:
        open_artefact(bytes(whole))
    except InputError:
        pass
