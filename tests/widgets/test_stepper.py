"""The Trace stepper (rmslab.widgets), without a browser: navigation, the buttons at
the ends, what each step's HTML holds, the picture, and the text Jupyter stores."""

from __future__ import annotations

import re
from typing import Any

import graphviz
import pytest

import rmslab.widgets.stepper as stepper_module
from rmslab.errors import RmslabError
from rmslab.trace import DocumentRef, Step, Trace
from rmslab.viz import Picture
from rmslab.widgets import Stepper, show

SIGNED = ('<XrML version="1.2" xmlns=""><BODY type="Server-Licensor-Certificate">'
          '<ISSUEDTIME>2024-01-01T00:00</ISSUEDTIME><NAME>CN=cluster &amp; co</NAME>'
          '<EMPTY/></BODY><SIGNATURE><DIGEST><VALUE encoding="base64">QUJD</VALUE>'
          "</DIGEST></SIGNATURE></XrML>")


def enrollment_trace() -> Trace:
    trace = Trace("Enrolling a root cluster")
    trace.step("Cluster", "sends its enrollment request", "Enrollment service",
               documents=[DocumentRef("enrollment request", SIGNED, "request")],
               keys=["server key (proof of possession)"])
    trace.check("E-4", "the request carries exactly the E-4 fields", True, "all present")
    trace.step("Enrollment service", "checks the request and issues the SLC", "Cluster",
               keys=["enrollment CA key"], note="the SLC <chain> goes back")
    trace.check("E-5", "the request signature verifies", True)
    trace.check("E-9", "the submitter is trusted", False,
                "signed by CN=evil, who is <not> named")
    trace.check(None, "the response is well-formed", True)
    trace.step("Cluster", "imports the response")
    return trace


def picture_of(step: Step) -> graphviz.Digraph:
    graph = graphviz.Digraph("deployment")
    graph.node("cluster", "Cluster", style="filled",
               fillcolor="gold" if step.actor == "Cluster" else "white")
    graph.node("es", "Enrollment service")
    graph.edge("cluster", "es")
    return graph


def button(stepper: Stepper, css_class: str) -> Any:
    """A button found by the CSS class the browser test uses too."""
    found = [child for box in stepper.children for child in getattr(box, "children", ())
             if css_class in child._dom_classes]
    assert len(found) == 1, css_class
    return found[0]


def html_of(widget: Any) -> str:
    """All the HTML the widget and its children hold, in order."""
    return str(getattr(widget, "value", "")) + "".join(
        html_of(child) for child in getattr(widget, "children", ()))


# -- navigation ----------------------------------------------------------------------


def test_starts_at_the_first_step() -> None:
    stepper = Stepper(enrollment_trace())
    assert stepper.index == 0
    assert "Step 1 of 3" in html_of(stepper)
    assert 'data-step="1"' in html_of(stepper)


def test_next_back_and_go() -> None:
    stepper = Stepper(enrollment_trace())
    stepper.next()
    assert stepper.index == 1 and "Step 2 of 3" in html_of(stepper)
    stepper.next()
    assert stepper.index == 2
    stepper.next()  # at the last step: stays
    assert stepper.index == 2
    stepper.back()
    stepper.back()
    stepper.back()  # at the first step: stays
    assert stepper.index == 0
    stepper.go(2)
    assert stepper.index == 2 and "Step 3 of 3" in html_of(stepper)
    stepper.go(-2)
    assert stepper.index == 1


@pytest.mark.parametrize("index", [3, -4, 100])
def test_go_out_of_range_names_the_trace(index: int) -> None:
    stepper = Stepper(enrollment_trace())
    with pytest.raises(IndexError, match="has 3 steps"):
        stepper.go(index)
    assert stepper.index == 0


def test_buttons_are_disabled_at_the_ends_and_navigate_when_clicked() -> None:
    stepper = Stepper(enrollment_trace())
    back, next_ = button(stepper, "rmslab-back"), button(stepper, "rmslab-next")
    assert back.disabled and not next_.disabled
    next_.click()
    assert stepper.index == 1
    assert not back.disabled and not next_.disabled
    next_.click()
    assert stepper.index == 2
    assert not back.disabled and next_.disabled
    back.click()
    assert stepper.index == 1


def test_a_trace_with_one_step_disables_both_buttons() -> None:
    trace = Trace("one")
    trace.step("A", "acts")
    stepper = Stepper(trace)
    assert button(stepper, "rmslab-back").disabled and button(stepper, "rmslab-next").disabled


def test_an_empty_trace_says_so() -> None:
    stepper = Stepper(Trace("nothing happened"))
    assert "no steps" in html_of(stepper)
    assert button(stepper, "rmslab-back").disabled and button(stepper, "rmslab-next").disabled
    assert repr(stepper) == "<Stepper 'nothing happened': no steps>"
    with pytest.raises(IndexError, match="has 0 steps"):
        stepper.go(0)


# -- what a step shows ---------------------------------------------------------------


def test_the_title_actor_target_action_and_keys_are_shown() -> None:
    html = html_of(Stepper(enrollment_trace()))
    assert "Enrolling a root cluster" in html and "rmslab-title" in html
    assert 'class="rmslab-actor"' in html and ">Cluster</span>" in html
    assert ">Enrollment service</span>" in html
    assert "sends its enrollment request" in html
    assert "server key (proof of possession)" in html and "rmslab-keys" in html


