"""Widgets a student can change (issue 15), thin over the package:

- :class:`BodyEditor` (:func:`edit_body`): a document's BODY in a text box; every edit
  re-runs every check of the chain (:func:`rmslab.report.examine`) — digest, signature,
  link, the chain's verdict — and the changed characters are highlighted
  (:func:`rmslab.teaching.changed_spans`).
- :class:`LabClock` (:func:`lab_clock`): a clock slider, in hours from a start; each move
  reads every :class:`~rmslab.clock.Watch` again — chains' validity, a temporary RAC, a
  revocation list's freshness.
- :class:`BindingExplorer` (:func:`explore_binding`): pick the user, the application and
  the right; binding (:func:`rmslab.flows.binding.explain_binding`) decides, and the
  picture of the use license's chain says so (:func:`rmslab.viz.lessons.binding_picture`).

Stable hooks for tests: ``rmslab-body-editor`` (``rmslab-body-text``,
``rmslab-edit-verdict`` with ``data-verdict``, ``rmslab-edit-check`` with ``data-check``
and ``rmslab-check-pass``/``-fail``/``-none``, ``rmslab-changed``); ``rmslab-lab-clock``
(``rmslab-clock-slider``, ``rmslab-clock-time``, ``rmslab-reading`` with ``data-label``,
``data-ok`` and ``data-state``); ``rmslab-binding-explorer`` (``rmslab-binding-user``,
``rmslab-binding-application``, ``rmslab-binding-right``, ``rmslab-binding-verdict``
with ``data-allowed`` and ``data-rule``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any, Sequence

import ipywidgets as widgets

from rmslab.clock import Watch, read_all
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import RmslabError
from rmslab.report import examine
from rmslab.teaching import changed_spans, with_body
from rmslab.viz.chain import VERDICT_STYLES
from rmslab.viz.render import inline_svg, render
from rmslab.widgets.stepper import FAIL_COLOUR, PASS_COLOUR
from rmslab.xrml.reader import Chain

__all__ = ["BodyEditor", "edit_body", "LabClock", "lab_clock", "BindingExplorer",
           "explore_binding"]

_MUTED = "color: #666"


def _mark(passed: bool | None) -> tuple[str, str, str]:
    if passed is None:
        return "–", "#666", "none"
    return ("✓", PASS_COLOUR, "pass") if passed else ("✗", FAIL_COLOUR, "fail")


def _picture(graph: Any) -> str:
    try:
        return inline_svg(render(graph, "svg").decode("utf-8"))
    except RmslabError as error:
        return f'<span style="color: {FAIL_COLOUR}">picture not drawn: {escape(str(error))}</span>'


# --- the BODY editor ---------------------------------------------------------------------


class BodyEditor(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Document ``index`` of ``chain`` with its BODY editable; every check re-run on
    every edit, at ``at`` against ``anchor``."""

    def __init__(self, chain: Chain, index: int, *, anchor: PublicKey | None,
                 at: datetime) -> None:
        super().__init__()
        self._chain, self._index, self._anchor, self._at = chain, index, anchor, at
        self._original = chain[index].body_text
        self.text = widgets.Textarea(value=self._original, continuous_update=False,
                                     layout=widgets.Layout(width="100%", height="9em"))
        self.text.add_class("rmslab-body-text")
        self._result = widgets.HTML()
        self.text.observe(lambda _change: self._show(), names="value")
        self.children = (widgets.HTML(
            f'<b>The BODY of #{index}, {escape(chain[index].kind_name)}</b> '
            f'<span style="{_MUTED}">— change it and leave the box: every check runs '
            f"again</span>"), self.text, self._result)
        self.add_class("rmslab-body-editor")
        self._show()

    @property
    def edited(self) -> Chain | None:
        """The chain with the edited BODY, or None when the edit cannot be read."""
        try:
            return with_body(self._chain, self._index, self.text.value)
        except RmslabError:
            return None

    def _show(self) -> None:
        body = self.text.value
        try:
            chain = with_body(self._chain, self._index, body)
        except RmslabError as error:
            self._result.value = (
                f'<div class="rmslab-edit-verdict" data-verdict="unreadable" '
                f'style="color: {FAIL_COLOUR}; font-weight: bold">the edited text is not a '
                f"chain any more: {escape(str(error))}</div>{self._diff(body)}")
            return
        report = examine(chain, anchor=self._anchor, at=self._at)
        verdict = report.verdict
        colour = VERDICT_STYLES[verdict].colour
        result = report.documents[self._index]
        codes = {e.code for e in result.errors}
        link = (False if codes & {"wrong-kind", "issuer-key-not-found"} else
                True if result.issuer_index is not None or result.anchored else None)
        checks = [("digest", result.digest_matches, "the digest of the BODY matches DIGEST/VALUE"),
                  ("signature", result.signature_valid,
                   "the RSA signature is valid for the stated digest"),
                  ("link", link, "its issuer's key is certified by the next certificate")]
        items = []
        for name, passed, text in checks:
            mark, mark_colour, kind = _mark(passed)
            items.append(f'<li class="rmslab-edit-check rmslab-check-{kind}" data-check="{name}">'
                         f'<span style="color: {mark_colour}; font-weight: bold">{mark}</span> '
                         f"{escape(text)}</li>")
        findings = "".join(f"<li><code>{escape(e.code)}</code>: {escape(e.message)}</li>"
                           for d in report.documents for e in d.errors)
        self._result.value = (
            f'<div class="rmslab-edit-verdict" data-verdict="{verdict.value}" '
            f'style="font-weight: bold; color: {colour}">chain {escape(verdict.headline)}</div>'
            f'<ul style="list-style: none; padding-left: 0.5em; margin: 0.2em 0">'
            f'{"".join(items)}</ul>'
            + (f'<ul style="color: {FAIL_COLOUR}">{findings}</ul>' if findings else "")
            + self._diff(body))

    def _diff(self, body: str) -> str:
        """The edited BODY around each change (40 characters either side), the changed
        characters marked; a deletion is marked ⌫ where the characters were."""
        spans = changed_spans(self._original, body)
        if not spans:
            return f'<div style="{_MUTED}">no character changed</div>'
        parts: list[str] = []
        last = 0
        for start, end in spans:
            gap = body[last:start]
            if len(gap) > 80 or (last == 0 and len(gap) > 40):
                head = "" if last == 0 else escape(gap[:40])
                gap_text = f"{head}…{escape(gap[-40:])}"
            else:
                gap_text = escape(gap)
            parts.append(gap_text)
            parts.append(f'<mark class="rmslab-changed" style="background: #ffcdd2">'
                         f'{escape(body[start:end]) or "⌫"}</mark>')
            last = end
        tail = body[last:]
        parts.append(escape(tail[:40]) + ("…" if len(tail) > 40 else ""))
        count = sum(max(end - start, 1) for start, end in spans)
        return (f'<div style="{_MUTED}">changed: {count} character{"" if count == 1 else "s"}'
                f'</div><pre style="white-space: pre-wrap">{"".join(parts)}</pre>')

    def __repr__(self) -> str:
        return f"<BodyEditor #{self._index} of {self._chain.source!r}>"


