"""The decommissioning interface over SOAP (MS-RMSI 3.2, 6.1): AcquireContentKey at
``_wmcs/decommission/decommission.asmx``, called with zeep from the WSDL of MS-RMSI's
appendix A, cut out of the specification unchanged (never copied into the repository).

covers: MS-RMSI 3.2.4.1, MS-RMPR 3.1.1.1.1
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from zeep.exceptions import Fault

from rmslab.crypto.content import ContentCipher
from rmslab.deployment import Deployment
from rmslab.flows.publishing import publish_offline, publish_online
from rmslab.flows.server_state import decommission_cluster
from rmslab.rights import ANYONE, Grant, RightsPolicy
from rmslab.service import LoopbackService
from rmslab.xrml import read_protected_file
from rmslab.xrml.source import decode_text
from tests.service.conftest import wsdl_dir
from tests.service.test_wsdl import VERSION, ExactTransport, array

CONTENT = b"the minutes of a cluster about to be removed\n"
NAMESPACE = "http://microsoft.com/DRM/DecommissionService"


@pytest.fixture(scope="module")
def decommission_wsdl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Section 6.1 of MS-RMSI, the WSDL of the decommissioning interface, as printed
    there, in a file of the test's own (``MS-RMSI.md`` beside MS-RMPR's WSDL folder) — but
    for one thing the printing broke: the ``soapAction`` is wrapped after its last ``/``,
    so that as printed it holds a line break (read as spaces) before the operation's
    name; the wrap is removed, as conftest removes the wrap of the enrollment schema's
    GUID pattern."""
    folder = wsdl_dir()
    specification = folder.parent / "MS-RMSI.md" if folder is not None else None
    if specification is None or not specification.is_file():
        message = ("MS-RMSI (Microsoft's RMS ISV Extension Protocol specification, as "
                   "MS-RMSI.md) was not found beside MS-RMPR's WSDL folder; set RMSLAB_WSDL "
                   "to a wsdl folder whose parent holds it")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    text = specification.read_text(encoding="utf-8")
    section = text[text.index("## 6.1 Decommissioning Interface"):]
    wsdl = section[section.index("<?xml"):
                   section.index("</wsdl:definitions>") + len("</wsdl:definitions>")]
    wsdl = re.sub(r'(soapAction="[^"]*/)\s+', r"\1", wsdl)
    target = tmp_path_factory.mktemp("ms-rmsi") / "decommission.wsdl"
    target.write_text(wsdl, encoding="utf-8")
    return target


def _protected(deployment: Deployment, *, cluster: str | None = None) -> tuple[str, bytes]:
    """A publishing license chain and the encrypted content: offline by alice (issued to
    the root cluster), or online through ``cluster``."""
    policy = RightsPolicy((Grant(ANYONE, ("VIEW",)),))
    alice_pc, alice = deployment.clients["ALICE-PC"], deployment.user("alice")
    sink = io.BytesIO()
    if cluster is None:
        publish_offline(alice_pc, alice, policy, CONTENT, sink)
    else:
        publish_online(deployment.clusters[cluster], alice_pc, alice, policy, CONTENT, sink)
    container = read_protected_file(sink.getvalue())
    return decode_text(container.license_bytes), container.content


def _call(decommission: Any, transport: ExactTransport, chain: str | None) -> Any:
    params = [] if chain is None else [{"IssuanceLicense": array(transport, chain)}]
    return decommission.AcquireContentKey(paramsSoap={"AcquireContentKeyParams": params},
                                          _soapheaders={"VersionData": VERSION})


def test_a_decommissioned_cluster_answers_acquire_content_key_over_soap(
        deployment: Deployment, decommission_wsdl: Path) -> None:
    root = deployment.root_cluster
    chain, encrypted = _protected(deployment)
    foreign_chain, _ = _protected(deployment, cluster="contoso-licensing")
    with LoopbackService.of(deployment) as served:
        transport = ExactTransport(requests.Session())  # no account: MS-RMSI names none
        client = zeep.Client(str(decommission_wsdl), transport=transport)
        decommission = client.create_service(
            f"{{{NAMESPACE}}}DecommissionServiceSoap",
            f"http://127.0.0.1:{served.port}/rms.contoso.example/_wmcs/decommission/"
            "decommission.asmx")
        # a cluster in normal operation has no decommissioning interface to answer with
        with pytest.raises(Fault) as refused:
            _call(decommission, transport, chain)
        assert refused.value.message.startswith(
            "Microsoft.DigitalRightsManagement.Utilities.ClusterNotDecommissionedException")
        decommission_cluster(root, root.first_server, by=deployment.user("rmsadmin"),
                             directory=deployment.directory)
        answer = _call(decommission, transport, chain)
        [result] = answer.body.AcquireContentKeyResult.AcquireContentKeyResponse
        assert result.ContentKeyType == "AES"
        key = result.ContentKey if isinstance(result.ContentKey, bytes) else \
            base64.b64decode(result.ContentKey)
        plain = io.BytesIO()
        ContentCipher(key, 2).decrypt_stream(io.BytesIO(encrypted), plain)
        assert plain.getvalue() == CONTENT  # the mode-2 default cipher, CBC4K
        # a license issued to another cluster: not this server's to open
        with pytest.raises(Fault) as foreign:
            _call(decommission, transport, foreign_chain)
        assert foreign.value.message.startswith(
            "Microsoft.DigitalRightsManagement.UnsignedIssuanceLicenseNoMatchingIssuedPrincipal"
            "Exception")
        # no publishing license at all
        with pytest.raises(Fault) as empty:
            _call(decommission, transport, None)
        assert empty.value.message.startswith("System.ArgumentNullException")
        assert served.application.internal_errors == []
    outcomes = [(r.operation, r.outcome) for r in root.log.requests(service="Decommission")]
    assert outcomes == [("AcquireContentKey", "fault"), ("AcquireContentKey", "answered"),
                        ("AcquireContentKey", "fault"), ("AcquireContentKey", "fault")]
