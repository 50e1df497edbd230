"""``.reg`` files as the Windows registry editor reads and writes them (SPEC D-4).

Two formats:

* ``Windows Registry Editor Version 5.00`` — UTF-16LE text with a byte-order mark; the
  strings inside ``hex(1)``/``hex(2)``/``hex(7)`` data are UTF-16LE.
* ``REGEDIT4`` — ANSI (Windows-1252) text; the strings inside hex data are ANSI.

A file is a sequence of blocks: ``[KEY]`` opens (creating if needed) a key and sets or
deletes values under it; ``[-KEY]`` deletes a key and everything below it. Value lines:
``"name"="text"`` (REG_SZ; ``\\\\`` and ``\\"`` are the only escapes), ``@=…`` for the
default value, ``dword:`` (REG_DWORD, eight hex digits), ``hex:`` (REG_BINARY),
``hex(N):`` (any other type: 2 = REG_EXPAND_SZ, 7 = REG_MULTI_SZ, b = REG_QWORD, …),
and ``"name"=-`` to delete a value. Long hex data continues on the next line after a
trailing backslash. Lines end in CR LF; ``;`` starts a comment line.

:func:`write_reg` lays a file out as the registry editor does (a blank line after the
header and after each block; hex data folded so that no line passes 80 columns, with
continuation lines indented by two spaces), so ``write_reg(parse_reg(write_reg(f)))`` is
byte-for-byte ``write_reg(f)``. Any file, hand-written or not, reads back to the same
values (:class:`RegFile` equality).
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Iterator, Literal, Union

from rmslab.errors import RegistryFormatError

__all__ = [
    "RegType", "RegValue", "ValueDeletion", "KeyBlock", "KeyDeletion", "RegFile",
    "RegData", "Version", "ROOTS", "ROOT_ALIASES", "HEADER_5", "HEADER_4",
    "parse_reg", "read_reg_file", "write_reg", "reg_text", "normalize_key_path", "MAX_REG_BYTES",
]

HEADER_5 = "Windows Registry Editor Version 5.00"
HEADER_4 = "REGEDIT4"
Version = Literal["5.00", "4"]

#: The root keys a ``.reg`` file may name (in full: the registry editor refuses
#: abbreviations such as HKLM inside a file).
ROOTS = ("HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_CLASSES_ROOT", "HKEY_USERS",
         "HKEY_CURRENT_CONFIG")
#: Abbreviations accepted by the Python API (never inside a file).
ROOT_ALIASES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER",
                "HKCR": "HKEY_CLASSES_ROOT", "HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG"}

#: The largest .reg file rmslab reads (a client's MSIPC settings take a few kilobytes).
MAX_REG_BYTES = 16 * 1024 * 1024
_HEX_LINE = 77  # a hex line is folded once it reaches this many characters (80 with "\")
_MAX_KEY_NAME = 255


class RegType(IntEnum):
    """Registry value types (winnt.h numbers; ``hex(N)`` in a .reg file uses them)."""

    REG_NONE = 0
    REG_SZ = 1
    REG_EXPAND_SZ = 2
    REG_BINARY = 3
    REG_DWORD = 4
    REG_DWORD_BIG_ENDIAN = 5
    REG_LINK = 6
    REG_MULTI_SZ = 7
    REG_RESOURCE_LIST = 8
    REG_FULL_RESOURCE_DESCRIPTOR = 9
    REG_RESOURCE_REQUIREMENTS_LIST = 10
    REG_QWORD = 11


#: What a value holds: ``str`` (REG_SZ, REG_EXPAND_SZ), ``int`` (REG_DWORD, REG_QWORD),
#: ``tuple[str, ...]`` (REG_MULTI_SZ), ``bytes`` (everything else — and string types whose
#: raw data is not a properly terminated string, kept exactly as found).
RegData = Union[str, int, bytes, tuple[str, ...]]

_STRING_TYPES = (RegType.REG_SZ, RegType.REG_EXPAND_SZ)


def _type_name(kind: int) -> str:
    try:
        return RegType(kind).name
    except ValueError:
        return f"type {kind}"


@dataclass(frozen=True)
class RegValue:
    """One value: its name (``""`` is the default value, ``@`` in a file), its type and
    its data."""

    name: str
    type: int
    data: RegData

    def __post_init__(self) -> None:
        kind, data, what = self.type, self.data, f"value {self.display_name!r}"
        if not 0 <= kind <= 0xFFFFFFFF:
            raise RegistryFormatError(f"{what}: type {kind} is not a registry type")
        if kind in RegType._value2member_map_:
            object.__setattr__(self, "type", RegType(kind))
        if isinstance(data, bytes):
            return
        if kind in _STRING_TYPES and isinstance(data, str):
            return
        if kind == RegType.REG_MULTI_SZ and isinstance(data, tuple) and all(
                isinstance(s, str) and "\0" not in s for s in data):
            return
        if kind == RegType.REG_DWORD and isinstance(data, int) and not isinstance(data, bool):
            if 0 <= data <= 0xFFFFFFFF:
                return
            raise RegistryFormatError(f"{what}: a REG_DWORD holds 0…4294967295, not {data}")
        if kind == RegType.REG_QWORD and isinstance(data, int) and not isinstance(data, bool):
            if 0 <= data <= 0xFFFFFFFFFFFFFFFF:
                return
            raise RegistryFormatError(f"{what}: a REG_QWORD holds 0…2**64-1, not {data}")
        raise RegistryFormatError(f"{what}: {_type_name(kind)} cannot hold "
                                  f"{type(data).__name__} data")

    @property
    def display_name(self) -> str:
        return self.name or "(Default)"

    @classmethod
    def sz(cls, name: str, text: str) -> "RegValue":
        return cls(name, RegType.REG_SZ, text)

    @classmethod
    def dword(cls, name: str, number: int) -> "RegValue":
        return cls(name, RegType.REG_DWORD, number)

    @property
    def text(self) -> str | None:
        """The data of a REG_SZ or REG_EXPAND_SZ value, else ``None``."""
        return self.data if self.type in _STRING_TYPES and isinstance(self.data, str) else None

    @property
    def number(self) -> int | None:
        """The data of a REG_DWORD or REG_QWORD value, else ``None``."""
        if self.type in (RegType.REG_DWORD, RegType.REG_QWORD) and isinstance(self.data, int):
            return self.data
        return None

    def describe(self) -> str:
        """``name (REG_DWORD) = 1`` — how the registry editor's list shows a value."""
        data = self.data
        shown = (" ".join(data) if isinstance(data, tuple) else
                 data.hex(" ") if isinstance(data, bytes) else
                 f"0x{data:08x} ({data})" if isinstance(data, int) else data)
        return f"{self.display_name} ({_type_name(self.type)}) = {shown}"


