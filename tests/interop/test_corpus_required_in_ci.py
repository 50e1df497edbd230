"""Under CI=true a missing corpus fails the interop tests; locally it skips them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

TARGET = "tests/interop/test_corpus.py::test_the_two_documents_meant_to_fail_fail_for_the_right_reason"


def run_without_corpus(ci: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI=ci, RMSLAB_CORPUS=str(tmp_path / "no-corpus-here"))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           TARGET], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)


def test_missing_corpus_fails_in_ci(tmp_path: Path) -> None:
    result = run_without_corpus("true", tmp_path)
    assert result.returncode == 1, result.stdout
    assert "corpus was not found" in result.stdout


def test_missing_corpus_skips_locally(tmp_path: Path) -> None:
    result = run_without_corpus("false", tmp_path)
    assert result.returncode == 0, result.stdout
    assert "skipped" in result.stdout
