"""Fixtures for the flow tests: a fresh standard deployment per test (it is cheap once the
keys are derived)."""

from __future__ import annotations

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.lab import Lab


@pytest.fixture()
def deployment() -> Deployment:
    return standard_deployment(Lab())
