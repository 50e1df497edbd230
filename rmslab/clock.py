"""The lab clock, read against what depends on time (issue 15: the clock slider; SPEC
E-9, R-7, A-1): a chain's validity, a temporary rights account certificate's fifteen
minutes, a revocation list's freshness for a use license.

A :class:`Watch` names a thing and says, for a moment, what it amounts to then — using
the checks the rest of rmslab uses (:func:`rmslab.report.examine`,
:meth:`rmslab.revocation.RevocationIndex.fresh`); nothing here decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from rmslab.crypto.rsa import PublicKey
from rmslab.report import Verdict, examine
from rmslab.revocation import RevocationIndex
from rmslab.xrml.reader import Chain, parse

__all__ = ["Reading", "Watch", "watch_chain", "watch_revocation_list", "read_all"]


@dataclass(frozen=True)
class Reading:
    """What one watched thing amounts to at one moment."""

    label: str
    kind: str      # "chain" or "revocation list"
    ok: bool
    state: str     # a verdict's value, or "fresh" / "stale"
    reason: str


@dataclass(frozen=True)
class Watch:
    """A thing whose standing depends on the time."""

    label: str
    kind: str
    read: Callable[[datetime], Reading]


def watch_chain(label: str, chain: Chain, anchor: PublicKey) -> Watch:
    """A chain checked at each moment by :func:`~rmslab.report.examine`, anchored at
    ``anchor``: valid, expired, not yet valid (or invalid) then."""
    def read(at: datetime) -> Reading:
        report = examine(chain, anchor=anchor, at=at)
        verdict = report.verdict
        return Reading(label, "chain", verdict is Verdict.VALID, verdict.value,
                       report.summary())
    return Watch(label, "chain", read)


def watch_revocation_list(label: str, list_text: str, interval: timedelta) -> Watch:
    """A revocation list checked at each moment for freshness by the refresh interval a
    use license names (R-7)."""
    from rmslab.xrml.model import describe_interval
    index = RevocationIndex(parse(list_text, source=label)[0])

    def read(at: datetime) -> Reading:
        fresh = index.fresh(at, interval)
        issued = f"{index.issued:%Y-%m-%d %H:%M} UTC" if index.issued else "?"
        return Reading(label, "revocation list", fresh, "fresh" if fresh else "stale",
                       f"issued {issued}; may be {describe_interval(interval)} old at most (R-7)")
    return Watch(label, "revocation list", read)


def read_all(watches: list[Watch], at: datetime) -> list[Reading]:
    """Every watch, read at ``at``."""
    return [watch.read(at) for watch in watches]
