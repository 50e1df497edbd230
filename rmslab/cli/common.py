"""Shared pieces of the ``rmslab`` command: exit statuses, argument types, and how a
command works on a lab on disk."""

from __future__ import annotations

import argparse
import functools
from datetime import datetime, timezone
from typing import Any, Callable, TextIO

from rmslab.report import Verdict

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_INPUT", "EXIT_REFUSED", "EXIT_DISCOVERY",
           "EXIT_UNANCHORED", "EXIT_OUT_OF_TIME", "EXIT_STATUS_HELP", "verdict_status",
           "parse_at", "wall_clock", "in_lab", "examples", "ExamplesFormatter"]

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


def parse_at(value: str) -> datetime:
    """A UTC time on the command line (``2026-01-05T09:00``)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time like 2026-01-05T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
