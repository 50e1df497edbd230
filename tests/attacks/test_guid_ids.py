"""Attack: IDs from a document become names (issue 10 item 4, the document part).

A publishing license whose content ID is ``{../…/x}`` — signed with a valid CLC, so it
verifies — made ``rmslab open`` write the use license to ``x.drm`` outside the license
store. Content and license IDs read from documents are GUIDs or refused, with an error
that names the document and the value (escaped), before any name is formed from them.

covers: L-1, B-2
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmslab.crypto.content import ContentCipher, rights_data_cipher
from rmslab.deployment import Deployment
from rmslab.errors import StructureError
from rmslab.flows.binding import AppSession, explain_binding
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import new_content_key, seal_to_server
from rmslab.rights import Grant, RightsPolicy
from rmslab.store.disk import load_deployment
from rmslab.xrml.licenses import (descriptor_xml, encrypted_rights_xml, license_points_xml,
                                  owner_metadata_xml, pl_work_xml, publishing_license_body,
                                  rights_data_text)
from rmslab.xrml.pfile import write_protected_file
from rmslab.xrml.writer import sign
from tests.clirun import run

GOOD_ID = "{5eed0000-0000-4000-8000-000000000001}"
TRAVERSAL = "{../" + "../" * 12 + "x}"


def evil_license(deployment: Deployment, *, content_id: str,
                 license_id: str = GOOD_ID) -> tuple[str, bytes]:
    """A publishing license alice signs with her valid CLC, with IDs of her choosing, and a
    protected file around it."""
    lab = deployment.lab
    alice_pc = deployment.clients["ALICE-PC"]
    account = alice_pc.account("alice")
    clc, clc_key = account.clc, alice_pc.clc_key("alice")
    assert clc is not None and account.clc_text is not None and clc.issuer is not None
    server = clc.issuer.identity()
    assert server.public_key is not None
    content_key = new_content_key(lab)
    policy = RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),))
    rights = rights_data_text(issued=lab.now(), content_id=content_id, policy=policy,
                              owner="alice@contoso.example")
    body = publishing_license_body(
        issued=lab.now(), descriptor=descriptor_xml(license_id),
        issuer=clc.principals[0].identity(),
        license_points=license_points_xml((GOOD_ID, clc.license_acquisition_urls[0]), None),
        issued_principals=seal_to_server(lab, server, content_key), referral=None,
        work=pl_work_xml(content_id, owner_metadata_xml("alice@contoso.example")),
        authenticated_data=[encrypted_rights_xml(
            rights_data_cipher(content_key.key).encrypt(rights.encode()))])
    cipher = ContentCipher(content_key.key, content_key.content_mode)
    chain = sign(body, clc_key, lab.digest_algorithm) + account.clc_text
    return chain, write_protected_file(chain, cipher.encrypt(b"payload"), extension=".txt")


def test_a_traversing_content_id_is_refused_before_it_names_anything(
        deployment: Deployment) -> None:
    chain, _ = evil_license(deployment, content_id=TRAVERSAL)
    bob_pc = deployment.clients["BOB-PC"]
    anchor = deployment.enrollment_service.anchor
    with pytest.raises(StructureError) as caught:
        acquire_use_license(deployment.root_cluster, bob_pc, deployment.user("bob"), chain,
                            anchor=anchor)
    message = str(caught.value)
    assert "the publishing license, 1st in the chain" in message
    assert f"'{TRAVERSAL}' is not a content ID, which is a GUID" in message
    assert bob_pc.account("bob").licenses == {}
    with pytest.raises(StructureError, match="is not a content ID"):
        explain_binding(AppSession(bob_pc, deployment.user("bob")), chain, "VIEW",
                        anchor=anchor)
    # the server refuses it too, before it issues anything
    from rmslab.flows.licensing import issue_use_license
    from rmslab.trace import Trace
    with pytest.raises(StructureError, match="is not a content ID"):
        issue_use_license(deployment.root_cluster, chain, bob_pc.account("bob").rac_text,
                          anchor=anchor, trace=Trace("licensing"), to="BOB-PC")


def test_a_license_id_is_a_guid_and_the_value_is_shown_escaped(deployment: Deployment) -> None:
    chain, _ = evil_license(deployment, content_id=GOOD_ID, license_id="{\u202egpj.exe}")
    bob_pc = deployment.clients["BOB-PC"]
    with pytest.raises(StructureError) as caught:
        acquire_use_license(deployment.root_cluster, bob_pc, deployment.user("bob"), chain,
                            anchor=deployment.enrollment_service.anchor)
    message = str(caught.value)
    assert "'{\\u202egpj.exe}' is not a license ID" in message
    assert "\u202e" not in message


def test_open_refuses_the_file_and_writes_nothing_anywhere(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    _, data = evil_license(load_deployment(lab), content_id=TRAVERSAL)
    evil = tmp_path / "evil.ptxt"
    evil.write_bytes(data)
    outside = lambda: sorted(p for p in tmp_path.rglob("*") if lab not in p.parents)  # noqa: E731
    before = outside()
    status, _, error = run("open", str(evil), "--lab", str(lab), "--as", "bob")
    assert status == 2, error
    assert error.startswith(f"rmslab: {evil}: the publishing license, 1st in the chain")
    assert "is not a content ID" in error
    assert not [p for p in tmp_path.rglob("*x.drm")]
    assert outside() == before