def edit_body(chain: Chain, index: int, *, anchor: PublicKey | None, at: datetime) -> BodyEditor:
    """The BODY editor for document ``index`` of ``chain``: the one call a notebook makes."""
    return BodyEditor(chain, index, anchor=anchor, at=at)


# --- the lab clock -----------------------------------------------------------------------


class LabClock(widgets.VBox):  # type: ignore[misc]
    """A clock slider from ``start``, in hours, up to ``hours``; each move reads every
    watch at the moment chosen."""

    def __init__(self, watches: Sequence[Watch], *, start: datetime, hours: int) -> None:
        super().__init__()
        self._watches, self._start = list(watches), start
        self.slider = widgets.IntSlider(value=0, min=0, max=hours, step=1,
                                        description="hours later", continuous_update=False,
                                        layout=widgets.Layout(width="100%"))
        self.slider.add_class("rmslab-clock-slider")
        self._view = widgets.HTML()
        self.slider.observe(lambda _change: self._show(), names="value")
        self.children = (self.slider, self._view)
        self.add_class("rmslab-lab-clock")
        self._show()

    @property
    def moment(self) -> datetime:
        return self._start + timedelta(hours=self.slider.value)

    def _show(self) -> None:
        at = self.moment
        rows = []
        for reading in read_all(self._watches, at):
            mark, colour, _kind = _mark(reading.ok)
            rows.append(
                f'<tr class="rmslab-reading" data-label="{escape(reading.label)}" '
                f'data-ok="{str(reading.ok).lower()}" data-state="{escape(reading.state)}">'
                f'<td style="color: {colour}; font-weight: bold">{mark}</td>'
                f"<td>{escape(reading.label)}</td>"
                f'<td style="color: {colour}">{escape(reading.state)}</td>'
                f'<td style="{_MUTED}">{escape(reading.reason)}</td></tr>')
        self._view.value = (f'<div class="rmslab-clock-time" style="font-weight: bold">'
                            f"lab clock: {at:%Y-%m-%d %H:%M} UTC</div>"
                            f'<table>{"".join(rows)}</table>')

    def __repr__(self) -> str:
        return f"<LabClock {len(self._watches)} watches from {self._start:%Y-%m-%d %H:%M} UTC>"