def test_checks_show_mark_spec_id_and_reason_and_failures_are_red() -> None:
    stepper = Stepper(enrollment_trace())
    stepper.next()
    html = html_of(stepper)
    passes = re.findall(r'<li class="rmslab-check rmslab-check-pass"[^>]*>', html)
    fails = re.findall(r'<li class="rmslab-check rmslab-check-fail"[^>]*>', html)
    assert len(passes) == 2 and len(fails) == 1
    assert 'data-spec-id="E-9"' in fails[0] and "color: #b00020" in fails[0]
    assert "✗" in html and "✓" in html
    assert "[E-5]" in html and "[E-9]" in html
    # Trace text is escaped, never taken as markup.
    assert "signed by CN=evil, who is &lt;not&gt; named" in html
    assert "the SLC &lt;chain&gt; goes back" in html
    assert 'data-passed="false"' in html


def test_documents_are_collapsible_and_highlighted_and_never_changed() -> None:
    trace = enrollment_trace()
    html = html_of(Stepper(trace))
    assert '<details class="rmslab-document" data-kind="request"' in html
    assert "<summary>enrollment request <small>(request)</small></summary>" in html
    assert "style=" in html and 'class="highlight"' in html  # pygments, inline styles
    assert "the signed original is one line of" in html
    assert trace.steps[0].documents[0].text == SIGNED


def test_the_display_copy_only_adds_line_breaks_and_indentation() -> None:
    shown, remark = stepper_module.display_copy(SIGNED)
    assert shown != SIGNED and shown.count("\n") > 5
    assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", SIGNED)
    assert "<NAME>CN=cluster &amp; co</NAME>" in shown
    assert str(len(SIGNED)) in remark and "one line" in remark


@pytest.mark.parametrize("text", ["not XML at all", "<a><b>x</a>", "<a>", "a < b"])
def test_text_that_cannot_be_indented_is_shown_as_written(text: str) -> None:
    shown, remark = stepper_module.display_copy(text)
    assert shown == text and "exactly as written" in remark
    html = stepper_module.document_html(DocumentRef("odd", text))
    assert "&lt;" in html or "<" not in text


# -- the picture ---------------------------------------------------------------------


def test_the_picture_of_each_step_is_inline_svg() -> None:
    stepper = Stepper(enrollment_trace(), picture=picture_of)
    html = html_of(stepper)
    assert '<div class="rmslab-picture" data-step="1"' in html
    picture_html = html[html.index('class="rmslab-picture"'):]
    assert "<svg" in picture_html and "<?xml" not in picture_html
    assert "<!DOCTYPE" not in picture_html
    assert "fill=\"gold\"" in picture_html
    stepper.next()
    assert '<div class="rmslab-picture" data-step="2"' in html_of(stepper)
    assert "fill=\"gold\"" not in html_of(stepper)


def test_without_a_picture_there_is_no_picture_view() -> None:
    stepper = Stepper(enrollment_trace())
    assert "rmslab-picture" not in html_of(stepper)
    assert len(stepper.children) == 3


def test_a_step_without_a_picture_and_a_picture_object() -> None:
    stepper = Stepper(enrollment_trace(),
                      picture=lambda step: None if step.target is None else Picture(picture_of(step)))
    assert "<svg" in html_of(stepper)
    stepper.go(2)
    assert "rmslab-picture" not in html_of(stepper)


def test_each_distinct_picture_is_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = stepper_module.render

    def counting(graph: graphviz.Digraph, fmt: str = "svg") -> bytes:
        calls.append(graph.source)
        return real(graph, fmt)

    monkeypatch.setattr(stepper_module, "render", counting)
    stepper = Stepper(enrollment_trace(), picture=picture_of)
    stepper.next()
    stepper.back()
    stepper.next()
    assert len(calls) == 2  # step 1 (gold) and step 2 (white); then from the cache


def test_a_picture_that_cannot_be_drawn_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(graph: graphviz.Digraph, fmt: str = "svg") -> bytes:
        raise RmslabError("dot failed: lost edge")

    monkeypatch.setattr(stepper_module, "render", failing)
    html = html_of(Stepper(enrollment_trace(), picture=picture_of))
    assert "rmslab-picture-error" in html and "dot failed: lost edge" in html


# -- what Jupyter stores (nbval compares it) ------------------------------------------


def test_the_text_repr_is_short_and_the_same_on_every_run() -> None:
    first, second = Stepper(enrollment_trace(), picture_of), Stepper(enrollment_trace())
    bundle = first._repr_mimebundle_()
    assert bundle["text/plain"] == "<Stepper 'Enrolling a root cluster': step 1 of 3>"
    assert second._repr_mimebundle_()["text/plain"] == bundle["text/plain"]
    assert "0x" not in bundle["text/plain"]
    assert first.model_id not in bundle["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    first.next()
    assert repr(first) == "<Stepper 'Enrolling a root cluster': step 2 of 3>"


def test_show_returns_a_stepper_on_the_first_step() -> None:
    trace = enrollment_trace()
    stepper = show(trace, picture_of)
    assert isinstance(stepper, Stepper) and stepper.trace is trace and stepper.index == 0
    assert "rmslab-stepper" in stepper._dom_classes
