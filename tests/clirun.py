"""Running the `rmslab` command in-process for tests: status, stdout and stderr."""

from __future__ import annotations

import io
import sys
from pathlib import Path

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


def lab_with_protected_file(where: Path, name: str, text: str,
                            *protect_options: str) -> tuple[Path, Path]:
    """A new lab in ``where/lab`` and ``text`` protected by alice for bob to view, as
    ``where/NAME.ptxt`` (from ``where/NAME.txt``): the lab and the protected file."""
    lab = where / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    plain = where / f"{name}.txt"
    plain.write_text(text)
    protected = where / f"{name}.ptxt"
    status, _, error = run("protect", str(plain), str(protected), "--lab", str(lab), "--as",
                           "alice", "--grant", "bob:VIEW", *protect_options)
    assert status == 0, error
    return lab, protected
