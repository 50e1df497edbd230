"""Online publishing over SOAP (MS-RMPR 3.8.4.3, 3.5.4.1): the client asks for the SLC chain
(GetLicensorCertificate), builds the unsigned publishing license, and AcquireIssuanceLicense
signs it — anonymous, no RAC; a refusal comes back as the fault 3.5.4.1 names. And the
command line: ``rmslab protect --server URL`` and ``rmslab open --server URL`` do every
online step over the wire (issue 13).

covers: P-8, L-1
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import RefusedError
from rmslab.flows.binding import AppSession, open_protected
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import LoopbackService, RemotePublishingService
from rmslab.service.soap import read_envelope
from rmslab.xrml import parse
from tests.clirun import run

BOB_VIEWS = RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),))


def test_online_publishing_over_soap_needs_no_rac(deployment: Deployment) -> None:
    root, anchor = deployment.root_cluster, deployment.enrollment_service.anchor
    carol_pc, carol = deployment.clients["CAROL-PC"], deployment.user("carol")
    carol_pc.accounts.clear()  # no RAC on the author's machine: online publishing needs none
    with LoopbackService.of(deployment) as http:
        operations: list[str] = []
        http.application.on_exchange = lambda request, status, answer: operations.append(
            read_envelope(request).operation)
        sink = io.BytesIO()
        protected = publish_online(RemotePublishingService.of(root, http.port), carol_pc,
                                   carol, BOB_VIEWS, b"over the wire", sink)
    assert operations == ["GetLicensorCertificate", "AcquireIssuanceLicense"]
    assert protected.owner_license == "" and protected.trace.passed
    pl = parse(protected.publishing_license)[0]
    assert pl.issuer_key == root.key.public and pl.owner == carol.email
    bob_pc, bob = deployment.clients["BOB-PC"], deployment.user("bob")
    acquire_use_license(root, bob_pc, bob, protected.publishing_license, anchor=anchor)
    out = io.BytesIO()
    sink.seek(0)
    open_protected(AppSession(bob_pc, bob), sink, out, "VIEW", anchor=anchor)
    assert out.getvalue() == b"over the wire"


def test_a_cluster_that_is_not_named_refuses_over_soap(deployment: Deployment) -> None:
    # the unsigned license names contoso-root; contoso-licensing does not sign it
    root, licensing = deployment.root_cluster, deployment.clusters["contoso-licensing"]

    class Misdirected(RemotePublishingService):
        def licensor_certificate(self, *, trace, to):  # type: ignore[no-untyped-def]
            assert root.slc_text is not None
            return root.slc_text
    with LoopbackService.of(deployment) as http, pytest.raises(RefusedError) as caught:
        publish_online(Misdirected.of(licensing, http.port), deployment.clients["ALICE-PC"],
                       deployment.user("alice"), BOB_VIEWS, b"x", io.BytesIO())
    assert caught.value.exception_name == ("Microsoft.DigitalRightsManagement.Licensing."
                                           "UnsignedIssuanceLicenseNoMatchingIssuedPrincipal"
                                           "Exception")


def test_protect_and_open_with_server_go_over_soap(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    plain = tmp_path / "memo.txt"
    plain.write_text("the memo\n")
    url = "https://rms.contoso.example/_wmcs"
    status, output, _ = run("protect", str(plain), str(tmp_path / "memo.ptxt"), "--lab",
                            str(lab), "--as", "alice", "--grant", "bob:VIEW", "--server", url,
                            "--cipher", "ECB")
    assert status == 0 and f"online, signed by the server over SOAP ({url})" in output
    status, content, report = run("open", str(tmp_path / "memo.ptxt"), "--lab", str(lab),
                                  "--as", "bob", "--server", url, "--explain")
    assert status == 0 and content == "the memo\n"
    assert "license.asmx, over SOAP" in report
    assert "the content cipher is ECB, as the key's KeyHeader says" in report
    status, _, error = run("open", str(tmp_path / "memo.ptxt"), "--lab", str(lab), "--as",
                           "carol", "--server", url)
    assert status == 3 and "NoRightsForRequestedPrincipalException" in error
    status, _, error = run("protect", str(plain), str(tmp_path / "x.ptxt"), "--lab", str(lab),
                           "--as", "alice", "--grant", "bob:VIEW", "--server",
                           "https://elsewhere.example/_wmcs")
    assert status == 2 and "not the base URL of a cluster" in error