@dataclass(frozen=True)
class ValueDeletion:
    """``"name"=-``: delete the value if it exists."""

    name: str


@dataclass(frozen=True)
class KeyBlock:
    """``[KEY]`` and the value lines under it."""

    path: str
    entries: tuple[RegValue | ValueDeletion, ...] = ()


@dataclass(frozen=True)
class KeyDeletion:
    """``[-KEY]``: delete the key and all its subkeys and values."""

    path: str


@dataclass(frozen=True)
class RegFile:
    """A parsed ``.reg`` file: its format version and its blocks, in order."""

    version: Version = "5.00"
    blocks: tuple[KeyBlock | KeyDeletion, ...] = ()

    def values(self) -> Iterator[tuple[str, RegValue]]:
        """Every value set by the file, with the path of its key."""
        for block in self.blocks:
            if isinstance(block, KeyBlock):
                for entry in block.entries:
                    if isinstance(entry, RegValue):
                        yield block.path, entry


# --- key paths --------------------------------------------------------------------------


def normalize_key_path(path: str, *, allow_aliases: bool = True, line: int | None = None) -> str:
    """``HKLM\\Software\\X\\`` → ``HKEY_LOCAL_MACHINE\\Software\\X``: the root in full and
    upper case, no trailing backslash; every other name kept as written."""
    parts = path.strip().rstrip("\\").split("\\")
    root = parts[0].upper()
    if root in ROOT_ALIASES:
        if not allow_aliases:
            raise RegistryFormatError(
                f"the root key {parts[0]!r} is abbreviated; a .reg file names it in full "
                f"({ROOT_ALIASES[root]})", line)
        root = ROOT_ALIASES[root]
    if root not in ROOTS:
        raise RegistryFormatError(f"{parts[0]!r} is not a registry root key (one of "
                                  f"{', '.join(ROOTS)})", line)
    for name in parts[1:]:
        if not name:
            raise RegistryFormatError(f"the key path {path!r} has an empty key name", line)
        if len(name) > _MAX_KEY_NAME:
            raise RegistryFormatError(f"the key name {name[:20]!r}… is longer than "
                                      f"{_MAX_KEY_NAME} characters", line)
    return "\\".join([root, *parts[1:]])


