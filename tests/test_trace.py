"""The Trace records steps and checks with SPEC IDs."""

from rmslab.trace import DocumentRef, Trace


def test_steps_and_checks() -> None:
    trace = Trace("example")
    trace.step("client", "sends a request", "server",
               documents=[DocumentRef("request", "<XrML/>", "Request")], keys=["k1"])
    trace.check("E-8", "request logged", True, "row 1")
    trace.step("server", "answers", "client")
    trace.check("S-5", "request unchanged", False, "digest differs")
    assert len(trace) == 2 and not trace.passed
    assert [c.spec_id for c in trace.failed_checks] == ["S-5"]
    text = trace.to_text()
    assert "client → server: sends a request" in text and "✗ request unchanged [S-5]" in text
    assert trace.to_json()["steps"][0]["documents"] == [{"label": "request", "kind": "Request"}]
    assert repr(trace) == "<Trace 'example': 2 steps, 2 checks, 1 failed>"


def test_check_without_step_opens_one() -> None:
    trace = Trace("lonely")
    trace.check(None, "something", True)
    assert trace[0].actor == "rmslab" and trace.passed
