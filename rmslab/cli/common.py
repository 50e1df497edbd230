"""Shared pieces of the ``rmslab`` command: exit statuses, argument types, and how a
command works on a lab on disk."""

from __future__ import annotations

import argparse
import functools
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TextIO

from rmslab.report import Verdict

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_INPUT", "EXIT_REFUSED", "EXIT_DISCOVERY",
           "EXIT_UNANCHORED", "EXIT_OUT_OF_TIME", "EXIT_STATUS_HELP", "verdict_status",
           "parse_at", "parse_days", "parse_grant", "warn_if_past", "EARLIEST", "LATEST", "MAX_DAYS",
           "wall_clock", "in_lab", "examples", "ExamplesFormatter"]

EXIT_OK, EXIT_INVALID, EXIT_INPUT, EXIT_REFUSED, EXIT_DISCOVERY = 0, 1, 2, 3, 4
#: ``rmslab verify``: every check holds but no pinned root vouches for the chain
EXIT_UNANCHORED = 5
#: ``rmslab verify``: every check holds but a document is expired or not yet valid then
EXIT_OUT_OF_TIME = 6

#: The exit statuses as the help of ``rmslab`` and ``rmslab verify`` list them.
EXIT_STATUS_HELP = """exit status:
  0  done; for verify: valid and anchored — every check holds at the time checked and
     the chain ends at the pinned root (--anchor)
  1  a check failed (digest, signature, issuer link, time of issue, kind, mode)
  2  the input cannot be read
  3  an actor refused (the message names the rule)
  4  service discovery failed
  5  verify: consistent but NOT anchored — every check holds, but no pinned root
     vouches for the chain (pin one with --anchor KEYFILE)
  6  verify: expired or not yet valid at the time checked (now, or --at TIME)"""


def verdict_status(verdict: Verdict) -> int:
    """The exit status of ``rmslab verify`` for a verdict."""
    return {Verdict.VALID: EXIT_OK, Verdict.INVALID: EXIT_INVALID,
            Verdict.UNANCHORED: EXIT_UNANCHORED, Verdict.EXPIRED: EXIT_OUT_OF_TIME,
            Verdict.NOT_YET_VALID: EXIT_OUT_OF_TIME}[verdict]


def wall_clock() -> datetime:
    """Now, in UTC: the time ``verify`` and ``chain`` check at unless ``--at`` says
    otherwise (only the command's shell reads the clock; docs/architecture.md rule 2)."""
    return datetime.now(timezone.utc)

LabCommand = Callable[[argparse.Namespace, TextIO, Any], int]
Command = Callable[[argparse.Namespace, TextIO], int]

#: The times a command accepts: what XrML writes (four-digit years, UTC, minutes) and
#: Windows can hold (a FILETIME starts in 1601) — any time outside would be written as
#: something rmslab, or RMS, cannot read back.
EARLIEST = datetime(1601, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)
#: The longest interval in days a command accepts (ten years: a revocation list's
#: refresh interval, R-6, is days to weeks in practice).
MAX_DAYS = 3650

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?"
                   r"(Z|[+-]\d{2}:\d{2})?", re.ASCII)


class ExamplesFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with the examples epilog printed as written, and descriptions filled to the
    terminal's width as usual."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def examples(*pairs: tuple[str, str]) -> dict[str, Any]:
    """The keyword arguments that give a command's parser its examples: an epilog of
    ``(command line, what it does)`` pairs, printed as written after the options (every
    command has at least one; tests/docs/test_cli_help.py parses each example)."""
    lines = ["examples:"]
    for command, meaning in pairs:
        lines += [f"  {command}", f"      {meaning}"]
    return {"epilog": "\n".join(lines), "formatter_class": ExamplesFormatter}


def parse_grant(value: str) -> tuple[str, tuple[str, ...]]:
    """``USER:RIGHT[,RIGHT…]`` on the command line (``protect --grant``, ``lab template
    --grant``): the user as written and the rights."""
    user, _, rights = value.partition(":")
    if not user or not rights:
        raise argparse.ArgumentTypeError(f"{value!r}: write USER:RIGHT[,RIGHT…]")
    return user, tuple(r for r in rights.split(",") if r)


def parse_at(value: str) -> datetime:
    """A time on the command line, as a UTC datetime: ``2026-01-05T09:00`` (UTC), a date
    alone (midnight), optionally with seconds, and ``Z`` or an offset (``+02:00``),
    which is converted to UTC. The one time parser of every command: a time that is not
    in this form, or lies outside :data:`EARLIEST`…:data:`LATEST` once in UTC, is
    refused by the argument parser (exit status 2), before anything is read or
    written."""
    text = value.strip()
    if _TIME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time like 2026-01-05T09:00 (UTC; a date alone, seconds, Z "
            "or an offset such as +02:00 may be given)")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time: {exc}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)  # year 0 or 10000 in UTC: OverflowError
        in_range = EARLIEST <= moment <= LATEST + timedelta(seconds=59)
    except OverflowError:
        in_range = False
    if not in_range:
        raise argparse.ArgumentTypeError(
            f"{value!r} lies outside the times rmslab and RMS can write "
            f"({EARLIEST:%Y-%m-%dT%H:%M} to {LATEST:%Y-%m-%dT%H:%M} UTC)")
    return moment


def parse_days(value: str) -> int:
    """A number of days on the command line: a whole number from 1 to :data:`MAX_DAYS`
    (a negative, zero or larger interval is refused by the argument parser)."""
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d{1,12}", text, re.ASCII):
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days")
    days = int(text)
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"{days} days: an interval is 1 to {MAX_DAYS} days (ten years)")
    return days


def warn_if_past(moment: datetime | None, now: datetime, option: str) -> None:
    """Say on stderr that ``moment`` (given with ``option``) is before the lab's time.

    A past expiry is allowed, with this warning, for teaching: it shows at once what
    binding answers for expired content (B-2); nobody can open such content."""
    if moment is not None and moment < now:
        sys.stderr.write(
            f"rmslab: warning: {option} {moment:%Y-%m-%dT%H:%M} is before the lab's time "
            f"{now:%Y-%m-%dT%H:%M}: the content is expired from the start and binding will "
            "refuse it (B-2)\n")


def in_lab(*, write: bool, attr: str = "lab",
           damaged_logs: str = "refuse") -> Callable[[LabCommand], Command]:
    """Run a command on the lab directory named by ``args.<attr>`` — the one place every
    lab command opens its lab (:class:`rmslab.store.labdb.LabStore`). A ``write`` command
    holds the lab's write lock for its whole run (concurrent commands wait for each
    other, up to ``$RMSLAB_LOCK_TIMEOUT`` seconds, then fail with exit status 2 saying
    another command holds the lab); what it changed commits atomically when it returns,
    whatever status it returns (a refusal is an outcome, and what led to it stays
    recorded), and nothing is kept when it raises. A read command sees a consistent
    snapshot. ``damaged_logs="report"`` lets a command see a damaged logging database
    (as an empty log that says what is wrong) instead of refusing the lab."""
    def wrap(command: LabCommand) -> Command:
        @functools.wraps(command)
        def run(args: argparse.Namespace, out: TextIO) -> int:
            from rmslab.store.labdb import LabStore
            store = LabStore(getattr(args, attr))
            if write:
                with store.write() as deployment:
                    return command(args, out, deployment)
            with store.read(damaged_logs="report" if damaged_logs == "report"
                            else "refuse") as deployment:
                return command(args, out, deployment)
        return run
    return wrap
