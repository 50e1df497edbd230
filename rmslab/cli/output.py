"""What the ``rmslab`` command prints is safe for a terminal (SPEC A-1).

Names, URLs, extensions, messages — much of what the command prints comes from the
files it reads, and a file may carry terminal control sequences (``ESC [ … m``, a
title-setting ``ESC ] … BEL``, a carriage return that overwrites "chain NOT VALID" with
"chain valid", a right-to-left override that reverses a name). Every text the command
writes, on stdout and stderr, passes through one writer (:class:`SafeWriter`, set up
for every command by :func:`rmslab.cli.main`) that shows such characters escaped:

* text output: each control character (Unicode category Cc — C0, DEL and C1 — but the
  line feed and the tab), format character (Cf: bidirectional overrides and isolates,
  zero-width characters, the byte-order mark), line or paragraph separator, private-use
  or unassigned code point is written as ``\\x1b``, ``\\u202e`` or ``\\U000e0001``;
* JSON output (``--json``) stays exact: the same characters, where they stand in JSON
  strings, are written as JSON escapes (``\\u001b``, ``\\u202e``), which parse back to the
  very same values; Python's JSON writer escapes C0 controls, but not DEL, C1 controls
  or format characters.

A backslash is printed as it is (Windows paths and registry keys are full of them), so
an escape shown in text output may also be those four characters in the input; the JSON
output tells them apart.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import unicodedata
from typing import Iterator, TextIO, cast

__all__ = ["safe_text", "safe_json_text", "SafeWriter", "safe_stream", "safe_stderr"]

# Every character that is not printable ASCII, a line feed or a tab: most output is
# plain ASCII, and then one regex pass in C finds nothing.
_CANDIDATE = re.compile(r"[^\x20-\x7e\n\t]")


def _unsafe(char: str) -> bool:
    """Whether a character may change what a terminal shows beyond itself: not printable
    (Cc, Cf, Cs, Co, Cn, Zl, Zp), except the spaces of category Zs, which show as space."""
    return not char.isprintable() and unicodedata.category(char) != "Zs"


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escaped(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a surrogate pair, as JSON writes characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_text(text: str) -> str:
    """``text`` with every character that could control a terminal shown escaped
    (``\\x1b``); line feeds and tabs stay."""
    return _CANDIDATE.sub(lambda m: _escaped(m.group()) if _unsafe(m.group()) else m.group(),
                          text)


def safe_json_text(text: str) -> str:
    """JSON text with the same characters written as JSON escapes (``\\u001b``): the
    values it holds are unchanged. Such characters can only stand inside JSON strings
    (the rest of JSON is printable ASCII); line feeds and tabs outside strings stay."""
    return _CANDIDATE.sub(
        lambda m: _json_escaped(m.group()) if _unsafe(m.group()) else m.group(), text)


class SafeWriter(io.TextIOBase):
    """A text stream that writes everything through :func:`safe_text` (or
    :func:`safe_json_text`) to the stream it wraps."""

    def __init__(self, target: TextIO, *, json: bool = False) -> None:
        super().__init__()
        self.target = target
        self._filter = safe_json_text if json else safe_text

    def write(self, text: str) -> int:
        self.target.write(self._filter(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


def safe_stream(out: TextIO, *, json: bool = False) -> TextIO:
    """A command's output stream, made safe (as JSON when ``json``)."""
    return cast(TextIO, SafeWriter(out, json=json))


@contextlib.contextmanager
def safe_stderr() -> Iterator[None]:
    """For the time of a command, ``sys.stderr`` made safe: its messages and warnings
    name files, URLs and values from the input."""
    saved = sys.stderr
    sys.stderr = cast(TextIO, SafeWriter(saved))
    try:
        yield
    finally:
        sys.stderr = saved