# --- reading ----------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        body, codec = data[2:], "utf-16-le"
    elif data.startswith(b"\xef\xbb\xbf"):
        body, codec = data[3:], "utf-8"
    elif data.startswith(b"\xfe\xff"):
        raise RegistryFormatError("UTF-16 big-endian text; the registry editor writes "
                                  "UTF-16LE (with the byte-order mark FF FE)", 1)
    else:
        body, codec = data, "cp1252"
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        unit = 2 if codec == "utf-16-le" else 1
        before = body[:exc.start - exc.start % unit]
        newline = "\n".encode(codec)
        line = before.count(newline) + 1
        what = ("Windows-1252 (ANSI) text: use a Unicode .reg file (Windows Registry "
                "Editor Version 5.00) for characters outside it" if codec == "cp1252"
                else "UTF-16LE text" if codec == "utf-16-le" else "UTF-8 text")
        raise RegistryFormatError(f"byte {exc.start + len(data) - len(body)} is not valid "
                                  f"{what}", line) from None


def _read_quoted(text: str, start: int, line: int) -> tuple[str, int]:
    """The string starting after the quote at ``start - 1``; returns it and the index
    after the closing quote."""
    out: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt not in ('"', "\\"):
                raise RegistryFormatError(
                    f"unknown escape \\{nxt} in a quoted string (only \\\\ and \\\" are "
                    "allowed; write other characters as they are, or as hex(1): data)", line)
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise RegistryFormatError("a quoted string is not closed on its line", line)


_HEX_TYPE = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:", re.ASCII)
_DWORD = re.compile(r"dword:([0-9a-fA-F]{1,8})\s*", re.ASCII)
_BYTE = re.compile(r"[0-9a-fA-F]{1,2}", re.ASCII)


_HEX_BYTES_AS_WRITTEN = re.compile(r"[0-9a-fA-F]{2}(?:,[0-9a-fA-F]{2})*", re.ASCII)


def _parse_hex_bytes(text: str, line: int) -> bytes:
    body = text.strip()
    if not body:
        return b""
    if _HEX_BYTES_AS_WRITTEN.fullmatch(body):  # the registry editor's layout: at C speed
        return bytes.fromhex(body.replace(",", ""))
    out = bytearray()
    for token in body.split(","):
        token = token.strip()
        if not _BYTE.fullmatch(token):
            shown = token if token else "an empty item"
            raise RegistryFormatError(f"{shown!r} is not a hex byte (expected items like "
                                      "0a,ff separated by commas)", line)
        out.append(int(token, 16))
    return bytes(out)


def _string_codec(version: Version) -> tuple[str, int]:
    return ("utf-16-le", 2) if version == "5.00" else ("cp1252", 1)


def _decode_string_data(kind: int, raw: bytes, version: Version) -> RegData:
    """REG_SZ / REG_EXPAND_SZ / REG_MULTI_SZ hex data as text when it is a properly
    terminated string in the file's encoding; otherwise the raw bytes, kept exactly."""
    codec, unit = _string_codec(version)
    if len(raw) % unit:
        return raw
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        return raw
    if kind == RegType.REG_MULTI_SZ:
        if not text.endswith("\0"):
            return raw
        body = text[:-1]
        if not body:
            return ()
        if not body.endswith("\0"):
            return raw
        return tuple(body[:-1].split("\0"))
    if not text.endswith("\0"):
        return raw
    return text[:-1]


