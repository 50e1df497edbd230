"""Identifiers read from documents: GUIDs or refused (MS-RMPR 2.2.9.7.1, 2.2.9.9.1 —
"a unique GUID … represented as a literal ASCII string enclosed in braces").

rmslab uses content IDs and license IDs read from documents as identifiers: keys of a
license store, names of files in it, entries of revocation lists. A document is
attacker-supplied, and a signature only says who wrote it, not that its IDs are sane: a
publishing license signed with a valid CLC may carry the content ID ``{../../x}``. So
an ID is checked to be a GUID, ``{8-4-4-4-12}`` hexadecimal digits, before any name is
formed from it; anything else is refused with an error that names the document and the
value, escaped so that it prints as plain text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rmslab.errors import StructureError

if TYPE_CHECKING:
    from rmslab.xrml.document import XrmlDocument

__all__ = ["GUID", "is_guid", "require_guid", "escaped", "license_ids"]

#: ``{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}``, hexadecimal digits of either case.
GUID = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                  r"[0-9A-Fa-f]{12}\}", re.ASCII)

_SHOWN = 80


def is_guid(value: str | None) -> bool:
    """Whether ``value`` is a GUID written as XrML writes them, braces included."""
    return value is not None and GUID.fullmatch(value) is not None


def _escape(character: str) -> str:
    if character in "\\'":
        return "\\" + character
    if " " <= character <= "~":
        return character
    return character.encode("unicode_escape").decode("ascii")


def escaped(value: str) -> str:
    """``value`` quoted with every character outside printable ASCII escaped (and long
    values cut), safe to print in a message or on a terminal."""
    cut = "..." if len(value) > _SHOWN else ""
    return "'" + "".join(_escape(c) for c in value[:_SHOWN]) + cut + "'"


def require_guid(value: str | None, *, what: str, where: str) -> str:
    """``value`` when it is a GUID; :class:`StructureError` naming ``where`` (the document),
    ``what`` (which ID) and the value otherwise."""
    if value is None:
        raise StructureError(f"{where}: it has no {what}")
    if not is_guid(value):
        raise StructureError(f"{where}: {escaped(value)} is not a {what}, which is a GUID "
                             "({xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}); refused before it "
                             "is used as a name")
    return value


def license_ids(license: "XrmlDocument") -> tuple[str, str | None]:
    """The content ID (``WORK/OBJECT/ID``) and the license ID (``DESCRIPTOR``) of a
    publishing or use license, each a GUID or refused with a :class:`StructureError`
    naming the document and the value. The license ID may be absent (MS-RMPR 2.2.9.7
    makes a publishing license's DESCRIPTOR optional); the content ID may not."""
    where = license.position
    content_id = require_guid(license.content_id, what="content ID", where=where)
    license_id = (require_guid(license.id, what="license ID", where=where)
                  if license.id is not None else None)
    return content_id, license_id
