"""OLE compound files (MS-CFB): written by rmslab, read with olefile.

Reading goes through the established ``olefile`` library; every failure it can raise on
damaged or hostile input (a sector chain that loops or points past the end, a directory
that does not hold together, a truncated header) becomes a :class:`CompoundFileError`
that names the file's problem, and every stream is read with an upper bound.

Writing is rmslab's own (olefile cannot create files): version 3 files of 512-byte
sectors as MS-CFB 2.2 lays them out — header, FAT with DIFAT sectors past 109 FAT
sectors, the mini stream for streams under 4096 bytes with its mini FAT, and the
directory as a red-black tree ordered as MS-CFB 2.6.4 orders names (shorter first, then
by upper-case code points). Files it writes are read back by olefile in the tests.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

import olefile

from rmslab.errors import CompoundFileError

__all__ = ["MAGIC", "is_compound_file", "CompoundWriter", "CompoundFile", "open_compound"]

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SECTOR = 512
_MINI = 64
_CUTOFF = 4096
_FREE, _END, _FATSECT, _DIFSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC
_NOSTREAM = 0xFFFFFFFF
_IDS_PER_SECTOR = _SECTOR // 4


def is_compound_file(head: bytes) -> bool:
    return head.startswith(MAGIC)


# --- writing ------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    data: bytes | None = None              # None: a storage
    children: dict[str, "_Node"] = field(default_factory=dict)
    index: int = 0
    color: int = 1
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    start: int = _END


def _sort_key(name: str) -> tuple[int, str]:
    """MS-CFB 2.6.4: compare lengths first, then the names in upper case."""
    return (len(name), name.upper())


def _check_name(name: str) -> None:
    if not name or len(name) > 31 or any(c in name for c in "/\\:!"):
        raise ValueError(f"{name!r} cannot name a compound-file entry (1–31 characters, "
                         "none of / \\ : !)")


class CompoundWriter:
    """Builds a compound file in memory: add streams by path (``"A/B/stream"``, storages
    are created on the way), then :meth:`to_bytes`."""

    def __init__(self) -> None:
        self._root = _Node("Root Entry")

    def add_stream(self, path: str, data: bytes) -> None:
        parts = path.split("/")
        node = self._root
        for part in parts[:-1]:
            _check_name(part)
            node = node.children.setdefault(part, _Node(part))
            if node.data is not None:
                raise ValueError(f"{part!r} is a stream, not a storage")
        _check_name(parts[-1])
        if parts[-1] in node.children:
            raise ValueError(f"{path!r} is already in the file")
        node.children[parts[-1]] = _Node(parts[-1], data=bytes(data))

    def add_storage(self, path: str) -> None:
        node = self._root
        for part in path.split("/"):
            _check_name(part)
            node = node.children.setdefault(part, _Node(part))

    def _nodes(self) -> list[_Node]:
        order: list[_Node] = []

        def visit(node: _Node) -> None:
            node.index = len(order)
            order.append(node)
            for child in sorted(node.children.values(), key=lambda n: _sort_key(n.name)):
                visit(child)

        visit(self._root)
        for node in order:
            siblings = sorted(node.children.values(), key=lambda n: _sort_key(n.name))
            node.child = self._tree(siblings, 0, _depth(len(siblings)))
        return order

    def _tree(self, nodes: list[_Node], depth: int, deepest: int) -> int:
        """A balanced search tree over sorted siblings: every node black except those
        on a deepest, incomplete level, which are red — a valid red-black tree."""
        if not nodes:
            return _NOSTREAM
        middle = len(nodes) // 2
        node = nodes[middle]
        node.left = self._tree(nodes[:middle], depth + 1, deepest)
        node.right = self._tree(nodes[middle + 1:], depth + 1, deepest)
        node.color = 0 if depth == deepest and depth > 0 else 1
        return node.index

    def to_bytes(self) -> bytes:
        nodes = self._nodes()
        streams = [n for n in nodes if n.data is not None]
        small = [n for n in streams if len(n.data or b"") < _CUTOFF]
        large = [n for n in streams if len(n.data or b"") >= _CUTOFF]
        sectors: list[bytes] = []          # regular sectors in file order (after the header)
        fat: list[int] = []

        def place(data: bytes) -> int:
            count = max(1, -(-len(data) // _SECTOR))
            first = len(sectors)
            for i in range(count):
                sectors.append(data[i * _SECTOR:(i + 1) * _SECTOR].ljust(_SECTOR, b"\0"))
                fat.append(first + i + 1 if i + 1 < count else _END)
            return first

        for node in large:
            node.start = place(node.data or b"")
        mini = bytearray()
        minifat: list[int] = []
        for node in small:
            data = node.data or b""
            if not data:
                node.start = _END
                continue
            count = -(-len(data) // _MINI)
            node.start = len(minifat)
            for i in range(count):
                minifat.append(node.start + i + 1 if i + 1 < count else _END)
            mini += data.ljust(count * _MINI, b"\0")
        root = nodes[0]
        root.start = place(bytes(mini)) if mini else _END
        minifat_start, minifat_sectors = _END, 0
        if minifat:
            packed = struct.pack(f"<{len(minifat)}I", *minifat)
            minifat_sectors = -(-len(packed) // _SECTOR)
            minifat_start = place(packed.ljust(minifat_sectors * _SECTOR, b"\xff"))
        directory = b"".join(self._entry(n, len(mini) if n is root else len(n.data or b""))
                             for n in nodes)
        directory += _empty_entry() * (-len(nodes) % (_SECTOR // 128))
        directory_start = place(directory)
        # FAT sectors (and DIFAT sectors past 109 of them) describe themselves too
        used = len(sectors)
        fat_count = difat_count = 0
        while True:
            fat_needed = -(-(used + fat_count + difat_count) // _IDS_PER_SECTOR)
            difat_needed = max(0, -(-(fat_needed - 109) // (_IDS_PER_SECTOR - 1)))
            if (fat_needed, difat_needed) == (fat_count, difat_count):
                break
            fat_count, difat_count = fat_needed, difat_needed
        fat_sectors = list(range(used, used + fat_count))
        difat_sectors = list(range(used + fat_count, used + fat_count + difat_count))
        fat += [_FATSECT] * fat_count + [_DIFSECT] * difat_count
        fat += [_FREE] * (fat_count * _IDS_PER_SECTOR - len(fat))
        packed_fat = struct.pack(f"<{len(fat)}I", *fat)
        for i in range(fat_count):
            sectors.append(packed_fat[i * _SECTOR:(i + 1) * _SECTOR])
        rest = fat_sectors[109:]
        for i, where in enumerate(difat_sectors):
            chunk = rest[i * 127:(i + 1) * 127]
            following = difat_sectors[i + 1] if i + 1 < difat_count else _END
            ids = chunk + [_FREE] * (127 - len(chunk)) + [following]
            sectors.append(struct.pack("<128I", *ids))
        head_difat = fat_sectors[:109] + [_FREE] * (109 - min(109, fat_count))
        header = struct.pack(
            "<8s16sHHHHH6sIIIIIIIII", MAGIC, bytes(16), 0x003E, 0x0003, 0xFFFE, 9, 6,
            bytes(6), 0, fat_count, directory_start, 0, _CUTOFF, minifat_start,
            minifat_sectors, difat_sectors[0] if difat_sectors else _END, difat_count)
        header += struct.pack("<109I", *head_difat)
        return header + b"".join(sectors)

    @staticmethod
    def _entry(node: _Node, size: int) -> bytes:
        name = node.name.encode("utf-16-le") + b"\0\0"
        kind = 5 if node.index == 0 else (2 if node.data is not None else 1)
        start = node.start if kind != 1 else 0
        return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), kind, node.color,
                           node.left, node.right, node.child, bytes(16), 0, 0, 0, start,
                           size if kind != 1 else 0)


def _empty_entry() -> bytes:
    return struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM,
                       _NOSTREAM, bytes(16), 0, 0, 0, 0, 0)


def _depth(count: int) -> int:
    """The depth of the deepest level of a balanced tree of ``count`` nodes, if that level
    is incomplete (otherwise -1: no node is red)."""
    if count == 0:
        return -1
    depth = count.bit_length() - 1
    return depth if count != (1 << (depth + 1)) - 1 else -1


# --- reading ------------------------------------------------------------------------


class CompoundFile:
    """A compound file opened with olefile, for reading only. Stream paths are given as
    ``"A/B/stream"``; every read is bounded."""

    def __init__(self, ole: olefile.OleFileIO, source: str) -> None:
        self._ole = ole
        self.source = source
        self._checked: set[int] = set()

    def _walk(self, start: int, table: object, size: int, sector: int, what: str) -> None:
        """Follow a sector chain, refusing one that loops, leaves the table, or does not
        match the size its directory entry gives (olefile reads by size and would
        return repeated sectors from a loop)."""
        needed = -(-size // sector) if size >= 0 else 0
        seen: set[int] = set()
        current, count = start, 0
        entries = list(table)  # type: ignore[call-overload]
        while current != _END:
            if size < 0 and count > len(entries):
                break
            if current in seen:
                raise CompoundFileError(f"{self.source}: the sector chain of {what} loops "
                                        f"back to sector {current} (MS-CFB 2.3)")
            if current >= len(entries):
                raise CompoundFileError(f"{self.source}: the sector chain of {what} points "
                                        f"to sector {current}, past the end of the table")
            seen.add(current)
            count += 1
            if size >= 0 and count > needed:
                raise CompoundFileError(f"{self.source}: the sector chain of {what} is "
                                        f"longer than its {size} bytes")
            current = entries[current]
        if size >= 0 and count < needed:
            raise CompoundFileError(f"{self.source}: the sector chain of {what} ends after "
                                    f"{count} sectors; its {size} bytes need {needed}")

    def _check_chain(self, path: str) -> None:
        ole = self._ole
        try:
            sid = ole._find(path)
            entry = ole.direntries[sid]
            if sid in self._checked:
                return
            if entry.size < ole.minisectorcutoff:
                if getattr(ole, "minifat", None) is None:
                    ole.loadminifat()
                if 0 not in self._checked:
                    self._walk(ole.root.isectStart, ole.fat, ole.root.size, ole.sector_size,
                               "the mini stream")
                    self._checked.add(0)
                self._walk(entry.isectStart, ole.minifat, entry.size, ole.mini_sector_size,
                           _printable(path))
            else:
                self._walk(entry.isectStart, ole.fat, entry.size, ole.sector_size,
                           _printable(path))
        except CompoundFileError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc, path) from None
        self._checked.add(sid)

    def __enter__(self) -> "CompoundFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._ole.close()
        except Exception:  # noqa: BLE001 — closing a damaged file must not hide the error
            pass

    def exists(self, path: str) -> bool:
        try:
            return bool(self._ole.exists(path))
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc) from None

    def kind(self, path: str) -> str | None:
        """``"stream"``, ``"storage"`` or None."""
        try:
            found = self._ole.get_type(path)
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc) from None
        return {olefile.STGTY_STREAM: "stream", olefile.STGTY_STORAGE: "storage"}.get(found)

    def size(self, path: str) -> int:
        try:
            return int(self._ole.get_size(path))
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc) from None

    def list(self, storage: str = "") -> list[str]:
        """Names directly inside ``storage`` (the root when empty)."""
        depth = len(storage.split("/")) if storage else 0
        try:
            entries = self._ole.listdir(streams=True, storages=True)
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc) from None
        prefix = storage.split("/") if storage else []
        return sorted({e[depth] for e in entries
                       if len(e) > depth and e[:depth] == prefix})

    def read(self, path: str, *, limit: int) -> bytes:
        """The whole stream at ``path``, refused when larger than ``limit``."""
        if self.kind(path) != "stream":
            raise CompoundFileError(f"{self.source}: the compound file has no stream "
                                    f"{_printable(path)}")
        size = self.size(path)
        if size > limit:
            raise CompoundFileError(f"{self.source}: the stream {_printable(path)} is "
                                    f"{size} bytes, more than the {limit} rmslab reads")
        self._check_chain(path)
        try:
            with self._ole.openstream(path) as stream:
                data = stream.read(size)
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc, path) from None
        if len(data) != size:
            raise CompoundFileError(f"{self.source}: the stream {_printable(path)} is "
                                    f"truncated ({len(data)} of {size} bytes)")
        return bytes(data)

    def head(self, path: str, count: int) -> bytes:
        """The first ``count`` bytes of a stream (its header), without reading the rest."""
        if self.kind(path) != "stream":
            raise CompoundFileError(f"{self.source}: the compound file has no stream "
                                    f"{_printable(path)}")
        self._check_chain(path)
        try:
            with self._ole.openstream(path) as stream:
                return bytes(stream.read(count))
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc, path) from None

    def walk(self) -> Iterator[str]:
        try:
            entries = self._ole.listdir(streams=True, storages=False)
        except Exception as exc:  # noqa: BLE001
            raise _damaged(self.source, exc) from None
        for entry in entries:
            yield "/".join(entry)


def _printable(path: str) -> str:
    return "/".join(repr(p) if any(ord(c) < 32 for c in p) else p for p in path.split("/"))


def _damaged(source: str, exc: BaseException, path: str | None = None) -> CompoundFileError:
    where = f" (stream {_printable(path)})" if path else ""
    reason = str(exc) or type(exc).__name__
    return CompoundFileError(f"{source}: the compound file is damaged{where}: {reason}")


def open_compound(data: bytes | BinaryIO, source: str) -> CompoundFile:
    """Open a compound file from bytes or a seekable binary file. olefile is run in its
    strict mode (``raise_defects=DEFECT_INCORRECT``): a sector chain that loops, a FAT
    that points outside the file or a broken directory is an error, never a guess."""
    handle: BinaryIO = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    handle.seek(0)
    if not is_compound_file(handle.read(8)):
        raise CompoundFileError(f"{source}: not an OLE compound file (no D0 CF 11 E0 "
                                "signature)")
    handle.seek(0)
    try:
        ole = olefile.OleFileIO(handle, raise_defects=olefile.DEFECT_INCORRECT)
    except Exception as exc:  # noqa: BLE001 — olefile raises OSError, struct.error, …
        raise _damaged(source, exc) from None
    compound = CompoundFile(ole, source)
    try:
        compound._walk(ole.first_dir_sector, ole.fat, -1, _SECTOR, "the directory")
        if ole.num_mini_fat_sectors:
            compound._walk(ole.minifatsect, ole.fat, -1, _SECTOR, "the mini FAT")
    except CompoundFileError:
        compound.close()
        raise
    return compound
