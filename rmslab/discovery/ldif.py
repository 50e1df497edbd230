"""LDIF (RFC 2849): the text form of directory entries and changes, as ``ldifde`` exports
and imports them (SPEC D-7, D-8).

Reading follows the RFC: an optional ``version: 1``; records separated by blank lines;
lines folded by starting the next line with one space; ``#`` comment lines; values plain
(``attr: value``), base64 (``attr:: …``) or by URL (``attr:< …`` — refused: rmslab never
opens files an input points to). A file holds either content records (entries) or change
records (``changetype: add | delete | modify | modrdn | moddn``), not both. Attribute
descriptions may carry options (``cn;lang-nl``). ``ldifde`` writes change records
(``changetype: add``) separated by blank lines, with a blank line first, CR LF line ends,
base64 for binary values such as ``objectGUID``; it may write UTF-16LE with a byte-order
mark (``-u``).

Every error names the line it is on. Reading is linear in the size of the input,
however long a folded line is.

Why not the maintained ``ldif`` package (PyPI, RFC 2849; version 4.3.0 was weighed): it
does not serve. Its parser reads content records only — a ``changetype: modify`` record
stops it at the ``-`` line with "subsection not found", and ``changetype`` is kept as an
ordinary attribute — while ldifde exports are change records; its errors are plain
``ValueError`` messages without a line (its line counter runs a record ahead); it takes
what RFC 2849 refuses (invalid base64 decodes to nothing, a plain value may begin with
``:`` or ``<``, a ``version`` other than 1 passes, entries and change records mix) and
turns a value given by URL into an empty value instead of refusing it; and it unfolds
lines by adding each to the line so far, which is quadratic (7 MB of one folded value:
26 s; 14 MB: 247 s) — the very fault this module had.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Union, cast

from rmslab.errors import LdifFormatError

__all__ = [
    "LdifValue", "Modification", "LdifRecord", "parse_ldif", "read_ldif_file", "write_ldif",
    "MAX_LDIF_BYTES",
]

#: A value: text when it is UTF-8, else the bytes (``objectGUID``, ``objectSid``, …).
LdifValue = Union[str, bytes]
ChangeType = Literal["add", "delete", "modify", "modrdn", "moddn"]
Operation = Literal["add", "delete", "replace"]
MAX_LDIF_BYTES = 64 * 1024 * 1024

_ATTRIBUTE = re.compile(r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*",
                        re.ASCII)
_LINE = re.compile(r"([^:]*)(::|:<|:)(.*)", re.DOTALL)
_CHANGE_TYPES = ("add", "delete", "modify", "modrdn", "moddn")


@dataclass(frozen=True)
class Modification:
    """One part of a ``changetype: modify`` record: ``add``, ``delete`` or ``replace``
    of an attribute, with the values given (none: delete every value / the attribute)."""

    operation: Operation
    attribute: str
    values: tuple[LdifValue, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class LdifRecord:
    """One record. ``changetype`` is ``None`` for a content record (an entry as it is).

    ``attributes`` (content and ``add`` records) keeps every ``name: value`` line in
    order; ``modifications`` belongs to ``modify``; ``newrdn``, ``deleteoldrdn`` and
    ``newsuperior`` to ``modrdn``/``moddn``. ``line`` is the line of ``dn:``.
    """

    dn: str
    changetype: ChangeType | None = None
    attributes: tuple[tuple[str, LdifValue], ...] = ()
    modifications: tuple[Modification, ...] = ()
    newrdn: str | None = None
    deleteoldrdn: bool = False
    newsuperior: str | None = None
    controls: tuple[str, ...] = ()
    line: int = 0

    def values(self, attribute: str) -> tuple[LdifValue, ...]:
        """Every value of ``attribute`` (case-insensitive name, options ignored)."""
        wanted = attribute.lower()
        return tuple(v for n, v in self.attributes if n.split(";")[0].lower() == wanted)


@dataclass
class _Logical:
    number: int
    text: str


# --- reading ----------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        body, codec = data[2:], "utf-16-le"
    elif data.startswith(b"\xfe\xff"):
        body, codec = data[2:], "utf-16-be"
    elif data.startswith(b"\xef\xbb\xbf"):
        body, codec = data[3:], "utf-8"
    else:
        body, codec = data, "utf-8"
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        unit = 2 if codec.startswith("utf-16") else 1
        line = body[:exc.start - exc.start % unit].count("\n".encode(codec)) + 1
        raise LdifFormatError(f"the text is not valid {codec.upper()} (LDIF is UTF-8; values "
                              "that are not text are written base64-encoded, attr:: …)",
                              line) from None


def _unfold(text: str) -> list[_Logical]:
    """Logical lines: folded lines joined, comments dropped; blank lines kept (they
    separate records) as empty text. The pieces of a folded line are joined once
    (adding each to the line so far made a value folded over 64 MB take hours)."""
    out: list[_Logical] = []
    pieces: list[str] = []  # the folded line being gathered: out[-1]'s text in pieces
    in_comment = False
    for index, raw in enumerate(re.split(r"\r?\n", text)):
        number = index + 1
        line = raw.rstrip("\r")
        if line.startswith(" "):
            if in_comment:
                continue
            if not out or not out[-1].text:
                raise LdifFormatError("a continuation line (starting with a space) follows "
                                      "no line it could continue", number)
            pieces.append(line[1:])
            continue
        if len(pieces) > 1:
            out[-1].text = "".join(pieces)
        in_comment = line.startswith("#")
        if in_comment:
            pieces = []
            continue
        out.append(_Logical(number, line))
        pieces = [line]
    if len(pieces) > 1:
        out[-1].text = "".join(pieces)
    return out


def _split_line(line: _Logical) -> tuple[str, str, str]:
    """``(attribute description, separator, value text)`` of ``attr: value``."""
    match = _LINE.fullmatch(line.text)
    if match is None:
        shown = line.text if len(line.text) <= 40 else line.text[:39] + "…"
        raise LdifFormatError(f"expected 'attribute: value', found {shown!r}", line.number)
    name, separator, rest = match.groups()
    if not _ATTRIBUTE.fullmatch(name):
        raise LdifFormatError(f"{name!r} is not an attribute description", line.number)
    return name, separator, rest


def _value(line: _Logical) -> tuple[str, LdifValue]:
    name, separator, rest = _split_line(line)
    if separator == ":<":
        raise LdifFormatError(f"the value of {name} is given by URL ({rest.strip()}); rmslab "
                              "does not open files or URLs an input points to", line.number)
    if separator == "::":
        try:
            raw = base64.b64decode(rest.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise LdifFormatError(f"the base64 value of {name} is not valid base64",
                                  line.number) from None
        try:
            return name, raw.decode("utf-8")
        except UnicodeDecodeError:
            return name, raw
    value = rest.lstrip(" ")
    if value.startswith((":", "<")):
        raise LdifFormatError(f"a plain value of {name} may not begin with "
                              f"{value[0]!r}; write it base64-encoded ({name}:: …)",
                              line.number)
    if any(c in value for c in "\0\r\n"):
        raise LdifFormatError(f"a plain value of {name} holds NUL, CR or LF; write it "
                              f"base64-encoded ({name}:: …)", line.number)
    return name, value


def _text(line: _Logical, expected: str) -> str:
    name, value = _value(line)
    if name.lower() != expected:
        raise LdifFormatError(f"expected {expected}:, found {name}:", line.number)
    if isinstance(value, bytes):
        raise LdifFormatError(f"the value of {expected} is not UTF-8 text", line.number)
    return value


def _record(lines: list[_Logical]) -> LdifRecord:
    first = lines[0]
    if _split_line(first)[0].lower() != "dn":
        raise LdifFormatError("a record must begin with dn:", first.number)
    dn = _text(first, "dn")
    controls: list[str] = []
    start = 1
    while start < len(lines) and _split_line(lines[start])[0].lower() == "control":
        controls.append(_text(lines[start], "control"))
        start += 1
    rest = lines[start:]
    if not rest or _split_line(rest[0])[0].lower() != "changetype":
        if controls:
            raise LdifFormatError("control: belongs to a change record; changetype: is "
                                  "missing", lines[1].number)
        attributes = tuple(_value(line) for line in rest)
        if not attributes:
            raise LdifFormatError(f"the entry {dn!r} has no attributes", first.number)
        for line, (name, _) in zip(rest, attributes):
            if name.lower() in ("dn", "changetype"):
                raise LdifFormatError(f"{name}: inside a record", line.number)
        return LdifRecord(dn, None, attributes, line=first.number, controls=tuple(controls))
    change = _text(rest[0], "changetype").strip().lower()
    if change not in _CHANGE_TYPES:
        raise LdifFormatError(f"unknown changetype {change!r} (add, delete, modify, modrdn "
                              "or moddn)", rest[0].number)
    body = rest[1:]
    if change == "add":
        attributes = tuple(_value(line) for line in body)
        if not attributes:
            raise LdifFormatError(f"changetype: add for {dn!r} has no attributes",
                                  rest[0].number)
        return LdifRecord(dn, "add", attributes, line=first.number, controls=tuple(controls))
    if change == "delete":
        if body:
            raise LdifFormatError("changetype: delete takes no further lines", body[0].number)
        return LdifRecord(dn, "delete", line=first.number, controls=tuple(controls))
    if change == "modify":
        return LdifRecord(dn, "modify", modifications=_modifications(body), line=first.number,
                          controls=tuple(controls))
    return _rename(dn, change, body, first.number, tuple(controls))  # modrdn / moddn


def _modifications(lines: list[_Logical]) -> tuple[Modification, ...]:
    out: list[Modification] = []
    i = 0
    while i < len(lines):
        head = lines[i]
        operation, attribute = _value(head)
        if operation.lower() not in ("add", "delete", "replace"):
            raise LdifFormatError(f"expected add:, delete: or replace: in a modify record, "
                                  f"found {operation}:", head.number)
        if not isinstance(attribute, str) or not _ATTRIBUTE.fullmatch(attribute.strip()):
            raise LdifFormatError(f"{operation}: must name an attribute", head.number)
        attribute = attribute.strip()
        values: list[LdifValue] = []
        i += 1
        while i < len(lines) and lines[i].text != "-":
            name, value = _value(lines[i])
            if name.lower() != attribute.lower():
                raise LdifFormatError(f"{name}: inside the {operation}: {attribute} part (end "
                                      "the part with a line holding '-')", lines[i].number)
            values.append(value)
            i += 1
        if i >= len(lines):
            raise LdifFormatError(f"the {operation}: {attribute} part is not ended by a line "
                                  "holding '-'", head.number)
        if operation.lower() == "add" and not values:
            raise LdifFormatError(f"add: {attribute} gives no values", head.number)
        out.append(Modification(cast(Operation, operation.lower()), attribute, tuple(values),
                                head.number))
        i += 1  # the "-"
    return tuple(out)


def _rename(dn: str, change: str, body: list[_Logical], number: int,
            controls: tuple[str, ...]) -> LdifRecord:
    if len(body) < 2:
        raise LdifFormatError(f"changetype: {change} needs newrdn: and deleteoldrdn:", number)
    newrdn = _text(body[0], "newrdn")
    flag = _text(body[1], "deleteoldrdn").strip()
    if flag not in ("0", "1"):
        raise LdifFormatError(f"deleteoldrdn must be 0 or 1, not {flag!r}", body[1].number)
    newsuperior = None
    if len(body) > 2:
        newsuperior = _text(body[2], "newsuperior")
    if len(body) > 3:
        raise LdifFormatError(f"unexpected line in a {change} record", body[3].number)
    return LdifRecord(dn, cast(ChangeType, change), newrdn=newrdn, deleteoldrdn=flag == "1",
                      newsuperior=newsuperior, line=number, controls=controls)


def parse_ldif(data: bytes | str, *, source: str | None = None) -> tuple[LdifRecord, ...]:
    """Read LDIF (bytes as found on disk, or text). Errors name ``source`` and the line."""
    try:
        return _parse(data)
    except LdifFormatError as exc:
        if source is None or exc.source is not None:
            raise
        raise exc.placed(source) from None


def _parse(data: bytes | str) -> tuple[LdifRecord, ...]:
    if isinstance(data, bytes):
        if len(data) > MAX_LDIF_BYTES:
            raise LdifFormatError(f"larger than {MAX_LDIF_BYTES} bytes; rmslab does not read "
                                  "LDIF that large")
        text = _decode(data)
    else:
        text = data.lstrip("\ufeff")
    groups: list[list[_Logical]] = [[]]
    for line in _unfold(text):
        if line.text == "":
            if groups[-1]:
                groups.append([])
        else:
            groups[-1].append(line)
    groups = [g for g in groups if g]
    if groups and _split_line(groups[0][0])[0].lower() == "version":
        version = _text(groups[0][0], "version").strip()
        if version != "1":
            raise LdifFormatError(f"LDIF version {version!r}; RFC 2849 defines version 1",
                                  groups[0][0].number)
        groups[0] = groups[0][1:]
        groups = [g for g in groups if g]
    records = tuple(_record(g) for g in groups)
    kinds = {r.changetype is None for r in records}
    if len(kinds) > 1:
        odd = next(r for r in records if (r.changetype is None) != (records[0].changetype is None))
        raise LdifFormatError("a file holds either entries or change records (changetype:), "
                              "not both", odd.line)
    return records


def read_ldif_file(path: str | os.PathLike[str]) -> tuple[LdifRecord, ...]:
    """Read an LDIF file (``ldifde -f``) from disk; errors name the file and the line."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_LDIF_BYTES:
            raise LdifFormatError(f"larger than {MAX_LDIF_BYTES} bytes", source=p.name)
        data = p.read_bytes()
    except OSError as exc:
        raise LdifFormatError(f"cannot be read ({exc.strerror or exc})", source=p.name) from None
    return parse_ldif(data, source=p.name)


