"""The chain viewer: a chain as a picture, and each document's checks one click away
(docs/architecture.md "widgets/": chain viewer and document explorer; SPEC A-1).

It runs :func:`rmslab.report.examine` once and shows what it found: the verdict (valid and
anchored, consistent but not anchored, expired, not yet valid, or not valid — the
report's words and the picture's colours), the chain picture
(:func:`rmslab.viz.chain_graph`), one button per document, and for the document chosen
its facts, its checks (digest, signature, the link to its issuer, its validity period at
the time checked, the way up to a pinned root — each ✓, ✗ or ?), the findings with their
codes, its outline and its XML (an indented display copy; the signed text is not changed).

Thin by design (docs/architecture.md rule 1): every verdict comes from the report. The time checked
is the caller's (notebooks pass the lab's clock); without one, the viewer — a shell, like
the command — checks at the wall clock's now.

The text form Jupyter stores beside the widget (``text/plain``, compared by nbval) is
``<ChainViewer 'source': n documents, chain <verdict>; #i shown>``.

Stable hooks for tests and styling: the box has the class ``rmslab-chain-viewer``;
inside it ``rmslab-chain-verdict`` (``data-valid``: true only when valid and anchored;
``data-verdict``: ``valid``, ``unanchored``, ``expired``, ``not-yet-valid`` or
``invalid``), ``rmslab-picture`` holding the ``<svg>``, ``rmslab-document-button`` and
``rmslab-document-button-N`` (a button per document, ``rmslab-document-button-bad`` when
its checks fail, ``rmslab-document-button-VERDICT`` always), and
``rmslab-document-detail`` (``data-index``, ``data-valid``, ``data-verdict``) with
``rmslab-check`` (``rmslab-check-pass`` / ``rmslab-check-fail`` / ``rmslab-check-unknown``
/ ``rmslab-check-none``), ``rmslab-finding`` (``data-code``), ``rmslab-outline`` and
``rmslab-document``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape

import ipywidgets as widgets

from rmslab.crypto.rsa import PublicKey
from rmslab.errors import RmslabError
from rmslab.report import (NOT_ANCHORED_LABEL, TIME_CODES, ChainReport, DocumentReport,
                           Verdict, examine)
from rmslab.teaching import outline
from rmslab.trace import DocumentRef
from rmslab.viz.chain import VERDICT_STYLES, chain_graph
from rmslab.viz.render import inline_svg, render
from rmslab.widgets.stepper import FAIL_COLOUR, PASS_COLOUR, document_html
from rmslab.xrml.model import format_time
from rmslab.xrml.reader import Chain

__all__ = ["ChainViewer", "explore", "document_detail_html", "verdict_html"]

_MUTED = "color: #666"
#: The mark of each verdict on a document's button.
_BUTTON_MARKS = {Verdict.VALID: "✓", Verdict.UNANCHORED: "?", Verdict.EXPIRED: "⌛",
                 Verdict.NOT_YET_VALID: "⌛", Verdict.INVALID: "✗"}


class ChainViewer(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Shows ``chain`` checked against ``anchor`` at ``at`` (the wall clock's now when
    None; and the other options of :func:`~rmslab.report.examine`), one document at a
    time."""

    def __init__(self, chain: Chain, *, anchor: PublicKey | None = None,
                 recover_whitespace: bool = False, at: datetime | None = None,
                 required_mode: int = 1) -> None:
        super().__init__()
        self._chain = chain
        self._report = examine(chain, anchor=anchor, recover_whitespace=recover_whitespace,
                               at=at or datetime.now(timezone.utc),
                               required_mode=required_mode)
        self._index = 0
        self._verdict_view = widgets.HTML(value=verdict_html(self._report))
        self._picture_view = widgets.HTML(value=self._picture_html())
        self._buttons = [self._button(document) for document in self._report.documents]
        self._detail_view = widgets.HTML()
        buttons = widgets.HBox(self._buttons, layout=widgets.Layout(flex_flow="row wrap"))
        buttons.add_class("rmslab-document-buttons")
        self.children = (self._verdict_view, self._picture_view, buttons, self._detail_view)
        self.add_class("rmslab-chain-viewer")
        self._show()

    @property
    def report(self) -> ChainReport:
        """What :func:`~rmslab.report.examine` found."""
        return self._report

    @property
    def index(self) -> int:
        """The document shown (its index in the chain)."""
        return self._index

    def select(self, index: int) -> None:
        """Show document ``index`` (negative counts from the end, as for lists)."""
        count = len(self._chain)
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError(f"no document {index}: {self._chain.source!r} holds {count}")
        self._index = position
        self._show()

    def __repr__(self) -> str:
        count = len(self._chain)
        return (f"<ChainViewer {self._chain.source!r}: {count} document"
                f"{'' if count == 1 else 's'}, chain {self._report.verdict.headline}; "
                f"#{self._index} shown>")

    # -- display ------------------------------------------------------------------

    def _button(self, result: DocumentReport) -> widgets.Button:
        verdict = result.verdict
        button = widgets.Button(
            description=f"{_BUTTON_MARKS[verdict]} #{result.index} {result.kind_name}",
            tooltip=f"show document #{result.index} ({verdict.headline})",
            layout=widgets.Layout(width="auto"))
        button.add_class("rmslab-document-button")
        button.add_class(f"rmslab-document-button-{result.index}")
        button.add_class(f"rmslab-document-button-{verdict.value}")
        if verdict is Verdict.INVALID:
            button.add_class("rmslab-document-button-bad")
        button.on_click(lambda _button, index=result.index: self.select(index))
        return button

    def _show(self) -> None:
        for position, button in enumerate(self._buttons):
            button.button_style = "info" if position == self._index else ""
        self._detail_view.value = document_detail_html(
            self._chain, self._report.documents[self._index], self._report)

    def _picture_html(self) -> str:
        graph = chain_graph(self._chain, self._report, self._report.anchor)
        try:
            svg = inline_svg(render(graph, "svg").decode("utf-8"))
        except RmslabError as error:
            return (f'<div class="rmslab-picture rmslab-picture-error" '
                    f'style="color: {FAIL_COLOUR}">picture not drawn: {escape(str(error))}</div>')
        return f'<div class="rmslab-picture" style="overflow-x: auto">{svg}</div>'


