"""Shared pieces of the ``rmslab`` command: exit statuses, argument types, and how a
command works on a lab on disk."""

from __future__ import annotations

import argparse
import functools
from datetime import datetime, timezone
from typing import Any, Callable, TextIO

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_INPUT", "EXIT_REFUSED", "parse_at", "in_lab"]

EXIT_OK, EXIT_INVALID, EXIT_INPUT, EXIT_REFUSED = 0, 1, 2, 3

LabCommand = Callable[[argparse.Namespace, TextIO, Any], int]
Command = Callable[[argparse.Namespace, TextIO], int]


def parse_at(value: str) -> datetime:
    """A UTC time on the command line (``2026-01-05T09:00``)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time like 2026-01-05T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def in_lab(*, write: bool, attr: str = "lab") -> Callable[[LabCommand], Command]:
    """Run a command on the lab directory named by ``args.<attr>``: the command receives
    the deployment; when ``write``, what it changed is kept once it returns (whatever
    status it returns — a refusal is an outcome, and what led to it stays recorded)."""
    def wrap(command: LabCommand) -> Command:
        @functools.wraps(command)
        def run(args: argparse.Namespace, out: TextIO) -> int:
            from rmslab.store.disk import load_deployment, save_deployment
            directory = getattr(args, attr)
            deployment = load_deployment(directory)
            status = command(args, out, deployment)
            if write:
                save_deployment(deployment, directory)
            return status
        return run
    return wrap
