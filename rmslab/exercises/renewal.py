"""Exercises of notebook 04, renewing the SLC (SPEC S-1…S-6): what a renewal keeps, and
why what the cluster issued before still verifies."""

from __future__ import annotations

from typing import Any

from rmslab.exercises._core import Judgement, Kind, correct, hint, register
from rmslab.exercises._scenes import standard
from rmslab.flows import renew_slc_online
from rmslab.xrml import parse

__all__: list[str] = []

NOTEBOOK = "04_slc_renewal"


def _renewed() -> tuple[Any, Any, Any]:
    """The standard deployment 300 days on, renewed online: the first SLC, the renewed
    one, and Alice's CLC (issued before the renewal)."""
    d = standard()
    root = d.root_cluster
    d.lab.advance(days=300)
    renew_slc_online(d.enrollment_service, root, root.first_server, by=d.user("rmsadmin"),
                     directory=d.directory)
    first = parse(root.previous_slcs[0])[0]
    clc = d.clients["ALICE-PC"].account("alice").clc
    return first, root.slc, clc


@register("04.1", NOTEBOOK, Kind.PREDICT,
          "Predict: after an online renewal, does the cluster sign with the same key as "
          "before or a new one?",
          "a str: 'same' or 'new'")
def _same_key(answer: Any) -> Judgement:
    first, renewed, _clc = _renewed()
    truth = "same" if first.subject.public_key == renewed.subject.public_key else "new"
    if answer not in ("same", "new"):
        return hint("answer 'same' or 'new'")
    if answer == truth:
        return correct("the same key: renewal asks for a new SLC for the same cluster key, so "
                       "the cluster keeps its identity (S-2, section 2)")
    return hint("compare the key in the first SLC's ISSUEDPRINCIPALS with the renewed one's: "
                "what does renewal ask the enrollment service to certify?")


@register("04.2", NOTEBOOK, Kind.FIND,
          "Find the certificate: Alice's CLC was signed before the renewal. Which SLC "
          "certifies the key that signed it — 'first', 'renewed' or 'both'?",
          "a str: 'first', 'renewed' or 'both'")
def _which_slc(answer: Any) -> Judgement:
    first, renewed, clc = _renewed()
    by = {name for name, slc in (("first", first), ("renewed", renewed))
          if slc.certifies(clc.issuer_key)}
    truth = "both" if len(by) == 2 else next(iter(by))
    if answer not in ("first", "renewed", "both"):
        return hint("answer 'first', 'renewed' or 'both'")
    if answer == truth:
        return correct("both: they certify the same cluster key, so what the cluster signed "
                       "before the renewal still verifies with the renewed SLC (section 7)")
    return hint("use slc.certifies(clc.issuer_key) on each SLC; what did section 2 say the "
                "renewal keeps?")


@register("04.3", NOTEBOOK, Kind.CLOCK,
          "Find the moment: in section 2, how many whole days were left before the first "
          "SLC expired, when the administrator renewed it?",
          "an int: a number of days")
def _days_left(answer: Any) -> Judgement:
    d = standard()
    first = d.root_cluster.slc
    d.lab.advance(days=300)
    assert first.validity is not None and first.validity.not_after is not None
    left = (first.validity.not_after - d.lab.now()).days
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("give a number of days, an int")
    if answer == left:
        return correct(f"{left} days: renewal in good time, before the SLC expires (S-2, S-6)")
    return hint("subtract the time of the renewal (lab.now() after 300 days) from the first "
                "SLC's validity.not_after, and count whole days (timedelta.days)")