def explore(chain: Chain, *, anchor: PublicKey | None = None, recover_whitespace: bool = False,
            at: datetime | None = None, required_mode: int = 1) -> ChainViewer:
    """The chain viewer for ``chain``: the one call a notebook makes."""
    return ChainViewer(chain, anchor=anchor, recover_whitespace=recover_whitespace, at=at,
                       required_mode=required_mode)


# -- HTML (pure functions of the chain and its report) -------------------------------


def verdict_html(report: ChainReport) -> str:
    """The chain's verdict as the viewer's first line: the verdict in the picture's
    colour, then what was checked, against which root, at what time, and why."""
    verdict = report.verdict
    count = len(report.documents)
    root = (f"root pinned {report.anchor.short_fingerprint}" if report.anchor else
            "no root pinned")
    return (f'<div class="rmslab-chain-verdict" data-valid="{str(report.chain_valid).lower()}" '
            f'data-verdict="{verdict.value}">'
            f'<div style="font-weight: bold; font-size: 1.1em">{escape(report.file)}: '
            f'<span style="color: {VERDICT_STYLES[verdict].colour}">chain '
            f"{escape(verdict.headline)}</span>"
            f'<span style="{_MUTED}; font-weight: normal"> — {count} '
            f'document{"" if count == 1 else "s"}; {root}; checked at '
            f"{report.checked_at:%Y-%m-%d %H:%M} UTC</span></div>"
            f'<div class="rmslab-chain-summary" style="{_MUTED}">'
            f"{escape(report.summary())}</div></div>")


def _check(passed: bool | None, text: str, unknown: str | None = None) -> str:
    """One check: ✓ passed, ✗ failed, – not checked, or ``unknown`` (e.g. ``?``) when
    nothing can say."""
    if passed is None:
        mark, colour, kind = (unknown, "#b26a00", "unknown") if unknown else ("–", "#666", "none")
    else:
        mark = "✓" if passed else "✗"
        colour = PASS_COLOUR if passed else FAIL_COLOUR
        kind = "pass" if passed else "fail"
    style = f' style="color: {FAIL_COLOUR}"' if passed is False else ""
    return (f'<li class="rmslab-check rmslab-check-{kind}"{style}>'
            f'<span style="color: {colour}; font-weight: bold">{mark}</span> {text}</li>')


def _link_check(result: DocumentReport, chain: Chain) -> str:
    if result.issuer_index is not None:
        issuer = chain[result.issuer_index]
        return _check(not any(e.code == "wrong-kind" for e in result.errors),
                      f"its issuer's key is certified by #{issuer.index}, the "
                      f"{escape(issuer.kind_name)}")
    if result.anchored:
        return _check(True, "its issuer's key is the pinned anchor")
    if any(e.code == "issuer-key-not-found" for e in result.errors):
        return _check(False, "no certificate in the chain holds its issuer's key, and it is "
                             "not the pinned anchor")
    if result.digest_matches is None and result.signature_valid is None:
        return _check(None, "no issuer to look for")
    return _check(None, f"{NOT_ANCHORED_LABEL}: its issuer is not in the chain (pin an "
                        f"anchor to check where the chain ends)", "?")


