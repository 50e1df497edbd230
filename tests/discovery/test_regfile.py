""".reg files read and written as the registry editor does.

covers: D-4
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmslab.discovery.regfile import (HEADER_4, HEADER_5, KeyBlock, KeyDeletion, RegFile,
                                      RegType, RegValue, ValueDeletion, parse_reg,
                                      read_reg_file, write_reg)
from rmslab.errors import InputError, RegistryFormatError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "registry"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: Files in data/registry that rmslab's writer produced: they must come back byte for byte.
WRITTEN_BY_RMSLAB = sorted(["ws-fresh-client.reg", "contoso-new-cluster-service-location.reg",
                            "contoso-new-cluster-service-location-32bit.reg",
                            "fabrikam-merger-licensing-redirection.reg",
                            "sharepoint-server-mode-settings.reg",
                            "contoso-force-template-download.reg"])
HAND_WRITTEN = sorted(["contoso-client-settings.reg", "contoso-kiosk-trusted-servers.reg",
                       "contoso-migration-cleanup.reg"])


def test_every_data_file_is_classified() -> None:
    assert sorted(p.name for p in DATA.glob("*.reg")) == sorted(WRITTEN_BY_RMSLAB + HAND_WRITTEN)


# covers: D-4
@pytest.mark.parametrize("name", WRITTEN_BY_RMSLAB)
def test_files_the_writer_wrote_round_trip_byte_for_byte(name: str) -> None:
    data = (DATA / name).read_bytes()
    assert data.startswith(b"\xff\xfe" + HEADER_5.encode("utf-16-le"))
    assert write_reg(parse_reg(data)) == data


# covers: D-4
@pytest.mark.parametrize("name", HAND_WRITTEN + ["format-tour-handwritten.reg",
                                                 "ansi-handwritten.reg"])
def test_hand_written_files_round_trip_value_for_value(name: str) -> None:
    path = DATA / name if (DATA / name).exists() else FIXTURES / name
    parsed = read_reg_file(path)
    again = parse_reg(write_reg(parsed))
    assert again == parsed
    assert write_reg(again) == write_reg(parsed)  # and from then on, byte for byte


# covers: D-4
def test_every_value_type_of_the_format_tour() -> None:
    regfile = read_reg_file(FIXTURES / "format-tour-handwritten.reg")
    assert regfile.version == "5.00"
    tour, deletion, sub = regfile.blocks
    assert isinstance(tour, KeyBlock) and tour.path == r"HKEY_CURRENT_USER\Software\rmslab\Format Tour"
    values = {e.name: e for e in tour.entries if isinstance(e, RegValue)}
    expected: dict[str, tuple[int, object]] = {
        "": (RegType.REG_SZ, "default value"),
        'Quote "and" backslash\\': (RegType.REG_SZ, "C:\\Program Files\\Contoso\\"),
        "Empty": (RegType.REG_SZ, ""),
        "Dword": (RegType.REG_DWORD, 42),
        "ShortDword": (RegType.REG_DWORD, 255),
        "Binary": (RegType.REG_BINARY, bytes.fromhex("deadbeef")),
        "BinaryFolded": (RegType.REG_BINARY, bytes(range(26))),
        "Expand": (RegType.REG_EXPAND_SZ, "%ProgramFiles%"),
        "Multi": (RegType.REG_MULTI_SZ, ("a", "b")),
        "EmptyMulti": (RegType.REG_MULTI_SZ, ()),
        "Qword": (RegType.REG_QWORD, 1),
        "None": (RegType.REG_NONE, b""),
        "DwordAsHex": (RegType.REG_DWORD, 42),
        "BigEndian": (RegType.REG_DWORD_BIG_ENDIAN, b"\x00\x00\x00\x2a"),
        "SzAsHex": (RegType.REG_SZ, "hi"),
        "Unterminated": (RegType.REG_EXPAND_SZ, b"A\x00"),  # kept as found
        "Spaced": (RegType.REG_SZ, "value with = and ; inside"),
        "Ünïcödé naam": (RegType.REG_SZ, "waarde — met € en 中文"),
    }
    assert {n: (v.type, v.data) for n, v in values.items()} == expected
    assert deletion == KeyDeletion(r"HKEY_CURRENT_USER\Software\rmslab\Old")
    assert isinstance(sub, KeyBlock)
    assert sub.entries == (ValueDeletion("Deleted"), ValueDeletion(""))


# covers: D-4
def test_regedit4_strings_in_hex_data_are_ansi() -> None:
    regfile = read_reg_file(FIXTURES / "ansi-handwritten.reg")
    assert regfile.version == "4"
    (block,) = regfile.blocks
    assert isinstance(block, KeyBlock)
    assert [(e.name, e.data) for e in block.entries if isinstance(e, RegValue)] == [
        ("Expand", "%ProgramFiles%\\Café"), ("Multi", ("eén", "twee")),
        ("Café", "crème brûlée")]
    written = write_reg(regfile)
    assert written.startswith(b"REGEDIT4\r\n\r\n") and b"\xff\xfe" not in written[:2]
    assert "crème".encode("cp1252") in written


# covers: D-4
def test_the_writer_lays_out_a_file_as_the_registry_editor_does() -> None:
    regfile = RegFile("5.00", (
        KeyBlock(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC", (
            RegValue.dword("Trace", 1),
            RegValue("Blob", RegType.REG_BINARY, bytes(range(60))))),
        KeyDeletion(r"HKEY_CURRENT_USER\Software\Old")))
    text = write_reg(regfile)[2:].decode("utf-16-le")
    lines = text.split("\r\n")
    assert lines[:4] == [HEADER_5, "", r"[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\MSIPC]",
                         '"Trace"=dword:00000001']
    blob = lines[4:7]
    assert blob[0].startswith('"Blob"=hex:00,01,') and blob[0].endswith(",\\")
    assert 78 <= len(blob[0]) <= 80 and all(len(line) <= 80 for line in blob)
    assert blob[1].startswith("  ") and blob[2].startswith("  ") and not blob[2].endswith("\\")
    assert lines[7:] == ["", r"[-HKEY_CURRENT_USER\Software\Old]", "", ""]
    assert "\n" not in text.replace("\r\n", "")


# covers: D-4
def test_a_string_with_a_line_break_is_written_as_hex1_and_read_back() -> None:
    regfile = RegFile("5.00", (KeyBlock(r"HKEY_CURRENT_USER\X", (RegValue.sz("note", "a\r\nb"),)),))
    data = write_reg(regfile)
    assert '"note"=hex(1):61,00,0d,00,0a,00,62,00,00,00'.encode("utf-16-le") in data
    assert parse_reg(data) == regfile


# covers: D-4
def test_regedit4_refuses_what_ansi_cannot_hold() -> None:
    regfile = RegFile("4", (KeyBlock(r"HKEY_CURRENT_USER\X", (RegValue.sz("n", "中文"),)),))
    with pytest.raises(RegistryFormatError, match="REGEDIT4"):
        write_reg(regfile)


def test_names_a_reg_file_cannot_carry_are_refused_when_writing() -> None:
    with pytest.raises(RegistryFormatError, match="line break"):
        write_reg(RegFile("5.00", (KeyBlock(r"HKEY_CURRENT_USER\X", (RegValue.sz("a\nb", ""),)),)))
    with pytest.raises(RegistryFormatError, match="abbreviated"):
        write_reg(RegFile("5.00", (KeyBlock(r"HKCU\X"),)))


def test_values_hold_data_of_their_type() -> None:
    with pytest.raises(RegistryFormatError, match="REG_DWORD holds"):
        RegValue.dword("x", 2**32)
    with pytest.raises(RegistryFormatError, match="cannot hold"):
        RegValue("x", RegType.REG_DWORD, "1")
    assert RegValue("x", 3, b"").type is RegType.REG_BINARY


BROKEN = [
    (b"REGEDIT5\r\n", 1, "first line must be"),
    (b"", 1, "first line must be"),
    (b"REGEDIT4\r\n\r\n\"a\"=\"b\"\r\n", 3, "before any [key]"),
    (b"REGEDIT4\r\n\r\n[HKLM\\Software\\X]\r\n", 3, "abbreviated"),
    (b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINES\\X]\r\n", 3, "not a registry root key"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X\r\n", 3, "must end with ']'"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X\\\\Y]\r\n", 3, "empty key name"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=hex:01,0g\r\n", 4, "'0g' is not a hex byte"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=hex:01,,02\r\n", 4, "not a hex byte"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=hex:01,\\\r\n  zz\r\n", 4, "'zz'"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=hex:01,\\", 4, "ends inside"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=hex:01,\\\r\n", 4, "an empty item"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\r\n\"a\"=dword:123456789\r\n", 5, "not a dword"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=\"b\\n\"\r\n", 4, "unknown escape"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=\"open\r\n", 4, "not closed"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"\"b\"\r\n", 4, "expected '='"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=\"b\" trailing\r\n", 4, "after the closing"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n\"a\"=word:1\r\n", 4, "cannot read the data"),
    (b"REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\X]\r\nstray text\r\n", 4, "cannot read 'stray text'"),
    (b"REGEDIT4\r\n\r\n[-HKEY_CURRENT_USER\\X]\r\n@=\"v\"\r\n", 4, "before any [key]"),
    (b"REGEDIT4\r\n\r\n; caf\x81\r\n", 3, "not valid Windows-1252"),
    (b"\xff\xfe" + "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\X]\r\n"
     "\"a\"=hex(7):zz\r\n".encode("utf-16-le"), 4, "'zz' is not a hex byte"),
    (b"\xff\xfeW\x00i\x00\x00\xd8", 1, "not valid UTF-16LE"),
]


# covers: D-4
@pytest.mark.parametrize("data, line, fragment", BROKEN)
def test_malformed_files_are_refused_naming_the_line(data: bytes, line: int,
                                                    fragment: str) -> None:
    with pytest.raises(RegistryFormatError) as caught:
        parse_reg(data, source="broken.reg")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"broken.reg, line {line}: ")
    assert fragment in str(caught.value)
    assert isinstance(caught.value, InputError)  # the CLI's exit status 2


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryFormatError, match="cannot be read"):
        read_reg_file(tmp_path / "absent.reg")


# --- property: any registry content survives writing and reading --------------------------

_names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                 max_size=12)
_key_names = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
                     min_size=1, max_size=10).filter(lambda s: s.strip() == s and s[:1] != "-")
_strings = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_values = st.one_of(
    st.builds(RegValue, _names, st.just(RegType.REG_SZ), _strings),
    st.builds(RegValue, _names, st.just(RegType.REG_EXPAND_SZ), _strings),
    st.builds(RegValue, _names, st.just(RegType.REG_MULTI_SZ),
              st.lists(_strings.map(lambda s: s.replace("\0", "")), max_size=4).map(tuple)),
    st.builds(RegValue, _names, st.just(RegType.REG_DWORD), st.integers(0, 2**32 - 1)),
    st.builds(RegValue, _names, st.just(RegType.REG_QWORD), st.integers(0, 2**64 - 1)),
    st.builds(RegValue, _names, st.sampled_from([0, 3, 5, 6, 8, 9, 10, 0x20, 0xFFFF]),
              st.binary(max_size=120)),
    st.builds(ValueDeletion, _names),
)
_paths = st.tuples(st.sampled_from(["HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_USERS"]),
                   st.lists(_key_names, max_size=3)).map(lambda t: "\\".join([t[0], *t[1]]))
_blocks = st.one_of(st.builds(KeyBlock, _paths, st.lists(_values, max_size=5).map(tuple)),
                    st.builds(KeyDeletion, _paths))
_files = st.builds(RegFile, st.just("5.00"), st.lists(_blocks, max_size=5).map(tuple))


def _ansi(regfile: RegFile) -> bool:
    try:
        write_reg(RegFile("4", regfile.blocks))
    except RegistryFormatError:
        return False
    return True


# covers: D-4
@settings(max_examples=150, deadline=None)
@given(_files)
def test_any_file_round_trips_in_version_5(regfile: RegFile) -> None:
    data = write_reg(regfile)
    assert parse_reg(data) == regfile
    assert write_reg(parse_reg(data)) == data


# covers: D-4
@settings(max_examples=100, deadline=None)
@given(_files.filter(_ansi))
def test_any_ansi_file_round_trips_in_regedit4(regfile: RegFile) -> None:
    ansi = RegFile("4", regfile.blocks)
    data = write_reg(ansi)
    assert data.startswith(HEADER_4.encode() + b"\r\n")
    assert parse_reg(data) == ansi
    assert write_reg(parse_reg(data)) == data
