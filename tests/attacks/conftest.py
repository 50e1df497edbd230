"""What the attack tests share: the command run in process (argument errors included),
the command run in a child process under a memory limit, and a lab on disk."""

from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from rmslab.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str, str]:
    """``rmslab ARGS`` in process: status, stdout, stderr. An argument the parser refuses
    ends in its exit status (2), as on the command line."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stderr
    sys.stderr = err
    try:
        status = main(list(args), out=out)
    except SystemExit as exc:
        status = int(exc.code or 0)
    finally:
        sys.stderr = saved
    return status, out.getvalue(), err.getvalue()


def run_limited(*args: str, memory_mb: int, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``rmslab ARGS`` in a child process whose address space is limited to ``memory_mb``
    (``RLIMIT_AS``): a read that is not bounded fails there with a MemoryError."""
    limit = memory_mb << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run([sys.executable, "-m", "rmslab.cli", *args], cwd=REPO,
                          preexec_fn=limited, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("labs") / "lab"
    assert run("lab", "create", str(target))[0] == 0
    return target
