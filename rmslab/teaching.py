"""Small helpers for lessons that look inside XrML documents (SPEC A-1).

* :func:`outline` maps a document: every element down to a depth, with where it lies in
  the document's text — the skeleton of an annotated walkthrough.
* :func:`excerpt` shows one slice of XML readably: one element per line, indented, long
  values (base64 keys and signatures) shortened. It is for reading only; what is signed
  is always the exact text (XRML.md "Signature"), never this display form.
* :func:`tamper` breaks a document on purpose (DESIGN.md rule 4): one edit inside one
  BODY of a chain, then the chain is read again, so that the checks can show what they
  catch.
* :func:`attempt` runs a step that may be refused and keeps the refusal (its rule, its
  reason, its Trace), so that a lesson shows it without ``try``/``except``.
* :func:`frozen_pictures` draws the deployment picture of every step of a Trace at once,
  so that a stepper keeps showing the deployment as it was when the flow ran (SPEC
  E-1…E-9, issue 3 item 4); a person named by e-mail address (the author of P-2) is
  drawn as that user.
* :func:`open_sealed_key` opens the private key sealed inside a rights account
  certificate or a client licensor certificate with a given key — to show what each key
  is sealed to (SPEC E-7, E-9).
* :func:`describe_registered_lists` says which revocation lists an application session
  has registered, and :func:`binding_picture` (:func:`binding_pictures` for a stepper)
  draws a binding's use-license chain with those lists beside it, fixed when called
  (SPEC R-2, R-5, R-8).
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from lxml import etree

from rmslab.crypto.rsa import PrivateKey
from rmslab.xrml.document import XrmlDocument
from rmslab.xrml.reader import Chain, parse

if TYPE_CHECKING:
    import graphviz

    from rmslab.deployment import Deployment
    from rmslab.trace import Step, Trace

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


def frozen_pictures(deployment: Deployment,
                    trace: Trace) -> Callable[[Step], graphviz.Digraph | None]:
    """A ``picture`` function for :class:`~rmslab.widgets.Stepper` that shows each step of
    ``trace`` on the picture of ``deployment`` as it is *now*, when this is called.

    :func:`rmslab.viz.deployment.step_picture` draws a step when the stepper shows it,
    from the deployment as it is then; in a lesson that goes on changing the deployment
    (a second server joins, another cluster enrolls), an earlier stepper would show the
    later deployment. Every step's graph is built here, once; a step that is not one of
    ``trace``'s gets no picture (``None``).

    Flows name a person either by account (``CONTOSO\\alice``) or by e-mail address
    (``alice@contoso.example``, as publishing does); both are drawn as that user, so
    the author who states the rights is highlighted too.
    """
    from rmslab.viz.deployment import deployment_graph
    accounts = {user.email: str(user) for user in deployment.directory.users.values()}

    def as_drawn(step: Step) -> Step:
        actor = accounts.get(step.actor, step.actor)
        target = accounts.get(step.target, step.target) if step.target else step.target
        if actor == step.actor and target == step.target:
            return step
        return replace(step, actor=actor, target=target)

    drawn = [(step, deployment_graph(deployment, as_drawn(step))) for step in trace.steps]

    def picture(step: Step) -> graphviz.Digraph | None:
        return next((graph for known, graph in drawn if known is step), None)

    return picture


def open_sealed_key(document: XrmlDocument, opener: PrivateKey) -> PrivateKey:
    """The private key sealed inside ``document`` (the ``ENABLINGBITS type="sealed-key"`` of
    a rights account certificate or a client licensor certificate), opened with
    ``opener``.

    A RAC seals the account key to the machine key; a CLC seals the CLC key to the
    account key. Raises :class:`~rmslab.crypto.seal.SealError` when ``opener`` is not the
    key it was sealed to, or when ``document`` holds no sealed key.
    """
    from rmslab.crypto.seal import SealError, unseal
    value = document.element.find(".//ENABLINGBITS[@type='sealed-key']/VALUE")
    if value is None or not (value.text or "").strip():
        raise SealError(f"{document.position} holds no sealed key")
    secret = unseal(base64.b64decode(value.text or ""), opener)
    # The private key is sealed as PKCS#8, DER (or PEM, in labs saved by older versions).
    if secret.startswith(b"-----BEGIN"):
        return PrivateKey.from_pem(secret)
    return PrivateKey.from_der(secret)


# --- Revocation: what an application session has registered (SPEC) ---
if TYPE_CHECKING:
    from rmslab.crypto.rsa import PublicKey
    from rmslab.flows.binding import AppSession, Binding
    from rmslab.revocation import RevocationIndex


def _revocation_entry(revoke: etree._Element, where: str) -> str:
    """One ``REVOKE`` entry as a reader names it: category, type, and the ID, name,
    digest or key fingerprint it revokes."""
    from rmslab.xrml.model import read_public_key
    category, kind = revoke.get("category", "?"), revoke.get("type", "?")
    key_element = revoke.find("PUBLICKEY")
    if key_element is not None:
        key = read_public_key(key_element, where)
        value = f"key {key.short_fingerprint}" if key is not None else "a key"
    else:
        value = _shorten("".join((revoke.findtext("OBJECT/ID") or revoke.findtext("VALUE")
                                  or "").split()), 40)
    return f"{category} {value} ({kind})"


def _list_lines(index: RevocationIndex, *, entries: int) -> list[str]:
    """What one registered list is: signer, key, issue time, and its first entries."""
    document = index.document
    signer = document.issuer.label if document.issuer else "?"
    key = index.signer_key.short_fingerprint if index.signer_key else "?"
    issued = f"{index.issued:%Y-%m-%d %H:%M} UTC" if index.issued else "at an unknown time"
    revokes = document.element.findall("BODY/REVOCATIONLIST/REVOKE")
    lines = [f"signed by {signer}, key {key}",
             f"issued {issued}; {len(revokes)} entr{'y' if len(revokes) == 1 else 'ies'}"]
    lines.extend(f"revokes {_revocation_entry(r, document.position)}"
                 for r in revokes[:entries])
    if len(revokes) > entries:
        lines.append(f"… and {len(revokes) - entries} more")
    return lines


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
        lines.extend(f"    {line}" for line in _list_lines(index, entries=entries))
    return "\n".join(lines)


def binding_picture(session: AppSession, license_chain: str, *, anchor: PublicKey,
                    binding: Binding | None = None, entries: int = 3) -> graphviz.Digraph:
    """The chain of trust of the use license that ``session``'s user holds for the
    content of ``license_chain`` (a publishing license chain), with the revocation lists
    registered in ``session`` beside it — as they are when this is called (SPEC R-5,
    R-8; A-1).

    The chain is drawn by :func:`rmslab.viz.chain_graph` (each document checked now by
    :func:`rmslab.report.examine`). Each registered list is a box with its URL, signer,
    issue time and first ``entries`` entries; a dashed arrow goes from a list to every
    document of the chain that the list's signer issued (signed with the signer's key).
    The caption says what the use license requires (its revocation list, or none) and,
    when ``binding`` is given, the binding's outcome — its first failed check, or that
    the content key was released.

    Raises :class:`~rmslab.errors.InputError` when the user's license store holds no use
    license for that content.
    """
    from textwrap import wrap

    from rmslab.errors import InputError
    from rmslab.report import examine
    from rmslab.viz.chain import chain_graph
    client, user = session.client, session.user
    content_id = parse(license_chain, source="publishing license")[0].content_id or ""
    stored = client.account(user.name).licenses.get(content_id)
    if stored is None:
        raise InputError(f"{client.name} holds no use license of {user.email} for the "
                         f"content {content_id}: acquire one first (L-1)")
    chain = parse(stored, source=f"use license of {user.email} on {client.name}")
    now = client.lab.now()
    graph = chain_graph(chain, examine(chain, anchor=anchor, at=now,
                                       required_mode=client.lab.mode), anchor)
    graph.name = "binding"

    title = f"revocation lists registered in {session.application} on {client.name}"
    with graph.subgraph(name="cluster_registered") as registered:
        registered.attr(label=title, style="dashed", color="#8e24aa", fontname="Helvetica",
                        fontsize="10", labelloc="b")
        if not session.registered_lists:
            registered.node("list_none", "none", shape="plaintext", style="")
        for number, (url, index) in enumerate(session.registered_lists.items(), 1):
            issued_here = [doc for doc in chain if index.signer_key is not None
                           and doc.issuer_key == index.signer_key]
            lines = [f"revocation list {url}", *_list_lines(index, entries=entries)]
            if not issued_here:
                lines.append("its signer issued no document of this chain")
            registered.node(f"list{number}", "\n".join(lines), shape="note",
                            fillcolor="#f3e5f5", color="#8e24aa")
            for doc in issued_here:
                graph.edge(f"list{number}", f"d{doc.index}",
                           label="issued by the list's signer", style="dashed",
                           color="#8e24aa", fontcolor="#8e24aa")

    use_license = chain[0]
    required = next((right.revocation_list for right in use_license.rights
                     if right.revocation_list is not None), None)
    interval = next((right.refresh_interval for right in use_license.rights
                     if right.revocation_list is not None), None)
    caption = [f"use license of {user.email} for the content {content_id}, "
               f"checked at {now:%Y-%m-%d %H:%M} UTC"]
    if required is not None:
        key = required.public_key.short_fingerprint if required.public_key else "?"
        caption.append(f"it requires the revocation list at {required.address}, signed by key "
                       f"{key}, at most {interval or '?'} days old")
    else:
        caption.append("it requires no revocation list")
    if binding is not None:
        failed = binding.failed
        if failed is None:
            caption.append(f"binding for {binding.right}: allowed, the content key is released")
        else:
            rule = f" [{failed.spec_id}]" if failed.spec_id else ""
            reason = f": {failed.reason}" if failed.reason else ""
            caption.append(f"binding for {binding.right}: refused at {failed.description}"
                           f"{rule}{reason}")
    graph.attr(label="\n".join(line for text in caption for line in wrap(
                   text, 90, break_long_words=False, break_on_hyphens=False)),
               labelloc="t", fontsize="11")
    return graph


def binding_pictures(session: AppSession, license_chain: str, *, anchor: PublicKey,
                     binding: Binding | None = None,
                     entries: int = 3) -> Callable[[Step], graphviz.Digraph]:
    """A ``picture`` function for :class:`~rmslab.widgets.Stepper`: every step of a
    binding's Trace shows :func:`binding_picture` — the use license's chain with the
    lists registered in ``session`` — drawn once, when this is called, so that the
    stepper keeps showing the session as it was after that binding (SPEC R-5)."""
    drawn = binding_picture(session, license_chain, anchor=anchor, binding=binding,
                            entries=entries)

    def picture(step: Step) -> graphviz.Digraph:
        return drawn

    return picture


__all__ += ["describe_registered_lists", "binding_picture", "binding_pictures"]
