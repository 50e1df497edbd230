"""Shared pieces of the ``rmslab`` command: exit statuses and argument types."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

__all__ = ["EXIT_OK", "EXIT_INVALID", "EXIT_INPUT", "EXIT_REFUSED", "parse_at"]

EXIT_OK, EXIT_INVALID, EXIT_INPUT, EXIT_REFUSED = 0, 1, 2, 3


def parse_at(value: str) -> datetime:
    """A UTC time on the command line (``2026-01-05T09:00``)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time like 2026-01-05T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