def lab_clock(watches: Sequence[Watch], *, start: datetime, hours: int = 24 * 400) -> LabClock:
    """The clock slider over ``watches``: the one call a notebook makes."""
    return LabClock(watches, start=start, hours=hours)


# --- binding, chosen --------------------------------------------------------------------


class BindingExplorer(widgets.VBox):  # type: ignore[misc]
    """Pick a user, an application and a right; binding decides for the content whose
    publishing license chain is ``license_chain``."""

    def __init__(self, deployment: Any, license_chain: str, *, anchor: PublicKey,
                 users: Sequence[str], applications: Sequence[str],
                 rights: Sequence[str]) -> None:
        super().__init__()
        self._deployment, self._chain, self._anchor = deployment, license_chain, anchor
        self.user = widgets.Dropdown(options=list(users), description="user")
        self.application = widgets.Dropdown(options=list(applications),
                                             description="application")
        self.right = widgets.Dropdown(options=list(rights), description="right")
        for name, dropdown in (("user", self.user), ("application", self.application),
                               ("right", self.right)):
            dropdown.add_class(f"rmslab-binding-{name}")
            dropdown.observe(lambda _change: self._show(), names="value")
        self._view = widgets.HTML()
        self.children = (widgets.HBox([self.user, self.application, self.right]), self._view)
        self.add_class("rmslab-binding-explorer")
        self._show()

    def _client(self, user: str) -> Any:
        return next((c for c in self._deployment.clients.values() if user in c.accounts), None)

    def _show(self) -> None:
        from rmslab.flows.binding import AppSession, explain_binding
        from rmslab.viz.lessons import binding_picture
        user = self._deployment.user(self.user.value)
        client = self._client(self.user.value)
        if client is None:
            self._view.value = (f'<div class="rmslab-binding-verdict" data-allowed="false" '
                                f'data-rule="B-2">{escape(user.email)} has no computer with a '
                                "rights account certificate</div>")
            return
        session = AppSession(client, user, self.application.value, web=self._deployment.web)
        binding = explain_binding(session, self._chain, self.right.value, anchor=self._anchor)
        failed = binding.failed
        colour = PASS_COLOUR if binding.allowed else FAIL_COLOUR
        words = ("allowed: the content key is released" if failed is None else
                 f"refused [{failed.spec_id}]: {failed.description}"
                 + (f" — {failed.reason}" if failed.reason else ""))
        checks = "".join(
            f'<li class="rmslab-check rmslab-check-{"pass" if c.passed else "fail"}" '
            f'style="color: {PASS_COLOUR if c.passed else FAIL_COLOUR}">{escape(str(c))}</li>'
            for c in binding.checks)
        try:
            picture = _picture(binding_picture(session, self._chain, anchor=self._anchor,
                                               binding=binding))
        except RmslabError as error:  # no use license in the store: nothing to draw
            picture = f'<span style="{_MUTED}">{escape(str(error))}</span>'
        self._view.value = (
            f'<div class="rmslab-binding-verdict" data-allowed="{str(binding.allowed).lower()}" '
            f'data-rule="{escape(failed.spec_id or "") if failed else ""}" '
            f'style="font-weight: bold; color: {colour}">{escape(self.application.value)} asks '
            f"to {escape(binding.right)} as {escape(user.email)} on {escape(client.name)}: "
            f"{escape(words)}</div>"
            f'<details><summary>every check</summary><ul style="list-style: none">{checks}'
            f"</ul></details>"
            f'<div class="rmslab-picture" style="overflow-x: auto">{picture}</div>')

    def __repr__(self) -> str:
        return (f"<BindingExplorer {self.user.value} / {self.application.value} / "
                f"{self.right.value}>")


def explore_binding(deployment: Any, license_chain: str, *, anchor: PublicKey,
                    users: Sequence[str] = ("bob", "carol", "alice"),
                    applications: Sequence[str] = ("Word", "Viewer"),
                    rights: Sequence[str] = ("VIEW", "EDIT", "PRINT")) -> BindingExplorer:
    """The binding explorer: the one call a notebook makes."""
    return BindingExplorer(deployment, license_chain, anchor=anchor, users=users,
                           applications=applications, rights=rights)
