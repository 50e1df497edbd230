"""Fuzzing what a crafted file or a command line controls: the fields of a protected
file's header, and the times and intervals of the command. Whatever they hold, the
answer is a result or an rmslab error — never another exception (docs/architecture.md rule 5).

covers: A-1, P-6
"""

from __future__ import annotations

import argparse
import io
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmslab.cli.common import EARLIEST, LATEST, MAX_DAYS, parse_at, parse_days
from rmslab.errors import RmslabError
from rmslab.lab import Lab
from rmslab.report import examine, inspect_json
from rmslab.samples import teaching_chain
from rmslab.xrml import read_chain, read_file
from rmslab.xrml.model import format_time, parse_time
from rmslab.xrml.pfile import read_container_header, write_protected_file
from tests.attacks.conftest import run

REPO = Path(__file__).resolve().parents[2]
TEACHING = teaching_chain(Lab())
CONTAINER = write_protected_file(TEACHING.text, bytes(64), original_size=50,
                                 metadata=b"m" * 8)
NOTICE = struct.unpack_from("<I", CONTAINER, 14)[0]
HEADER_AT = 18 + NOTICE
LENGTH = len(CONTAINER)
AT = Lab().now()


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, handing out a few bytes at a time, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        piece = self._data[self._at:self._at + min(len(buffer), 7)]
        buffer[:len(piece)] = piece
        self._at += len(piece)
        return len(piece)


# values that sit on the boundaries a reader gets wrong
_FIELD = st.one_of(
    st.sampled_from([0, 1, 4, 15, 16, 24, 40, HEADER_AT, HEADER_AT + 40, LENGTH - 64,
                     LENGTH - 1, LENGTH, LENGTH + 1, 1 << 24, (1 << 31) - 1, 1 << 31,
                     (1 << 32) - 1]),
    st.integers(0, LENGTH + 100), st.integers(0, (1 << 32) - 1))


def _read_every_way(data: bytes, path: Path) -> None:
    for read in (lambda: read_chain(data), lambda: read_container_header(io.BytesIO(data)),
                 lambda: read_container_header(io.BufferedReader(_Pipe(data))),
                 lambda: read_file(path)):
        try:
            result = read()
            if hasattr(result, "documents"):
                examine(result, at=AT)  # type: ignore[arg-type]
                inspect_json(result)  # type: ignore[arg-type]
        except RmslabError:
            pass


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.integers(0, 9), _FIELD, min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, LENGTH)))
def test_container_header_fields(fields: dict[int, int], cut: int | None,
                                 tmp_path: Path) -> None:
    data = bytearray(CONTAINER)
    for index, value in fields.items():
        struct.pack_into("<I", data, HEADER_AT + 4 * index, value)
    crafted = bytes(data[:cut] if cut is not None else data)
    path = tmp_path / "fuzzed.ptxt"
    path.write_bytes(crafted)
    _read_every_way(crafted, path)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.tuples(_FIELD, _FIELD), notice=_FIELD, cut=st.integers(0, 64))
def test_container_versions_and_notice_lengths(version: tuple[int, int], notice: int,
                                               cut: int, tmp_path: Path) -> None:
    data = bytearray(CONTAINER)
    struct.pack_into("<III", data, 6, *version, notice)
    crafted = bytes(data[:HEADER_AT + cut])
    path = tmp_path / "fuzzed.ptxt"
    path.write_bytes(crafted)
    _read_every_way(crafted, path)


_DIGITS = st.integers(0, 99).map(lambda n: f"{n:02d}")
_TIMES = st.one_of(
    st.builds(lambda y, m, d, h, mi, s, z: f"{y:04d}-{m}-{d}T{h}:{mi}{s}{z}",
              st.integers(0, 9999), _DIGITS, _DIGITS, _DIGITS, _DIGITS,
              st.sampled_from(["", ":00", ":59", ":60"]),
              st.one_of(st.just(""), st.just("Z"),
                        st.builds(lambda sign, hh, mm: f"{sign}{hh}:{mm}",
                                  st.sampled_from("+-"), _DIGITS, _DIGITS))),
    st.sampled_from(["0001-01-01T00:00+14:00", "9999-12-31T23:59-01:00", "1601-01-01",
                     "9999-12-31", "2026-01-05T09:00", " 2026-01-05 ", "2026-01-05T9:00",
                     "+2026-01-05", "2026-W01-1", "20260105", "now", ""]),
    st.text(max_size=30))


@settings(max_examples=500, deadline=None)
@given(value=_TIMES)
def test_any_time_argument_is_a_time_rmslab_writes_and_reads_back_or_refused(
        value: str) -> None:
    try:
        moment = parse_at(value)
    except argparse.ArgumentTypeError as exc:
        assert repr(value) in str(exc)
        assert "is not a time" in str(exc) or "lies outside the times" in str(exc)
        return
    assert EARLIEST <= moment <= LATEST + timedelta(seconds=59)
    written = format_time(moment)
    read_back = parse_time(written, "UNTIL")
    assert read_back is not None and read_back == moment.replace(second=0, microsecond=0)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.integers(-10**12, 10**12).map(str), st.text(max_size=15),
                       st.sampled_from(["99999999999", "-3", "0", "3650", "3651", "1", "07",
                                        " 7", "7.0", "1e3", "٣"])))
def test_any_interval_argument_is_a_number_of_days_or_refused(value: str) -> None:
    try:
        days = parse_days(value)
    except argparse.ArgumentTypeError:
        return
    assert 1 <= days <= MAX_DAYS and isinstance(days, int)
    assert LATEST - timedelta(days=days) < LATEST  # usable in date arithmetic


@pytest.fixture(scope="module")
def intact() -> Path:
    return REPO / "data" / "broken" / "intact.xml"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_TIMES)
def test_any_time_through_the_command(value: str, intact: Path) -> None:
    status, output, error = run("verify", str(intact), "--at", value)
    assert status in (0, 1, 2, 5, 6) and "Traceback" not in output + error
    if status == 2:
        assert "argument --at" in error