def _typed_value(name: str, kind: int, raw: bytes, version: Version) -> RegValue:
    if kind in (RegType.REG_SZ, RegType.REG_EXPAND_SZ, RegType.REG_MULTI_SZ):
        return RegValue(name, kind, _decode_string_data(kind, raw, version))
    if kind == RegType.REG_DWORD and len(raw) == 4:
        return RegValue(name, kind, struct.unpack("<I", raw)[0])
    if kind == RegType.REG_QWORD and len(raw) == 8:
        return RegValue(name, kind, struct.unpack("<Q", raw)[0])
    return RegValue(name, kind, raw)


@dataclass
class _Line:
    number: int
    text: str


def _logical_lines(text: str) -> Iterator[_Line]:
    """Physical lines, with hex continuations (a trailing backslash) joined; each keeps
    the number of its first physical line."""
    physical = re.split(r"\r?\n", text)
    i = 0
    while i < len(physical):
        number, current = i + 1, physical[i].rstrip("\r")
        if (current.lstrip().startswith(("\"", "@")) and current.rstrip().endswith("\\")
                and _continues(current)):
            current, i = _continued_value(physical, i)
        else:
            i += 1
        yield _Line(number, current)


def _continued_value(physical: list[str], first: int) -> tuple[str, int]:
    """The hex value line ``physical[first]`` joined with its continuation lines, and the
    index of the line after them. Each time the gathered text, its trailing whitespace
    aside, ends in a backslash, the whitespace and the backslash are dropped and the next
    line is added without its leading whitespace.

    Linear in the length of the lines: the pieces are kept apart, each with where it ends
    now, and joined once (adding each line to the text gathered so far, and asking again
    whether that text is hex data, made a value folded over 16 MB take minutes)."""
    texts: list[str] = []
    ends: list[int] = []
    line, i = physical[first].rstrip("\r"), first
    while True:
        texts.append(line)
        ends.append(len(line))
        i += 1
        while True:  # drop trailing whitespace, through pieces that hold nothing else
            text, end = texts[-1], ends[-1]
            while end and text[end - 1].isspace():
                end -= 1
            ends[-1] = end
            if end or len(texts) == 1:
                break
            texts.pop()
            ends.pop()
        if not (ends[-1] and texts[-1][ends[-1] - 1] == "\\"):
            return "".join(t[:e] for t, e in zip(texts, ends)), i
        ends[-1] -= 1
        if i >= len(physical):
            raise RegistryFormatError("the file ends inside a continued hex value", first + 1)
        line = physical[i].rstrip("\r").lstrip()


def _continues(line: str) -> bool:
    """Whether a value line ending in a backslash is hex data folded onto the next line
    (a backslash at the end of a quoted string is part of a malformed string instead)."""
    s = line.strip()
    try:
        end = 1 if s.startswith("@") else _read_quoted(s, 1, 0)[1]
    except RegistryFormatError:
        return False
    rest = s[end:].lstrip()
    return rest.startswith("=") and rest[1:].lstrip().lower().startswith("hex")


