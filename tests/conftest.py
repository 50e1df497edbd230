"""Shared fixtures: the real corpus, the teaching chain, a standard deployment."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.lab import Lab
from rmslab.samples import TeachingChain, teaching_chain

REPO = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path | None:
    """``$RMSLAB_CORPUS`` when set (and then only it), else ``../shared/xrml-corpus``."""
    configured = os.environ.get("RMSLAB_CORPUS")
    candidate = Path(configured) if configured else REPO.parent / "shared" / "xrml-corpus"
    return candidate if (candidate / "MANIFEST.json").is_file() else None


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real corpus. Under CI=true a missing corpus is a failure, never a skip."""
    found = corpus_dir()
    if found is None:
        message = ("the real XrML corpus was not found. It is a folder of real RMS documents "
                   "— the examples of MS-RMPR section 4.5 and the test data of Microsoft's "
                   "public RMS SDK (github.com/AzureAD/rms-sdk-for-cpp) — with a "
                   "MANIFEST.json of the expected outcomes; set RMSLAB_CORPUS to it (default: "
                   "../shared/xrml-corpus beside the repository)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((corpus / "MANIFEST.json").read_text())
    return data


@pytest.fixture(scope="session")
def teaching() -> TeachingChain:
    return teaching_chain(Lab())


@pytest.fixture(scope="session")
def teaching_mode1() -> TeachingChain:
    return teaching_chain(Lab(mode=1))


@pytest.fixture()
def deployment() -> Deployment:
    """A fresh standard deployment per test (cheap once its keys are derived)."""
    return standard_deployment(Lab())
