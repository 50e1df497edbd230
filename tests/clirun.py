"""Running the `rmslab` command in-process for tests: status, stdout and stderr."""

from __future__ import annotations

import io
import sys

from rmslab.cli import main


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stderr
    sys.stderr = err
    try:
        status = main(list(args), out=out)
    finally:
        sys.stderr = saved
    return status, out.getvalue(), err.getvalue()