def _parse_value(line: _Line, version: Version) -> RegValue | ValueDeletion:
    text, number = line.text.strip(), line.number
    if text.startswith("@"):
        name, pos = "", 1
    else:
        name, pos = _read_quoted(text, 1, number)
    rest = text[pos:].lstrip()
    if not rest.startswith("="):
        raise RegistryFormatError(f"expected '=' after the value name {name or '@'!r}",
                                  number)
    data = rest[1:].strip()
    if data == "-":
        return ValueDeletion(name)
    if data.startswith('"'):
        value, end = _read_quoted(data, 1, number)
        trailing = data[end:].strip()
        if trailing:
            raise RegistryFormatError(f"unexpected text {trailing!r} after the closing quote",
                                      number)
        return RegValue(name, RegType.REG_SZ, value)
    lowered = data.lower()
    if lowered.startswith("dword:"):
        match = _DWORD.fullmatch(data)
        if not match:
            raise RegistryFormatError(f"{data!r} is not a dword (dword: and up to eight hex "
                                      "digits, as in dword:0000000a)", number)
        return RegValue(name, RegType.REG_DWORD, int(match.group(1), 16))
    match = _HEX_TYPE.match(lowered)
    if match:
        kind = int(match.group(1), 16) if match.group(1) else int(RegType.REG_BINARY)
        raw = _parse_hex_bytes(data[match.end():], number)
        return _typed_value(name, kind, raw, version)
    shown = data if len(data) <= 40 else data[:39] + "…"
    raise RegistryFormatError(f"cannot read the data of value {name or '@'!r}: {shown!r} "
                              "(expected \"text\", dword:, hex:, hex(N): or -)", number)


def parse_reg(data: bytes | str, *, source: str | None = None) -> RegFile:
    """Read a ``.reg`` file (bytes as found on disk, or text already decoded). Errors
    name ``source`` (a file name) and the line."""
    try:
        return _parse(data)
    except RegistryFormatError as exc:
        if source is None or exc.source is not None:
            raise
        raise exc.placed(source) from None


def _parse(data: bytes | str) -> RegFile:
    if isinstance(data, bytes):
        if len(data) > MAX_REG_BYTES:
            raise RegistryFormatError(f"larger than {MAX_REG_BYTES} bytes; rmslab does not "
                                      "read .reg files that large")
        text = _decode(data)
    else:
        text = data.lstrip("\ufeff")
    lines = _logical_lines(text)
    first = next(lines, _Line(1, ""))
    header = first.text.strip()
    version: Version
    if header == HEADER_5:
        version = "5.00"
    elif header == HEADER_4:
        version = "4"
    else:
        shown = header if len(header) <= 50 else header[:49] + "…"
        raise RegistryFormatError(f"the first line must be {HEADER_5!r} or {HEADER_4!r}, "
                                  f"not {shown!r}", first.number)
    blocks: list[KeyBlock | KeyDeletion] = []
    current: tuple[str, list[RegValue | ValueDeletion]] | None = None

    def close() -> None:
        if current is not None:
            blocks.append(KeyBlock(current[0], tuple(current[1])))

    for line in lines:
        text_line = line.text.strip()
        if not text_line or text_line.startswith(";"):
            continue
        if text_line.startswith("["):
            if not text_line.endswith("]"):
                raise RegistryFormatError("a key line must end with ']'", line.number)
            inner = text_line[1:-1]
            close()
            if inner.startswith("-"):
                blocks.append(KeyDeletion(normalize_key_path(inner[1:], allow_aliases=False,
                                                             line=line.number)))
                current = None
            else:
                current = (normalize_key_path(inner, allow_aliases=False, line=line.number), [])
            continue
        if text_line.startswith(('"', "@")):
            if current is None:
                raise RegistryFormatError("a value line before any [key] line (or after a "
                                          "[-key] deletion)", line.number)
            current[1].append(_parse_value(line, version))
            continue
        shown = text_line if len(text_line) <= 40 else text_line[:39] + "…"
        raise RegistryFormatError(f"cannot read {shown!r}: expected [key], [-key], "
                                  "\"name\"=…, @=… or a ; comment", line.number)
    close()
    return RegFile(version, tuple(blocks))


