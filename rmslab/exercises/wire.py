"""Exercises of notebook 10, on the wire (SPEC L-1, E-8; MS-RMPR 2.1, 2.2.4.1, 3.1.4.5,
3.4.4.1): read a licensing round trip as it travelled. Each checker works the answer out
from a round trip captured again from the lab's server
(:func:`rmslab.service.capture.capture_licensing`)."""

from __future__ import annotations

import functools
from typing import Any

from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.service.capture import LicensingCapture, capture_licensing

__all__: list[str] = []

NOTEBOOK = "10_on_the_wire"


@functools.lru_cache(maxsize=1)
def _captured() -> LicensingCapture:
    return capture_licensing()


@register("10.1", NOTEBOOK, Kind.READ,
          "Read it from the message: the URL says which service, but which HTTP header of "
          "the request names the operation the client asks for?",
          "a str: the header's name")
def _operation_header(answer: Any) -> Judgement:
    request = _captured().granted.request
    operation = request.envelope().operation
    truth = next(name for name, value in request.headers
                 if value.strip('"').endswith("/" + operation))
    if not isinstance(answer, str) or not answer.strip():
        return hint("answer with the name of one header of the request, as a str")
    if answer.strip().rstrip(":").lower() == truth.lower():
        return correct(f"{truth}: the WSDL binding's soapAction, the service's namespace and "
                       "the operation — the server checks it against the body's element")
    if request.header(answer.strip().rstrip(":")) is None:
        return hint("that header is not in the request: look at the lines between the "
                    "request line and the empty line")
    return hint("that header is in the request, but its value names no operation: which "
                "value ends with the name of the body's element?")


@register("10.2", NOTEBOOK, Kind.PREDICT,
          "Predict: Carol, whom the publishing license grants nothing, asks for a use "
          "license. With which exception name does the server's faultstring start?",
          "a str: the exception's name, e.g. 'SomethingException' (with or without its "
          "namespace)")
def _fault_name(answer: Any) -> Judgement:
    truth = _captured().refused.response.fault_exception()
    assert truth is not None
    if not isinstance(answer, str) or not answer.strip().endswith("Exception"):
        return hint("MS-RMPR names every refusal after a .NET exception: the name ends in "
                    "'Exception'")
    if answer.strip().rsplit(".", 1)[-1] == truth:
        return correct(f"{truth}: the table of MS-RMPR 3.4.4.1 names it; rmslab adds why, and "
                       "its rule [L-1], after the name")
    return hint("the server read the request and the chains verified: what is wrong is "
                "what the license grants to whom — look for that in the table of exceptions "
                "of MS-RMPR 3.4.4.1 (AcquireLicense)")


@register("10.3", NOTEBOOK, Kind.READ,
          "Count: how many XrML documents travel in Bob's request, and how many in the "
          "answer he gets?",
          "a tuple of two ints: (in the request, in the response)")
def _documents(answer: Any) -> Judgement:
    captured = _captured()
    truth = (len(captured.granted.request.documents()),
             len(captured.granted.response.documents()))
    if not isinstance(answer, tuple) or len(answer) != 2 or \
            not all(isinstance(n, int) for n in answer):
        return hint("answer with a pair of ints: (request, response)")
    if answer == truth:
        return correct(f"{truth[0]} and {truth[1]}: the RAC's chain and the publishing "
                       "license's chain go out, each ending at the root's CA certificates; the "
                       "use license comes back with the chain that vouches for it — every one "
                       "spliced in as written (MS-RMPR 2.2.4.1)")
    right = [a == t for a, t in zip(answer, truth)]
    if right[0] and not right[1]:
        return hint("the request is right; count the Certificate elements of the answer's "
                    "CertificateChain")
    if right[1] and not right[0]:
        return hint("the response is right; the request carries two chains — count both, "
                    "each to its root")
    return hint("count the <XrML>…</XrML> lines, each in its own Certificate element")
