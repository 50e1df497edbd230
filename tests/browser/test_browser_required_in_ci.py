"""Under CI=true a missing Chromium fails the browser test; locally it skips it, saying
what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

TARGET = "tests/browser/test_jupyterlab.py"


def run_without_chromium(ci: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI=ci, RMSLAB_CHROMIUM=str(tmp_path / "no-chromium-here"))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           TARGET], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=300)


def test_missing_chromium_fails_in_ci(tmp_path: Path) -> None:
    result = run_without_chromium("true", tmp_path)
    assert result.returncode == 1, result.stdout
    assert "the browser test needs Chromium at" in result.stdout
    assert "CI must install it" in result.stdout


def test_missing_chromium_skips_locally_with_the_reason(tmp_path: Path) -> None:
    result = run_without_chromium("false", tmp_path)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout  # the stepper and the chain viewer
    assert "passed" not in result.stdout
    assert "apt-get install -y chromium" in result.stdout
