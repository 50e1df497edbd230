"""A real publishing license and sealed content, published once by a standard lab."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.flows.publishing import publish_online
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy


@dataclass(frozen=True)
class Published:
    deployment: Deployment
    pfile: bytes
    chain: str
    owner_license: str
    content: bytes


@pytest.fixture(scope="session")
def published() -> Published:
    deployment = standard_deployment(Lab())
    client = next(c for c in deployment.clients.values() if "alice" in c.accounts)
    user = deployment.user("alice")
    content = b"The quarterly figures, for the board only.\n" * 50
    sink = io.BytesIO()
    policy = RightsPolicy((Grant(f"bob@{deployment.directory.domain}", ("VIEW",)),))
    result = publish_online(deployment.root_cluster, client, user, policy, content, sink,
                            extension=".docx", original_size=len(content))
    return Published(deployment, sink.getvalue(), result.publishing_license,
                     result.owner_license, content)
