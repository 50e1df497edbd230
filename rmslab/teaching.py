"""Small helpers for lessons that look inside XrML documents (SPEC A-1).

* :func:`outline` maps a document: every element down to a depth, with where it lies in
  the document's text — the skeleton of an annotated walkthrough.
* :func:`excerpt` shows one slice of XML readably: one element per line, indented, long
  values (base64 keys and signatures) shortened. It is for reading only; what is signed
  is always the exact text (docs/wire-format.md "Signature"), never this display form.
* :func:`tamper` breaks a document on purpose (docs/architecture.md rule 4): one edit inside one
  BODY of a chain, then the chain is read again, so that the checks can show what they
  catch.
* :func:`attempt` runs a step that may be refused and keeps the refusal (its rule, its
  reason, its Trace), so that a lesson shows it without ``try``/``except``.
* :func:`frozen_pictures` (from :mod:`rmslab.viz.lessons`) draws the deployment picture
  of every step of a Trace at once,
  so that a stepper keeps showing the deployment as it was when the flow ran (SPEC
  E-1…E-9, issue 3 item 4); a person named by e-mail address (the author of P-2) is
  drawn as that user.
* :func:`open_sealed_key` (from :mod:`rmslab.actors.client`) opens the private key sealed inside a rights account
  certificate or a client licensor certificate with a given key — to show what each key
  is sealed to (SPEC E-7, E-9).
* :func:`describe_registered_lists` says which revocation lists an application session
  has registered, and :func:`binding_picture` (:func:`binding_pictures` for a stepper;
  both from :mod:`rmslab.viz.lessons`)
  draws a binding's use-license chain with those lists beside it, fixed when called
  (SPEC R-2, R-5, R-8).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from lxml import etree

from rmslab.actors.client import open_sealed_key
from rmslab.viz.lessons import binding_picture, binding_pictures, frozen_pictures
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.reader import Chain, parse

__all__ = ["outline", "excerpt", "tamper", "Attempt", "attempt", "frozen_pictures",
           "open_sealed_key"]

# A tag (attribute values may hold ">"), or a run of text between tags.
_TOKEN = re.compile(r"""<(?:"[^"]*"|'[^']*'|[^'">])*>|[^<]+""")


def _shorten(value: str, max_text: int) -> str:
    if len(value) <= max_text:
        return value
    half = max(max_text // 2, 1)
    return f"{value[:half]}…{value[-half:]} [{len(value)} characters]"


def _is_start(token: str) -> bool:
    return (token.startswith("<") and not token.startswith(("</", "<!", "<?"))
            and not token.endswith("/>"))


def excerpt(xml: str, *, max_text: int = 48, indent: str = "  ") -> str:
    """A display form of an XML slice: one element per line, indented by depth; an
    element holding only text stays on one line; text longer than ``max_text`` is
    shortened to its start and end with its length. Tags are shown as written.
    Whitespace-only text between tags is not shown.
    """
    tokens = _TOKEN.findall(xml)
    lines: list[str] = []
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1:i + 3]
        if _is_start(token):
            if following and following[0].startswith("</"):
                lines.append(indent * depth + token + following[0])
                i += 2
                continue
            if (len(following) == 2 and not following[0].startswith("<")
                    and following[1].startswith("</")):
                lines.append(indent * depth + token + _shorten(following[0], max_text)
                             + following[1])
                i += 3
                continue
            lines.append(indent * depth + token)
            depth += 1
        elif token.startswith("</"):
            depth = max(depth - 1, 0)
            lines.append(indent * depth + token)
        elif token.startswith("<"):
            lines.append(indent * depth + token)
        elif token.strip():
            lines.append(indent * depth + _shorten(token.strip(), max_text))
        i += 1
    return "\n".join(lines)


def outline(document: XrmlDocument, *, depth: int = 2) -> str:
    """A map of ``document``: one line per element down to ``depth`` levels below
    ``XrML`` (0 = the envelope only), with the start tag as written and where the
    element lies in :attr:`~rmslab.xrml.XrmlDocument.text` (character offsets, end
    exclusive, and length)."""
    root = document.element
    rows: list[tuple[str, str, int]] = []

    def walk(element: etree._Element, level: int) -> None:
        start, end = document.element_span(element)
        first = _TOKEN.match(document.text, start)
        tag = first.group() if first else ""
        rows.append((f"{start:>5}–{end:<5}", "  " * level + tag, end - start))
        if level < depth:
            for child in element:
                if isinstance(child.tag, str):
                    walk(child, level + 1)

    walk(root, 0)
    width = max(len(tag) for _, tag, _ in rows)
    return "\n".join(f"{where} {tag:<{width}}  {length:>5} chars"
                     for where, tag, length in rows)


def tamper(chain: Chain, index: int, old: str, new: str, *,
           source: str | None = None) -> Chain:
    """A copy of ``chain`` in which ``old`` is replaced by ``new`` inside the BODY of
    document ``index`` — one occurrence, nothing else touched — read again from the
    edited text. Nothing is re-signed: the checks are there to find the change.

    Raises :class:`ValueError` unless ``old`` occurs exactly once in that BODY and
    differs from ``new``.
    """
    document = chain[index]
    span = document.span
    body = chain.text[span.body_start:span.body_end]
    found = body.count(old) if old else 0
    if found != 1:
        raise ValueError(f"{old!r} occurs {found} times in the BODY of {document.position}; "
                         "tamper needs exactly one occurrence")
    if old == new:
        raise ValueError("the replacement is the same text: nothing would change")
    text = chain.text[:span.body_start] + body.replace(old, new, 1) + chain.text[span.body_end:]
    return parse(text, source=source or f"{chain.source} (tampered)")


class Attempt:
    """The outcome of trying a step that may be refused: what it returned, or the
    rmslab error that refused it (with its rule and the Trace up to the refusal).
    Lessons use it to show a refusal without writing ``try``/``except`` themselves."""

    def __init__(self, result: object = None, error: Exception | None = None) -> None:
        self.result = result
        self.error = error

    @property
    def refused(self) -> bool:
        return self.error is not None

    @property
    def trace(self) -> object:
        """The Trace: the refusal's, or the one the step returned."""
        if self.error is not None:
            return getattr(self.error, "trace", None)
        if isinstance(self.result, tuple):
            from rmslab.trace import Trace
            return next((r for r in self.result if isinstance(r, Trace)), None)
        return self.result

    @property
    def rule(self) -> str | None:
        return getattr(self.error, "spec_id", None)

    def __repr__(self) -> str:
        if self.error is None:
            return "succeeded"
        rule = f" [{self.rule}]" if self.rule else ""
        reason = getattr(self.error, "reason", str(self.error))
        return f"refused ({type(self.error).__name__}){rule}: {reason}"


