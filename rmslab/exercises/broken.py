"""Exercises of notebook 09, broken on purpose (SPEC A-1): what a missing root changes,
a reformatted copy repaired, and what the reader refuses."""

from __future__ import annotations

from typing import Any

from rmslab.broken import broken_samples, check, sample
from rmslab.errors import InputError
from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.lab import Lab
from rmslab.report import Verdict, examine
from rmslab.samples import teaching_chain
from rmslab.xrml.reader import Chain, read_chain

__all__: list[str] = []

NOTEBOOK = "09_broken_on_purpose"
VERDICTS = tuple(v.value for v in Verdict)


@register("09.1", NOTEBOOK, Kind.PREDICT,
          "Predict: signed-by-a-stranger.xml checked without a pinned root "
          "(check(name, anchored=False)). Which verdict does the chain get? One of: "
          f"{', '.join(VERDICTS)}.",
          "a str: a verdict")
def _stranger_unanchored(answer: Any) -> Judgement:
    truth = check("signed-by-a-stranger.xml", anchored=False).verdict.value
    if answer not in VERDICTS:
        return hint(f"answer one of {', '.join(VERDICTS)}")
    if answer == truth:
        return correct("unanchored: without a pinned root, every chain ends at a key that no "
                       "certificate in the file holds — the stranger's key looks like any "
                       "root. Only a pinned root tells them apart (section 6)")
    if answer == "invalid":
        return hint("with the root pinned, the stranger's key was caught because it is not "
                    "the pinned root; without one, where does any chain end?")
    return hint("nothing here depends on the time: compare what sections 4 and 6 say a "
                "pinned root settles")


@register("09.2", NOTEBOOK, Kind.REPAIR,
          "Repair reformatted.xml so that it is valid and anchored without "
          "--recover-whitespace: give the repaired chain.",
          "a Chain (read_chain(text) or tamper(...) returns one)")
def _reformatted(answer: Any) -> Judgement:
    if not isinstance(answer, Chain):
        return hint("give a Chain: read_chain(text, source=…) returns one")
    lab = Lab()
    report = examine(answer, anchor=teaching_chain(lab).anchor, at=lab.now())
    original = read_chain(sample("reformatted.xml").data)
    if [d.id for d in answer] != [d.id for d in original]:
        return hint("repair the sample's own documents, in their order")
    if report.verdict is Verdict.VALID:
        return correct("without the whitespace between its tags, the BODY is again the "
                       "characters that were signed")
    failed = [f"#{d.index} {e.code}" for d in report.documents for e in d.errors]
    return hint(f"examine still finds {', '.join(failed) or report.verdict.value}: what did "
                "the pretty-printer add between the tags of the BODY, and nowhere else?")


@register("09.3", NOTEBOOK, Kind.READ,
          "Read the samples: which of them does the reader refuse before anything is verified "
          "(rmslab verify exits with status 2)? Give their file names.",
          "a set of str: file names such as 'intact.xml'")
def _refused(answer: Any) -> Judgement:
    truth = {s.name for s in broken_samples() if any(run.exit == 2 for run in s.runs)}
    if not isinstance(answer, (set, list, tuple)) or not all(isinstance(n, str) for n in answer):
        return hint("give a set of file names")
    given = set(answer)
    unknown = given - {s.name for s in broken_samples()}
    if unknown:
        return hint(f"{len(unknown)} name(s) are not samples: use the names broken_samples() "
                    "lists")
    if given == truth:
        return correct("a moved SIGNATURE, a second BODY, a declared DTD and a cut container "
                       "are not well-formed envelopes: refused with their reason, status 2")
    missing, extra = len(truth - given), len(given - truth)
    if extra:
        return hint(f"{extra} of these are read, then fail a check (status 1, 5 or 6): the "
                    "reader refuses only what is not a well-formed envelope")
    return hint(f"{missing} more: try each with attempt(check, name) and look for a refusal "
                "(an InputError)")

