"""A directory (Active Directory as an LDIF export shows it): entries by distinguished
name, built and changed by LDIF records (SPEC D-7, D-8).

Distinguished names are compared as Active Directory compares them: attribute types and
values without regard to case, spaces around ``=`` and ``,`` ignored, escapes (``\\,``,
``\\2C``) resolved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

from rmslab.discovery.ldif import LdifRecord, LdifValue, read_ldif_file, write_ldif
from rmslab.errors import LdifFormatError

__all__ = ["Entry", "Directory", "parse_dn", "normalize_dn", "dn_within"]


def parse_dn(dn: str, *, line: int | None = None) -> tuple[tuple[str, str], ...]:
    """The RDNs of ``dn``, leaf first, each ``(type, value)`` with escapes resolved and
    surrounding spaces removed. A multi-valued RDN (``a=1+b=2``) stays one value."""
    if not dn.strip():
        return ()
    rdns: list[tuple[str, str]] = []
    current: list[str] = []
    i = 0
    text = dn.strip()
    while i <= len(text):
        ch = text[i] if i < len(text) else ","
        if ch == "\\" and i + 1 < len(text):
            pair = text[i + 1:i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                current.append(chr(int(pair, 16)))
                i += 3
            else:
                current.append(text[i + 1])
                i += 2
            continue
        if ch == ",":
            rdn = "".join(current)
            kind, eq, value = rdn.partition("=")
            if not eq or not kind.strip() or not value.strip():
                raise LdifFormatError(f"{dn!r} is not a distinguished name (each part is "
                                      "type=value, parts separated by commas)", line)
            rdns.append((kind.strip(), value.strip()))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    return tuple(rdns)


def normalize_dn(dn: str, *, line: int | None = None) -> str:
    """A key for comparing DNs: lower case, no spaces around separators, escapes
    resolved (and re-escaped so that commas stay unambiguous)."""
    return ",".join(k.lower() + "=" + v.lower().replace(",", _ESCAPED_COMMA)
                    for k, v in parse_dn(dn, line=line))


_ESCAPED_COMMA = "\\2c"


def _raw_rdns(dn: str) -> list[str]:
    """The RDNs of ``dn`` as written (escapes kept), leaf first."""
    parts, current, i = [], [], 0
    while i < len(dn):
        if dn[i] == "\\":
            current.append(dn[i:i + 2])
            i += 2
            continue
        if dn[i] == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(dn[i])
        i += 1
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def dn_within(dn: str, base: str) -> bool:
    """Whether ``dn`` is ``base`` or lies below it."""
    a, b = parse_dn(dn), parse_dn(base)
    if len(a) < len(b):
        return False
    tail = a[len(a) - len(b):]
    return all(x[0].lower() == y[0].lower() and x[1].lower() == y[1].lower()
               for x, y in zip(tail, b))


def _above(key: str) -> Iterator[str]:
    """The keys of every DN above the DN whose key is ``key`` (in a key, every comma
    separates RDNs: commas in values are escaped by :func:`normalize_dn`)."""
    at = key.find(",")
    while at >= 0:
        yield key[at + 1:]
        at = key.find(",", at + 1)


def _count(below: dict[str, int], key: str, change: int) -> None:
    for above in _above(key):
        below[above] = below.get(above, 0) + change


def _count_below(entries: dict[str, "Entry"]) -> dict[str, int]:
    below: dict[str, int] = {}
    for key in entries:
        _count(below, key, 1)
    return below


@dataclass(frozen=True)
class Entry:
    """One directory object: its DN and attributes (names as written, values in
    order)."""

    dn: str
    attributes: tuple[tuple[str, tuple[LdifValue, ...]], ...]

    def values(self, attribute: str) -> tuple[LdifValue, ...]:
        wanted = attribute.lower()
        for name, values in self.attributes:
            if name.split(";")[0].lower() == wanted:
                return values
        return ()

    def texts(self, attribute: str) -> tuple[str, ...]:
        return tuple(v for v in self.values(attribute) if isinstance(v, str))

    def text(self, attribute: str) -> str | None:
        found = self.texts(attribute)
        return found[0] if found else None

    @property
    def object_classes(self) -> frozenset[str]:
        return frozenset(v.lower() for v in self.texts("objectClass"))

    @property
    def rdns(self) -> tuple[tuple[str, str], ...]:
        return parse_dn(self.dn)

    def to_record(self) -> LdifRecord:
        """This entry as ``ldifde`` exports it (``changetype: add``)."""
        return LdifRecord(self.dn, "add", tuple((n, v) for n, vs in self.attributes for v in vs))


def _with(entry: Entry, name: str, values: tuple[LdifValue, ...]) -> Entry:
    """``entry`` with attribute ``name`` set to ``values`` (removed when empty)."""
    wanted = name.lower()
    attrs = list(entry.attributes)
    at = next((i for i, (n, _) in enumerate(attrs) if n.split(";")[0].lower() == wanted), None)
    if at is None:
        if values:
            attrs.append((name, values))
    elif values:
        attrs[at] = (attrs[at][0], values)
    else:
        del attrs[at]
    return Entry(entry.dn, tuple(attrs))


def _entry_from(dn: str, pairs: Iterable[tuple[str, LdifValue]]) -> Entry:
    grouped: dict[str, tuple[str, list[LdifValue]]] = {}
    for name, value in pairs:
        slot = grouped.setdefault(name.split(";")[0].lower(), (name, []))
        slot[1].append(value)
    return Entry(dn, tuple((n, tuple(vs)) for n, vs in grouped.values()))


def _same(a: LdifValue, b: LdifValue) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


class Directory:
    """Entries by DN, in the order they were added. Immutable: :meth:`apply` returns a
    new directory."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self._entries[normalize_dn(entry.dn)] = entry

    @classmethod
    def from_ldif(cls, records: Iterable[LdifRecord]) -> Directory:
        """The directory an LDIF export describes (content or ``add`` records), with any
        other changes in it applied in order."""
        return cls().apply(records)

    @classmethod
    def from_ldif_file(cls, path: str | os.PathLike[str]) -> Directory:
        return cls.from_ldif(read_ldif_file(path))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def get(self, dn: str) -> Entry | None:
        return self._entries.get(normalize_dn(dn))

    def search(self, base: str = "", *, object_class: str | None = None) -> list[Entry]:
        """Entries at or below ``base`` (all when empty), optionally of one class."""
        found = [e for e in self if not base or dn_within(e.dn, base)]
        if object_class is not None:
            found = [e for e in found if object_class.lower() in e.object_classes]
        return found

    def apply(self, records: Iterable[LdifRecord]) -> Directory:
        """Apply LDIF records in order, as ``ldifde -i`` does; errors name the line of the
        record that cannot be applied."""
        entries = dict(self._entries)
        # how many entries lie below each DN (by its key): a delete asks it at once rather
        # than comparing every entry's DN (which made a file of many deletes quadratic)
        below = _count_below(entries)
        for record in records:
            key = normalize_dn(record.dn, line=record.line)
            change = record.changetype
            if change is None or change == "add":
                if key in entries:
                    raise LdifFormatError(f"cannot add {record.dn}: the entry already exists",
                                          record.line)
                entries[key] = _entry_from(record.dn, record.attributes)
                _count(below, key, 1)
            elif change == "delete":
                if key not in entries:
                    raise LdifFormatError(f"cannot delete {record.dn}: no such entry",
                                          record.line)
                if below.get(key):
                    raise LdifFormatError(f"cannot delete {record.dn}: it has {below[key]} "
                                          "entries below it", record.line)
                del entries[key]
                _count(below, key, -1)
            elif change == "modify":
                entries[key] = self._modify(entries.get(key), record)
            else:
                entries = self._rename(entries, key, record)
                below = _count_below(entries)
        directory = Directory()
        directory._entries = entries
        return directory

    @staticmethod
    def _modify(entry: Entry | None, record: LdifRecord) -> Entry:
        if entry is None:
            raise LdifFormatError(f"cannot modify {record.dn}: no such entry", record.line)
        for mod in record.modifications:
            current = entry.values(mod.attribute)
            if mod.operation == "add":
                entry = _with(entry, mod.attribute, current + mod.values)
            elif mod.operation == "replace":
                entry = _with(entry, mod.attribute, mod.values)
            elif not mod.values:
                if not current:
                    raise LdifFormatError(f"cannot delete {mod.attribute} of {record.dn}: it "
                                          "has no values", mod.line)
                entry = _with(entry, mod.attribute, ())
            else:
                for value in mod.values:
                    if not any(_same(value, v) for v in current):
                        raise LdifFormatError(f"cannot delete {mod.attribute}: {value!r} of "
                                              f"{record.dn}: no such value", mod.line)
                kept = tuple(v for v in current if not any(_same(v, x) for x in mod.values))
                entry = _with(entry, mod.attribute, kept)
        return entry

    @staticmethod
    def _rename(entries: dict[str, Entry], key: str, record: LdifRecord) -> dict[str, Entry]:
        entry = entries.get(key)
        if entry is None or record.newrdn is None:
            raise LdifFormatError(f"cannot rename {record.dn}: no such entry", record.line)
        old_rdn = entry.rdns[0]
        new_rdn = parse_dn(record.newrdn, line=record.line)
        if len(new_rdn) != 1:
            raise LdifFormatError(f"newrdn {record.newrdn!r} is not one RDN", record.line)
        parent = (record.newsuperior if record.newsuperior is not None
                  else ",".join(_raw_rdns(record.dn)[1:]))
        new_dn = f"{record.newrdn},{parent}" if parent else record.newrdn
        if normalize_dn(new_dn) in entries and normalize_dn(new_dn) != key:
            raise LdifFormatError(f"cannot rename {record.dn} to {new_dn}: that entry exists",
                                  record.line)
        renamed = Entry(new_dn, entry.attributes)
        if record.deleteoldrdn:
            kept = tuple(v for v in renamed.values(old_rdn[0]) if not _same(v, old_rdn[1]))
            renamed = _with(renamed, old_rdn[0], kept)
        values = renamed.values(new_rdn[0][0])
        if not any(_same(v, new_rdn[0][1]) for v in values):
            renamed = _with(renamed, new_rdn[0][0], values + (new_rdn[0][1],))
        out: dict[str, Entry] = {}
        old_length = len(entry.rdns)
        for k, e in entries.items():
            if k == key:
                out[normalize_dn(new_dn)] = renamed
            elif dn_within(e.dn, entry.dn):  # move the subtree along
                head = _raw_rdns(e.dn)[:len(e.rdns) - old_length]
                moved = ",".join([*head, new_dn])
                out[normalize_dn(moved)] = Entry(moved, e.attributes)
            else:
                out[k] = e
        return out

    def to_ldif(self, base: str = "") -> str:
        """The entries at or below ``base`` as ``ldifde`` exports them."""
        return write_ldif(e.to_record() for e in self.search(base))

    def __repr__(self) -> str:
        return f"<Directory: {len(self)} entries>"