# --- writing ----------------------------------------------------------------------------


def _safe(value: str) -> bool:
    """Whether RFC 2849 lets ``value`` stand as a plain (not base64) value."""
    if not value:
        return True
    if value[0] in " :<" or value[-1] == " ":
        return False
    return all(0x01 <= ord(c) <= 0x7F and c not in "\r\n" for c in value)


def _attr_line(name: str, value: LdifValue) -> str:
    if isinstance(value, str) and _safe(value):
        return f"{name}: {value}" if value else f"{name}:"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return f"{name}:: {base64.b64encode(raw).decode('ascii')}"


def write_ldif(records: Iterable[LdifRecord], *, fold: int = 0, newline: str = "\r\n") -> str:
    """LDIF text for ``records``, laid out as ``ldifde`` writes it: a blank line before
    each record, CR LF line ends (``newline="\\n"`` to show it). ``fold`` > 0 folds
    lines longer than that many characters (RFC 2849); ``ldifde`` does not fold, the
    default."""
    out: list[str] = []
    for record in records:
        lines = [_attr_line("dn", record.dn)]
        lines += [_attr_line("control", control) for control in record.controls]
        if record.changetype is not None:
            lines.append(_attr_line("changetype", record.changetype))
        lines += [_attr_line(name, value) for name, value in record.attributes]
        for mod in record.modifications:
            lines.append(_attr_line(mod.operation, mod.attribute))
            lines += [_attr_line(mod.attribute, value) for value in mod.values]
            lines.append("-")
        if record.newrdn is not None:
            lines.append(_attr_line("newrdn", record.newrdn))
            lines.append(_attr_line("deleteoldrdn", "1" if record.deleteoldrdn else "0"))
            if record.newsuperior is not None:
                lines.append(_attr_line("newsuperior", record.newsuperior))
        out.append("")
        out.extend(_fold(line, fold, newline) for line in lines)
    out.append("")
    return newline.join(out)


def _fold(line: str, width: int, newline: str) -> str:
    if width <= 1 or len(line) <= width:
        return line
    pieces = [line[:width]]
    rest = line[width:]
    while rest:
        pieces.append(" " + rest[:width - 1])
        rest = rest[width - 1:]
    return newline.join(pieces)
