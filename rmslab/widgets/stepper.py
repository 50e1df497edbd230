"""The Trace stepper: plays a :class:`~rmslab.trace.Trace` one step at a time
(docs/architecture.md "The Trace"; issue 3, item 4).

For each step it shows who acted towards whom and what they did, the keys used, the
documents that travelled (collapsible, syntax-highlighted XML) and the checks made —
each ✓ or ✗ with its SPEC ID and reason — and, when given a ``picture`` callable, the
picture of that step (graphviz, rendered inline as SVG by :func:`rmslab.viz.render`).

Thin by design (docs/architecture.md rule 1): it decides nothing. It only formats what the Trace
holds. The XML shown is an indented *display copy*; the :class:`DocumentRef` text —
the signed original — is never changed.

The text form Jupyter stores beside the widget (``text/plain``, compared by nbval) is
``<Stepper 'title': step i of n>``: no memory address, no model id.

Stable hooks for tests and styling: the box has the class ``rmslab-stepper``; inside
it ``rmslab-title``, ``rmslab-position``, ``rmslab-back`` and ``rmslab-next`` (the
buttons), ``rmslab-step`` (with ``data-step``, ``data-steps``, ``data-passed``),
``rmslab-message``, ``rmslab-keys``, ``rmslab-document`` (``data-kind``),
``rmslab-check`` with ``rmslab-check-pass`` or ``rmslab-check-fail`` (``data-spec-id``),
and ``rmslab-picture`` (``data-step``) holding the ``<svg>``.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any, Callable

import graphviz
import ipywidgets as widgets
from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import XmlLexer  # type: ignore[import-untyped]

from rmslab.errors import RmslabError
from rmslab.trace import Check, DocumentRef, Step, Trace
from rmslab.viz.render import Picture, inline_svg, render

__all__ = ["PictureFunction", "Stepper", "show"]

#: What draws the picture of a step: a graph (or a :class:`~rmslab.viz.Picture`), or
#: ``None`` for a step that has no picture.
PictureFunction = Callable[[Step], graphviz.Digraph | Picture | None]

#: The colours of a passed and a failed check (the chain viewer uses them too).
PASS_COLOUR = "#1a7f37"
FAIL_COLOUR = "#b00020"
_MUTED = "color: #666; font-size: smaller"

# Markup tokens for the indented display copy: comments, CDATA, processing
# instructions, declarations, tags (attribute values may hold ">"), and text.
_TOKEN = re.compile(r"""<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![^>]*>"""
                    r"""|</?[^\s<>/=]+(?:\s+[^\s<>/=]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>"""
                    r"""|[^<]+|<""", re.DOTALL)
_FORMATTER = HtmlFormatter(noclasses=True, style="default", wrapcode=True)
_LEXER = XmlLexer()


class Stepper(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Plays ``trace`` step by step, with Back and Next.

    ``picture``, when given, is called with each step shown and returns the graph to
    draw for it (for example the deployment with the step's actors highlighted), or
    ``None`` for no picture at that step.
    """

    def __init__(self, trace: Trace, picture: PictureFunction | None = None) -> None:
        super().__init__()
        self._trace = trace
        self._picture = picture
        self._index = 0
        self._svg_cache: dict[str, str] = {}

        self._title_view = widgets.HTML(
            value=f'<div class="rmslab-title" style="font-weight: bold; font-size: 1.15em">'
                  f"{escape(trace.title)}</div>")
        self._back_button = widgets.Button(description="◀ Back", tooltip="previous step")
        self._back_button.add_class("rmslab-back")
        self._back_button.on_click(lambda _button: self.back())
        self._next_button = widgets.Button(description="Next ▶", tooltip="next step")
        self._next_button.add_class("rmslab-next")
        self._next_button.on_click(lambda _button: self.next())
        self._position_view = widgets.HTML()
        self._step_view = widgets.HTML()
        self._picture_view = widgets.HTML()

        navigation = widgets.HBox([self._back_button, self._next_button,
                                   self._position_view])
        navigation.add_class("rmslab-navigation")
        children: list[Any] = [self._title_view, navigation, self._step_view]
        if picture is not None:
            children.append(self._picture_view)
        self.children = tuple(children)
        self.add_class("rmslab-stepper")
        self._show()

    # -- navigation ---------------------------------------------------------------

    @property
    def trace(self) -> Trace:
        """The trace being played."""
        return self._trace

    @property
    def index(self) -> int:
        """The step shown, counting from 0."""
        return self._index

    def go(self, index: int) -> None:
        """Show step ``index`` (from 0; negative counts from the end, as for lists)."""
        count = len(self._trace.steps)
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError(f"no step {index}: the trace {self._trace.title!r} has "
                             f"{count} step{'' if count == 1 else 's'}")
        self._index = position
        self._show()

    def next(self) -> None:
        """Show the next step (nothing happens at the last one)."""
        if self._index + 1 < len(self._trace.steps):
            self.go(self._index + 1)

    def back(self) -> None:
        """Show the previous step (nothing happens at the first one)."""
        if self._index > 0:
            self.go(self._index - 1)

    def __repr__(self) -> str:
        count = len(self._trace.steps)
        where = f"step {self._index + 1} of {count}" if count else "no steps"
        return f"<Stepper {self._trace.title!r}: {where}>"

    # -- display ------------------------------------------------------------------

    def _show(self) -> None:
        count = len(self._trace.steps)
        self._back_button.disabled = self._index <= 0
        self._next_button.disabled = self._index + 1 >= count
        if not count:
            self._position_view.value = '<span class="rmslab-position">No steps</span>'
            self._step_view.value = ('<div class="rmslab-step" data-step="0" data-steps="0">'
                                     "This trace has no steps.</div>")
            self._picture_view.value = ""
            return
        step = self._trace.steps[self._index]
        self._position_view.value = (
            f'<span class="rmslab-position" style="margin-left: 0.8em; line-height: 28px">'
            f"Step {self._index + 1} of {count}</span>")
        self._step_view.value = step_html(step, self._index + 1, count)
        if self._picture is not None:
            self._picture_view.value = self._picture_html(step)

    def _picture_html(self, step: Step) -> str:
        assert self._picture is not None
        drawn = self._picture(step)
        if drawn is None:
            return ""
        graph = drawn.graph if isinstance(drawn, Picture) else drawn
        source = str(graph.source)
        svg = self._svg_cache.get(source)
        if svg is None:
            try:
                svg = inline_svg(render(graph, "svg").decode("utf-8"))
            except RmslabError as error:
                return (f'<div class="rmslab-picture rmslab-picture-error" '
                        f'style="color: {FAIL_COLOUR}">picture not drawn: '
                        f"{escape(str(error))}</div>")
            self._svg_cache[source] = svg
        return (f'<div class="rmslab-picture" data-step="{self._index + 1}" '
                f'style="overflow-x: auto">{svg}</div>')


def show(trace: Trace, picture: PictureFunction | None = None) -> Stepper:
    """The stepper for ``trace``: the one call a notebook makes. Jupyter shows the
    stepper when it is the last value of a cell (keep it in a name to drive it with
    :meth:`Stepper.next`, :meth:`Stepper.back` and :meth:`Stepper.go`)."""
    return Stepper(trace, picture)


# -- HTML of one step (pure functions of the Trace) -------------------------------


def step_html(step: Step, number: int, count: int) -> str:
    """The HTML of one step: message, note, keys, documents and checks."""
    target = (f' → <span class="rmslab-target" style="font-weight: bold">'
              f"{escape(step.target)}</span>") if step.target else ""
    parts = [
        f'<div class="rmslab-step" data-step="{number}" data-steps="{count}" '
        f'data-passed="{str(step.passed).lower()}">',
        f'<div class="rmslab-message" style="font-size: 1.05em; margin: 0.3em 0">'
        f'<span class="rmslab-actor" style="font-weight: bold">{escape(step.actor)}</span>'
        f'{target}: <span class="rmslab-action">{escape(step.action)}</span></div>',
    ]
    if step.note:
        parts.append(f'<div class="rmslab-note" style="font-style: italic">'
                     f"{escape(step.note)}</div>")
    if step.keys:
        items = "".join(f"<li><code>{escape(key)}</code></li>" for key in step.keys)
        parts.append(f'<div class="rmslab-keys"><b>Keys</b><ul style="margin: 0.2em 0">'
                     f"{items}</ul></div>")
    if step.documents:
        parts.append('<div class="rmslab-documents"><b>Documents</b>')
        parts.extend(document_html(document) for document in step.documents)
        parts.append("</div>")
    if step.checks:
        items = "".join(check_html(check) for check in step.checks)
        parts.append(f'<div class="rmslab-checks"><b>Checks</b>'
                     f'<ul style="list-style: none; padding-left: 0.5em; margin: 0.2em 0">'
                     f"{items}</ul></div>")
    parts.append("</div>")
    return "".join(parts)


def check_html(check: Check) -> str:
    """One check: ✓ or ✗, what was checked, its SPEC ID and the reason."""
    kind = "pass" if check.passed else "fail"
    mark = "✓" if check.passed else "✗"
    colour = PASS_COLOUR if check.passed else FAIL_COLOUR
    text_style = "" if check.passed else f' style="color: {FAIL_COLOUR}"'
    spec = (f' <code class="rmslab-spec-id">[{escape(check.spec_id)}]</code>'
            if check.spec_id else "")
    reason = (f' — <span class="rmslab-reason">{escape(check.reason)}</span>'
              if check.reason else "")
    return (f'<li class="rmslab-check rmslab-check-{kind}" '
            f'data-spec-id="{escape(check.spec_id or "")}" data-passed="{str(check.passed).lower()}"'
            f"{text_style}>"
            f'<span style="color: {colour}; font-weight: bold">{mark}</span> '
            f"{escape(check.description)}{spec}{reason}</li>")


def document_html(document: DocumentRef) -> str:
    """One document, collapsed: its label, then its highlighted XML when opened."""
    kind = f" <small>({escape(document.kind)})</small>" if document.kind else ""
    shown, remark = display_copy(document.text)
    body = highlight(shown, _LEXER, _FORMATTER) if shown.lstrip().startswith("<") else (
        f"<pre>{escape(shown)}</pre>")
    return (f'<details class="rmslab-document" data-kind="{escape(document.kind or "")}" '
            f'style="margin: 0.2em 0">'
            f"<summary>{escape(document.label)}{kind}</summary>"
            f'<div class="rmslab-document-remark" style="{_MUTED}">{escape(remark)}</div>'
            f'<div style="max-height: 30em; overflow: auto">{body}</div></details>')


def display_copy(text: str) -> tuple[str, str]:
    """An indented copy of ``text`` to read, and a remark saying what it is.

    The copy differs from ``text`` only by line breaks and indentation between tags:
    every tag, attribute (in its order) and text stays as written. ``text`` itself is
    not changed; when it is not XML, or its markup cannot be followed, it is shown as
    written.
    """
    one_line = "\n" not in text.strip()
    indented = _indented(text)
    if indented is None or indented == text:
        where = "one line" if one_line else "as written"
        return text, f"Shown exactly as written ({where}, {len(text)} characters)."
    original = (f"the signed original is one line of {len(text)} characters" if one_line
                else f"the signed original ({len(text)} characters) is laid out otherwise")
    return indented, (f"Indented here for reading; {original}, and that exact text is what "
                      "the signature covers.")


def _indented(text: str) -> str | None:
    """``text`` with one tag per line, indented by depth; an element holding only text
    stays on one line. ``None`` when the markup cannot be followed."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != text or "<" in tokens or not text.lstrip().startswith("<"):
        return None
    lines: list[str] = []
    depth = 0
    tokens = [t for t in tokens if t.startswith("<") or t.strip()]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        pad = "  " * depth
        if token.startswith("</"):
            depth -= 1
            if depth < 0:
                return None
            lines.append("  " * depth + token)
        elif not token.startswith("<"):
            lines.append(pad + token.strip())
        elif token.startswith(("<?", "<!")) or token.endswith("/>"):
            lines.append(pad + token)
        elif i + 1 < len(tokens) and tokens[i + 1].startswith("</"):
            lines.append(pad + token + tokens[i + 1])  # <A></A>
            i += 1
        elif (i + 2 < len(tokens) and not tokens[i + 1].startswith("<")
              and tokens[i + 2].startswith("</")):
            lines.append(pad + token + tokens[i + 1] + tokens[i + 2])  # <A>text</A>
            i += 2
        else:
            lines.append(pad + token)
            depth += 1
        i += 1
    return "\n".join(lines) if depth == 0 else None