def read_reg_file(path: str | os.PathLike[str]) -> RegFile:
    """Read a ``.reg`` file from disk; errors name the file and the line."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_REG_BYTES:
            raise RegistryFormatError(f"larger than {MAX_REG_BYTES} bytes", source=p.name)
        data = p.read_bytes()
    except OSError as exc:
        raise RegistryFormatError(f"cannot be read ({exc.strerror or exc})",
                                  source=p.name) from None
    return parse_reg(data, source=p.name)


# --- writing ----------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cannot_write(what: str, version: Version) -> RegistryFormatError:
    if version == "4":
        return RegistryFormatError(f"{what} holds characters that REGEDIT4 (Windows-1252) "
                                   "cannot write; use version 5.00")
    return RegistryFormatError(f"{what} holds a lone surrogate, which is not Unicode text")


def _encode_text(text: str, version: Version, what: str) -> bytes:
    codec, _ = _string_codec(version)
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        raise _cannot_write(what, version) from None


def _hex_line(prefix: str, kind: int, raw: bytes, newline: str) -> str:
    tag = "hex:" if kind == RegType.REG_BINARY else f"hex({kind:x}):"
    out = [prefix, tag]
    width = len(prefix) + len(tag)
    for index, byte in enumerate(raw):
        out.append(f"{byte:02x}")
        if index == len(raw) - 1:
            break
        out.append(",")
        width += 3
        if width >= _HEX_LINE:
            out.append("\\" + newline + "  ")
            width = 2
    return "".join(out)


def _value_line(value: RegValue | ValueDeletion, version: Version, key: str,
                newline: str) -> str:
    if any(c in value.name for c in "\r\n"):
        raise RegistryFormatError(f"the value name {value.name!r} under [{key}] holds a line "
                                  "break, which a .reg file cannot carry")
    prefix = ("@" if not value.name else _quote(value.name)) + "="
    if isinstance(value, ValueDeletion):
        return prefix + "-"
    what = f"value {value.display_name!r} under [{key}]"
    kind, data = value.type, value.data
    if isinstance(data, bytes):
        return _hex_line(prefix, kind, data, newline)
    if kind == RegType.REG_SZ and isinstance(data, str):
        if not any(c in data for c in "\r\n\0"):
            _encode_text(data, version, what)
            return prefix + _quote(data)
        return _hex_line(prefix, kind, _encode_text(data + "\0", version, what), newline)
    if kind == RegType.REG_EXPAND_SZ and isinstance(data, str):
        return _hex_line(prefix, kind, _encode_text(data + "\0", version, what), newline)
    if kind == RegType.REG_MULTI_SZ and isinstance(data, tuple):
        joined = "".join(s + "\0" for s in data) + "\0"
        return _hex_line(prefix, kind, _encode_text(joined, version, what), newline)
    if kind == RegType.REG_DWORD and isinstance(data, int):
        return f"{prefix}dword:{data:08x}"
    if kind == RegType.REG_QWORD and isinstance(data, int):
        return _hex_line(prefix, kind, struct.pack("<Q", data), newline)
    raise RegistryFormatError(f"{what}: {_type_name(kind)} cannot hold "  # pragma: no cover
                              f"{type(data).__name__} data")


def reg_text(regfile: RegFile, *, newline: str = "\n") -> str:
    """The text of ``regfile`` as the registry editor lays it out (with ``newline`` line
    ends: ``\\n`` to show it, ``\\r\\n`` in a file)."""
    header = HEADER_5 if regfile.version == "5.00" else HEADER_4
    parts = [header, newline, newline]
    for block in regfile.blocks:
        normalize_key_path(block.path, allow_aliases=False)
        if any(c in block.path for c in "\r\n"):
            raise RegistryFormatError(f"the key path {block.path!r} holds a line break, which "
                                      "a .reg file cannot carry")
        if isinstance(block, KeyDeletion):
            parts += ["[-", block.path, "]", newline, newline]
            continue
        parts += ["[", block.path, "]", newline]
        for entry in block.entries:
            parts += [_value_line(entry, regfile.version, block.path, newline), newline]
        parts.append(newline)
    return "".join(parts)


def write_reg(regfile: RegFile) -> bytes:
    """The bytes of ``regfile`` as the registry editor writes them: version 5.00 as
    UTF-16LE with a byte-order mark, REGEDIT4 as Windows-1252; CR LF line ends."""
    bom = b"\xff\xfe" if regfile.version == "5.00" else b""
    return bom + _encode_text(reg_text(regfile, newline="\r\n"), regfile.version,
                              "a key or value name")
