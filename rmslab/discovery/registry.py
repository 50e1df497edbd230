"""The registry of a client machine: keys, values, ``.reg`` import and export, and the
view a 32-bit application gets on 64-bit Windows (SPEC D-4).

Key and value names are matched without regard to case, and keep the case they were
created with (as Windows does). Subkeys are listed in alphabetical order, as the
registry editor exports them; values keep the order they were created in.

WOW64: a 32-bit application on 64-bit Windows that opens ``HKEY_LOCAL_MACHINE\\SOFTWARE\\…``
is given ``HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\…`` — so the deployment notes' MSIPC settings for
32-bit Office live under ``HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\MSIPC``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from rmslab.errors import InputError
from rmslab.discovery.regfile import (KeyBlock, KeyDeletion, RegFile, RegValue, ValueDeletion,
                                      Version, normalize_key_path, read_reg_file)

__all__ = ["Registry", "RegistryKey", "RegistryView", "WOW64_NODE", "check_bits"]

WOW64_NODE = "Wow6432Node"


@dataclass
class RegistryKey:
    """One key: its name as created, its values (in creation order) and subkeys."""

    name: str
    values: dict[str, RegValue] = field(default_factory=dict)   # by lower-case name
    subkeys: dict[str, "RegistryKey"] = field(default_factory=dict)  # by lower-case name

    def value(self, name: str) -> RegValue | None:
        return self.values.get(name.lower())

    def subkey(self, name: str) -> RegistryKey | None:
        return self.subkeys.get(name.lower())

    def sorted_subkeys(self) -> list[RegistryKey]:
        return [self.subkeys[k] for k in sorted(self.subkeys)]

    def copy(self) -> RegistryKey:
        return RegistryKey(self.name, dict(self.values),
                           {k: v.copy() for k, v in self.subkeys.items()})


def _split(path: str) -> list[str]:
    return normalize_key_path(path).split("\\")


class Registry:
    """The registry hives of one machine (HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, …).

    Paths may use the abbreviations HKLM, HKCU, HKCR, HKU and HKCC.
    """

    def __init__(self) -> None:
        self._roots: dict[str, RegistryKey] = {}

    @classmethod
    def from_reg(cls, *files: RegFile) -> Registry:
        """A registry holding what the given ``.reg`` files import, in order."""
        registry = cls()
        for regfile in files:
            registry.apply(regfile)
        return registry

    @classmethod
    def from_reg_files(cls, *paths: str | os.PathLike[str]) -> Registry:
        """Import ``.reg`` files from disk, in order (later files win)."""
        return cls.from_reg(*(read_reg_file(p) for p in paths))

    def copy(self) -> Registry:
        other = Registry()
        other._roots = {k: v.copy() for k, v in self._roots.items()}
        return other

    # --- reading ------------------------------------------------------------------------
    def key(self, path: str) -> RegistryKey | None:
        """The key at ``path``, or ``None`` when it does not exist."""
        parts = _split(path)
        node = self._roots.get(parts[0])
        for name in parts[1:]:
            if node is None:
                return None
            node = node.subkey(name)
        return node

    def value(self, path: str, name: str = "") -> RegValue | None:
        """The value ``name`` (``""`` for the default value) of the key at ``path``."""
        node = self.key(path)
        return node.value(name) if node is not None else None

    def walk(self, path: str | None = None) -> Iterator[tuple[str, RegistryKey]]:
        """Every key under ``path`` (all hives when ``None``), depth first, subkeys in
        alphabetical order, each with its full path."""
        if path is None:
            for root in sorted(self._roots):
                yield from self._walk(root, self._roots[root])
            return
        node = self.key(path)
        if node is not None:
            yield from self._walk(self._canonical(path), node)

    def _walk(self, path: str, node: RegistryKey) -> Iterator[tuple[str, RegistryKey]]:
        yield path, node
        for child in node.sorted_subkeys():
            yield from self._walk(f"{path}\\{child.name}", child)

    def _canonical(self, path: str) -> str:
        """``path`` spelled with the names as the keys were created."""
        parts = _split(path)
        names = [parts[0]]
        node = self._roots.get(parts[0])
        for name in parts[1:]:
            node = node.subkey(name) if node is not None else None
            names.append(node.name if node is not None else name)
        return "\\".join(names)

    # --- changing -----------------------------------------------------------------------
    def create_key(self, path: str) -> RegistryKey:
        """Open the key at ``path``, creating it and its parents when missing."""
        parts = _split(path)
        node = self._roots.setdefault(parts[0], RegistryKey(parts[0]))
        for name in parts[1:]:
            child = node.subkey(name)
            if child is None:
                child = RegistryKey(name)
                node.subkeys[name.lower()] = child
            node = child
        return node

    def set_value(self, path: str, value: RegValue) -> None:
        """Set a value (its type and data replace any value of the same name)."""
        node = self.create_key(path)
        existing = node.value(value.name)
        if existing is not None and existing.name != value.name:
            value = RegValue(existing.name, value.type, value.data)  # keeps the first case
        node.values[value.name.lower()] = value

    def delete_value(self, path: str, name: str) -> bool:
        node = self.key(path)
        return node is not None and node.values.pop(name.lower(), None) is not None

    def delete_key(self, path: str) -> bool:
        """Delete a key with all its subkeys and values (a root key is emptied)."""
        parts = _split(path)
        if len(parts) == 1:
            return self._roots.pop(parts[0], None) is not None
        parent = self.key("\\".join(parts[:-1]))
        return parent is not None and parent.subkeys.pop(parts[-1].lower(), None) is not None

    def apply(self, regfile: RegFile) -> None:
        """Import a ``.reg`` file as the registry editor does: ``[KEY]`` creates the key
        and its parents, values replace values of the same name, ``"name"=-`` deletes a
        value, ``[-KEY]`` deletes a whole branch."""
        for block in regfile.blocks:
            if isinstance(block, KeyDeletion):
                self.delete_key(block.path)
                continue
            self.create_key(block.path)
            for entry in block.entries:
                if isinstance(entry, ValueDeletion):
                    self.delete_value(block.path, entry.name)
                else:
                    self.set_value(block.path, entry)

    def export(self, path: str | None = None, *, version: Version = "5.00") -> RegFile:
        """Export a branch (all hives when ``None``) as the registry editor does: each key
        in its own block, subkeys in alphabetical order, values in creation order."""
        return RegFile(version, tuple(KeyBlock(p, tuple(k.values.values()))
                                      for p, k in self.walk(path)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registry):
            return NotImplemented
        return _snapshot(self) == _snapshot(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        keys = sum(1 for _ in self.walk())
        values = sum(len(k.values) for _, k in self.walk())
        return f"<Registry: {keys} keys, {values} values>"


def _snapshot(registry: Registry) -> list[tuple[str, list[RegValue]]]:
    return [(p.lower(), sorted(k.values.values(), key=lambda v: v.name.lower()))
            for p, k in registry.walk()]


def check_bits(app_bits: int, os_bits: int) -> None:
    """Refuse an application/Windows combination that cannot exist."""
    if app_bits not in (32, 64) or os_bits not in (32, 64):
        raise InputError(f"applications and Windows are 32- or 64-bit, not {app_bits}/{os_bits}")
    if app_bits == 64 and os_bits == 32:
        raise InputError("a 64-bit application does not run on 32-bit Windows")


class RegistryView:
    """The registry as one application sees it: a 32-bit application on 64-bit Windows
    reads ``HKEY_LOCAL_MACHINE\\SOFTWARE\\…`` under ``SOFTWARE\\Wow6432Node`` (D-4)."""

    def __init__(self, registry: Registry, *, app_bits: int = 64, os_bits: int = 64) -> None:
        check_bits(app_bits, os_bits)
        self.registry = registry
        self.app_bits = app_bits
        self.os_bits = os_bits

    @property
    def redirected(self) -> bool:
        """Whether this view is WOW64's (a 32-bit application on 64-bit Windows)."""
        return self.app_bits == 32 and self.os_bits == 64

    def resolve(self, path: str) -> str:
        """The key the application really opens for ``path``."""
        parts = _split(path)
        if (self.redirected and parts[0] == "HKEY_LOCAL_MACHINE" and len(parts) > 1
                and parts[1].upper() == "SOFTWARE"
                and (len(parts) == 2 or parts[2].lower() != WOW64_NODE.lower())):
            parts = [parts[0], parts[1], WOW64_NODE, *parts[2:]]
        return "\\".join(parts)

    def key(self, path: str) -> RegistryKey | None:
        return self.registry.key(self.resolve(path))

    def value(self, path: str, name: str = "") -> RegValue | None:
        return self.registry.value(self.resolve(path), name)

    def values(self, path: str) -> Iterable[RegValue]:
        node = self.key(path)
        return tuple(node.values.values()) if node is not None else ()