def attempt(step: Callable[..., object], *args: object, **kwargs: object) -> Attempt:
    """Run one step; an :class:`~rmslab.errors.RmslabError` is caught and returned in the
    :class:`Attempt`, any other exception propagates."""
    from rmslab.errors import RmslabError
    try:
        return Attempt(step(*args, **kwargs))
    except RmslabError as exc:
        return Attempt(error=exc)


# --- Revocation: what an application session has registered (SPEC) ---
if TYPE_CHECKING:
    from rmslab.flows.binding import AppSession


def describe_registered_lists(session: AppSession, *, entries: int = 5) -> str:
    """The revocation lists registered in ``session`` now (SPEC R-5), as text: the
    session, then for each list its URL, its signer and the signer's key, when it was
    issued, and its first ``entries`` entries — or that nothing is registered.

    It only reads what the session holds; which list applies to a binding is decided by
    the binding (:func:`rmslab.flows.binding.explain_binding`), which says so in its
    checks (R-3, R-8).
    """
    registered = session.registered_lists
    state = " (closed)" if session.closed else ""
    count = len(registered)
    head = (f"{session.application} on {session.client.name} for {session.user.email}{state}: "
            + (f"{count} revocation list{'' if count == 1 else 's'} registered" if count
               else "no revocation list registered"))
    lines = [head]
    for url, index in registered.items():
        lines.append(f"  {url}")
        lines.extend(f"    {line}" for line in index.describe(entries=entries))
    return "\n".join(lines)


__all__ += ["describe_registered_lists", "binding_picture", "binding_pictures"]


# --- Editing a BODY and seeing what changed (issue 15: the BODY editor) ----------------


def with_body(chain: Chain, index: int, body: str, *, source: str | None = None) -> Chain:
    """A copy of ``chain`` whose document ``index`` has ``body`` as the text of its BODY
    element — a whole ``<BODY …>…</BODY>`` — everything else as written; read again, so
    that every check runs on it. Nothing is re-signed. Raises the reader's
    :class:`~rmslab.errors.InputError` when the result is not a chain of documents."""
    span = chain[index].span
    text = chain.text[:span.body_start] + body + chain.text[span.body_end:]
    return parse(text, source=source or f"{chain.source} (edited)")


def changed_spans(before: str, after: str) -> list[tuple[int, int]]:
    """Where ``after`` differs from ``before``: the (start, end) character ranges of
    ``after`` that were inserted or replaced (difflib's opcodes); a deletion is an empty
    range where the removed characters were."""
    from difflib import SequenceMatcher
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    return [(j1, j2) for tag, _i1, _i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


__all__ += ["with_body", "changed_spans"]
