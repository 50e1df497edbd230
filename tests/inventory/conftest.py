"""Two labs' clusters and a share of files they protected (module scope: made once)."""

from __future__ import annotations

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.inventory import ShareSpec, generate_share
from rmslab.lab import Lab


@pytest.fixture(scope="package")
def labs() -> list[Deployment]:
    return [standard_deployment(Lab()), standard_deployment(Lab(seed=1, mode=1))]


@pytest.fixture(scope="package")
def share(labs: list[Deployment], tmp_path_factory: pytest.TempPathFactory) -> ShareSpec:
    return generate_share(tmp_path_factory.mktemp("share"), labs, 240, folder_size=100)