def _time_check(result: DocumentReport, chain: Chain, report: ChainReport) -> str:
    validity = chain[result.index].validity
    when = f"{report.checked_at:%Y-%m-%d %H:%M} UTC"
    failed = [e for e in result.errors if e.code in TIME_CODES]
    if failed:
        return _check(False, f"{escape(failed[0].message)}")
    if validity is None:
        return _check(True, f"no validity period: valid at any time, {when} included")
    return _check(True, f"valid at the time checked, {when}")


def _anchor_check(result: DocumentReport, report: ChainReport) -> str:
    if result.reaches_anchor:
        return _check(True, "its issuers lead to the pinned root")
    if report.anchor is None:
        return _check(None, f"{NOT_ANCHORED_LABEL}: nothing says who stands behind it", "?")
    return _check(None, "its issuers do not lead to the pinned root", "?")


def _digest_check(result: DocumentReport) -> str:
    if result.digest_matches is None:
        return _check(None, "no digest to check")
    if result.digest_matches:
        return _check(True, "the digest of the BODY, exactly as written, matches DIGEST/VALUE")
    if result.digest_matches_after_whitespace_recovery:
        recovered = not any(e.code == "digest-mismatch" for e in result.errors)
        return _check(recovered, "the digest matches only once whitespace between tags is "
                                 "removed (the copy was reformatted after signing)")
    return _check(False, "the digest of the BODY does not match DIGEST/VALUE")


def document_detail_html(chain: Chain, result: DocumentReport, report: ChainReport) -> str:
    """The HTML of the document of ``chain`` that ``result`` (one of ``report``'s) reports
    on: facts, checks, findings, outline and XML."""
    document = chain[result.index]
    validity = document.validity
    facts = [
        ("kind", f"{result.kind_name} ({result.kind})"),
        ("ID", result.id or "–"),
        ("issuer", result.issuer or "–"),
        ("subject", document.principals[0].label if document.principals else
         (document.content_id or "–")),
        ("signed with", f"{result.digest_algorithm or '?'}, RSA-{result.key_bits or '?'}"
                        f"{f' (mode {document.mode})' if document.mode else ''}"),
        ("valid", "–" if validity is None else
         f"{format_time(validity.not_before) if validity.not_before else '…'} to "
         f"{format_time(validity.not_after) if validity.not_after else '…'}"),
        ("signed text", f"the BODY, {len(document.body_text):,} characters"),
    ]
    rows = "".join(f'<tr><th style="text-align: left; padding-right: 1em; {_MUTED}">'
                   f"{escape(name)}</th><td>{escape(value)}</td></tr>" for name, value in facts)
    checks = [_digest_check(result),
              _check(result.signature_valid,
                     "the RSA signature is valid for the stated digest under the issuer's key"
                     if result.signature_valid is not False else
                     "the RSA signature is not valid for the stated digest under the "
                     "issuer's key"),
              _link_check(result, chain),
              _time_check(result, chain, report),
              _anchor_check(result, report)]
    findings = "".join(
        f'<li class="rmslab-finding" data-code="{escape(f.code)}" style="color: {FAIL_COLOUR}">'
        f"<code>{escape(f.code)}</code>: {escape(f.message)}</li>" for f in result.errors)
    notes = "".join(f'<li class="rmslab-note" style="{_MUTED}">{escape(n)}</li>'
                    for n in result.notes)
    xml = document_html(DocumentRef(f"the XML of #{document.index}", document.text,
                                    document.kind))
    return (
        f'<div class="rmslab-document-detail" data-index="{document.index}" '
        f'data-valid="{str(result.valid).lower()}" data-verdict="{result.verdict.value}" '
        f'style="margin-top: 0.4em">'
        f'<div style="font-weight: bold; font-size: 1.05em">#{document.index} '
        f"{escape(result.kind_name)} "
        f'<span style="color: {VERDICT_STYLES[result.verdict].colour}">'
        f"({escape(result.verdict.headline)})</span></div>"
        f'<table style="margin: 0.3em 0">{rows}</table>'
        f'<b>Checks</b><ul style="list-style: none; padding-left: 0.5em; margin: 0.2em 0">'
        f'{"".join(checks)}</ul>'
        + (f'<b>Findings</b><ul style="margin: 0.2em 0">{findings}</ul>' if findings else "")
        + (f'<ul style="margin: 0.2em 0">{notes}</ul>' if notes else "")
        + f'<details class="rmslab-outline"><summary>Outline</summary>'
          f'<pre style="font-size: smaller">{escape(outline(document))}</pre></details>'
        + xml + "</div>")
