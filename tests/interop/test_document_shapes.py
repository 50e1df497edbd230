"""Interop: every kind of document a fresh lab writes has the element skeleton of the real
documents of that kind (issue 12, "done means").

A skeleton is the set of element paths under BODY — tag names, with the value of a
``type`` or ``name`` attribute kept in brackets. For each kind (``DESCRIPTOR/OBJECT/@type``,
else ``BODY/@type``) the real corpus holds: a path is **missing** when every real document
of the kind has it and the lab's lacks it, **foreign** when no real document of the kind
has it. The lab: ``rmslab lab create``'s deployment (self-enrolled), content protected online and
offline, a use license, the author's owner license, a template, a CLC, a RAC and a
machine certificate.

The comparison is written here (the logic of the team's skeleton tool, which lives
outside the repository); the real documents are read through the ``corpus`` fixture.

covers: P-3, P-4, P-5, P-8, L-1
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline, publish_online
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml.pfile import read_protected_file
from rmslab.xrml.source import decode_text
from tests.interop.skeletons import compare, kind, real_skeletons, skeleton, xrml_documents

pytestmark = pytest.mark.interop

# --- the fresh lab -------------------------------------------------------------------------


def _lab_texts(deployment: Deployment) -> Iterator[tuple[str, str]]:
    """(what, text) of every document kind the lab writes for the test."""
    anchor = deployment.enrollment_service.anchor
    alice, bob = deployment.user("alice"), deployment.user("bob")
    alice_pc, bob_pc = deployment.clients["ALICE-PC"], deployment.clients["BOB-PC"]
    policy = RightsPolicy((Grant(bob.email, ("VIEW",)),))
    offline = io.BytesIO()
    protected = publish_offline(alice_pc, alice, policy, b"offline", offline)
    yield "offline content", decode_text(read_protected_file(offline.getvalue()).license_bytes)
    yield "owner license", protected.owner_license
    online = io.BytesIO()
    published = publish_online(deployment.root_cluster, alice_pc, alice, policy, b"online",
                               online)
    yield "online content", decode_text(read_protected_file(online.getvalue()).license_bytes)
    use_license, _ = acquire_use_license(deployment.root_cluster, bob_pc, bob,
                                         published.publishing_license, anchor=anchor)
    yield "use license", use_license
    # the ready deployment's template: it has the rights of the one real template (MS-RMPR
    # 4.5.7), whose particular rights are all "missing" from any other
    yield "template", deployment.root_cluster.templates["Contoso-Confidential"]
    account = alice_pc.account("alice")
    assert account.clc_text is not None
    yield "CLC", account.clc_text
    yield "RAC", account.rac_text
    assert alice_pc.machine_certificate_text is not None
    # the SPC alone: the Trusted SPC Issuer chain behind it has no real counterpart in the
    # corpus (tests/interop/test_certificate_shapes.py checks it against MS-RMPR's tables)
    from rmslab.xrml import parse
    yield "machine certificate", parse(alice_pc.machine_certificate_text)[0].text


#: The certificate kinds (part A of issue 12).
CERTIFICATE_KINDS = {"Machine-Certificate", "Group-Identity-Credential",
                     "Client-Licensor-Certificate", "Server-Licensor-Certificate",
                     "DRM-CA-Certificate"}


@pytest.fixture(scope="module", params=[1, 2], ids=["mode 1", "mode 2"])
def lab_documents(request: pytest.FixtureRequest) -> dict[str, dict[frozenset[str], str]]:
    """Every distinct skeleton of each kind in a fresh lab of cryptographic mode 1 or 2,
    with where it came from. The corpus holds no use license of mode 2, whose ENABLINGBITS
    MS-RMPR 3.1.4.7 types ``sealed-key-v2``: in mode 2 that type is read as the
    ``sealed-key`` of the real mode-1 licenses, and nothing else is. The root cluster
    enrolled itself, as a version 2.0 server does: every real SLC names its server, which
    MS-RMPR 2.2.9.3.3 allows only to a self-enrolled one (an SLC from the enrollment
    service has no NAME, and so neither have the documents that copy its principal —
    tests/interop/test_certificate_shapes.py shows that difference)."""
    deployment = standard_deployment(Lab(mode=request.param), self_enrollment=True)
    found: dict[str, dict[frozenset[str], str]] = {}
    for what, text in _lab_texts(deployment):
        for document in xrml_documents(text):
            document_kind = kind(document)
            if document_kind:
                paths = frozenset(p.replace("[type=sealed-key-v2]", "[type=sealed-key]")
                                  for p in skeleton(document))
                found.setdefault(document_kind, {}).setdefault(paths, what)
    return found


LICENSE_KINDS = ["Microsoft Rights Label", "Content-License",
                 "Microsoft Official Rights Template"]


@pytest.mark.parametrize("document_kind", LICENSE_KINDS + sorted(CERTIFICATE_KINDS))
def test_every_kind_the_lab_writes_has_the_real_skeleton(
        corpus: Path, lab_documents: dict[str, dict[frozenset[str], str]],
        document_kind: str) -> None:
    real = real_skeletons(corpus)
    assert document_kind in real, f"the corpus holds no {document_kind}"
    assert document_kind in lab_documents, f"the lab wrote no {document_kind}"
    problems = []
    for mine, what in lab_documents[document_kind].items():
        missing, foreign = compare(real[document_kind], mine)
        problems += [f"{what}: missing {p}" for p in missing]
        problems += [f"{what}: foreign {p}" for p in foreign]
    assert not problems, "\n".join(problems)


def test_the_comparison_finds_what_is_missing_and_what_is_foreign() -> None:
    real = [frozenset({"BODY/A", "BODY/B"}), frozenset({"BODY/A", "BODY/C"})]
    assert compare(real, frozenset({"BODY/A", "BODY/B"})) == ([], [])
    assert compare(real, frozenset({"BODY/B", "BODY/D"})) == (["BODY/A"], ["BODY/D"])
