"""Revocation lists downloaded over real HTTP on loopback.

covers: R-4
"""

from __future__ import annotations

import http.client

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import InputError, NotConnectedError
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.service import HttpTransport, LoopbackService
from tests.flows.test_revocation import A_URL, build, publish_a_list


def test_the_list_is_downloaded_over_http(deployment: Deployment) -> None:
    world = build(deployment)
    publish_a_list(world, [])
    with LoopbackService(deployment.web) as service:
        deployment.web.use(HttpTransport(service.port))
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
        connection.request("GET", "/licensing.contoso.example/_wmcs/revocation/a.xml")
        answer = connection.getresponse()
        assert answer.status == 200 and answer.getheader("Content-Type", "").startswith("text/xml")
        assert answer.read().decode() == deployment.web.published()[A_URL]
        session = AppSession(deployment.clients["BOB-PC"], deployment.user("bob"), "Word",
                             web=deployment.web)
        binding = explain_binding(session, world.contents["content 1"], "VIEW",
                                  anchor=world.anchor)
        assert binding.allowed and A_URL in session.registered_lists
        with pytest.raises(InputError, match="nothing is published"):
            HttpTransport(service.port).get("https://nowhere.example/list.xml")
    with pytest.raises(NotConnectedError, match="does not answer"):
        HttpTransport(service.port, timeout=1).get(A_URL)
    deployment.web.use(None)


def test_only_http_urls() -> None:
    with pytest.raises(InputError):
        HttpTransport(1).get("file:///etc/passwd")
