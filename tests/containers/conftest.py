"""A real publishing license and sealed content, published once by a standard lab."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy


@dataclass(frozen=True)
class Published:
    deployment: Deployment
    pfile: bytes
    chain: str
    use_license: str            # bob's, as the server issued it (the chain as text)
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
    bob_client = next(c for c in deployment.clients.values() if "bob" in c.accounts)
    use_license, _ = acquire_use_license(deployment.root_cluster, bob_client,
                                         deployment.user("bob"), result.publishing_license,
                                         anchor=deployment.enrollment_service.anchor)
    return Published(deployment, sink.getvalue(), result.publishing_license, use_license,
                     content)
