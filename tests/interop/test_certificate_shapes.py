"""Interop: the certificates a lab writes have the element skeletons of the real ones.

A skeleton is the set of element paths under BODY, with the value of a ``type`` or
``name`` attribute kept; for each kind (``DESCRIPTOR/OBJECT/@type``, else ``BODY/@type``),
"missing" are the paths every real document of the kind has and the lab's lacks, "foreign"
the paths no real document of the kind has. The comparison is written out here (the team's
shape tool does the same); the real documents are the corpus's (``$RMSLAB_CORPUS``).

The kinds compared: machine certificates (SPC), RACs, CLCs, SLCs and the CA certificates
above them. Where the corpus holds no real counterpart the lab's documents are checked
against MS-RMPR's tables instead, and each such case is named:

* the Trusted SPC Issuer chain (SPC issuer, security processor CA and intermediate
  security processor CA certificates, MS-RMPR 2.2.9.3): no real one is in the corpus;
* ``ENABLINGBITS type="sealed-key-v2"`` in a mode-2 RAC: the corpus's one RAC (MS-RMPR
  4.5.2) is a mode-1 RAC;
* an SLC issued by the enrollment service has no principal NAME (MS-RMPR 2.2.9.3.3:
  "MUST NOT be present in the SLC, except when the server has been self-enrolled"), so
  neither have the ISSUERs of the RACs and CLCs copied from it; every real SLC carries a
  NAME — real version 2 servers enroll themselves.

covers: E-1, E-5, E-7, E-9
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from lxml import etree

from rmslab.deployment import Deployment, standard_deployment
from rmslab.lab import Lab
from rmslab.xrml import parse
from tests.interop.skeletons import file_documents, kind, skeleton, xrml_documents

pytestmark = pytest.mark.interop

OWN_KINDS = ("Machine-Certificate", "Group-Identity-Credential", "Client-Licensor-Certificate",
             "Server-Licensor-Certificate", "DRM-CA-Certificate")


@pytest.fixture(scope="module")
def real(corpus: Path) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Per kind: (the paths every real document has, the paths any real document has)."""
    skeletons: dict[str, list[frozenset[str]]] = {}
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and path.suffix != ".json":
            for document in file_documents(path):
                found = kind(document)
                if found:
                    skeletons.setdefault(found, []).append(skeleton(document))
    return {kind: (frozenset.intersection(*found), frozenset.union(*found))
            for kind, found in skeletons.items()}


@lru_cache(maxsize=None)
def _lab(mode: int, self_enrollment: bool) -> Deployment:
    return standard_deployment(Lab(mode=mode), self_enrollment=self_enrollment)


def _certificates(deployment: Deployment) -> list[tuple[str, etree._Element]]:
    """(where, document) for every certificate of the lab's kinds, the SPC issuer chain
    left out (compared with MS-RMPR's tables below)."""
    texts = [(f"SLC of {c.name}", c.slc_text or "") for c in deployment.clusters.values()]
    for client in deployment.clients.values():
        spc = parse(client.machine_certificate_text or "")[0]
        texts.append((f"SPC of {client.name}", spc.text))
        for user, account in client.accounts.items():
            texts.append((f"RAC of {user}", account.rac_text))
            if account.clc_text:
                texts.append((f"CLC of {user}", account.clc_text))
    found = []
    for where, text in texts:
        found += [(where, x) for x in xrml_documents(text)]
    return found


def _differences(deployment: Deployment,
                 real: dict[str, tuple[frozenset[str], frozenset[str]]]) -> set[str]:
    differences = set()
    for where, document in _certificates(deployment):
        found = kind(document)
        assert found in OWN_KINDS, (where, found)
        must, may = real[found]
        paths = skeleton(document)
        differences |= {f"{found}: missing {p}" for p in must - paths}
        differences |= {f"{found}: foreign {p}" for p in paths - may}
    return differences


_V2_BITS = "BODY/FEDERATIONPRINCIPALS/PRINCIPAL/ENABLINGBITS"


def test_a_self_enrolled_mode_1_lab_matches_the_real_certificates(
        real: dict[str, tuple[frozenset[str], frozenset[str]]]) -> None:
    assert set(OWN_KINDS) <= set(real)
    assert _differences(_lab(1, True), real) == set()


def test_a_self_enrolled_mode_2_lab_differs_only_by_the_rac_bits_type(
        real: dict[str, tuple[frozenset[str], frozenset[str]]]) -> None:
    # MS-RMPR 3.1.4.7: mode 2 seals with sealed-key-v2; the one real RAC is mode 1
    assert _differences(_lab(2, True), real) == {
        f"Group-Identity-Credential: missing {_V2_BITS}[type=sealed-key]",
        f"Group-Identity-Credential: missing {_V2_BITS}[type=sealed-key]/VALUE",
        f"Group-Identity-Credential: foreign {_V2_BITS}[type=sealed-key-v2]",
        f"Group-Identity-Credential: foreign {_V2_BITS}[type=sealed-key-v2]/VALUE"}


def test_an_slc_from_the_enrollment_service_has_no_principal_name(
        real: dict[str, tuple[frozenset[str], frozenset[str]]]) -> None:
    # MS-RMPR 2.2.9.3.3: no NAME in an SLC the enrollment service issues, so none in the
    # ISSUER its RACs and CLCs copy; the licensing-only cluster's SLC, issued by a server,
    # has one (as the real SLC a server issued, corpus 12)
    assert _differences(_lab(1, False), real) == {
        "Server-Licensor-Certificate: missing "
        "BODY/ISSUEDPRINCIPALS/PRINCIPAL/OBJECT[type=MS-DRM-Server]/NAME",
        "Group-Identity-Credential: missing BODY/ISSUER/OBJECT[type=MS-DRM-Server]/NAME",
        "Client-Licensor-Certificate: missing BODY/ISSUER/OBJECT[type=MS-DRM-Server]/NAME"}


def test_the_spc_issuer_chain_has_the_shapes_of_the_tables() -> None:
    # MS-RMPR 2.2.9.3.1–3: no real SPC issuer chain is in the corpus; the tables decide
    deployment = _lab(2, True)
    chain = parse(deployment.enrollment_service.spc_chain_text)
    rows = [(d.kind, d.issuer.object_type if d.issuer else None,
             d.issuer.id_type if d.issuer else None, d.subject.object_type if d.subject else None,
             d.subject.id_type if d.subject else None) for d in chain]  # type: ignore[attr-defined]
    assert rows == [
        ("Server-Licensor-Certificate", "DRM-Desktop-Security-Processor-Certificate-Authority",
         "MS-GUID", "MS-DRM-Desktop-Security-Processor", "MS-GUID"),
        ("DRM-CA-Certificate", "DRM-Certificate-Authority", "ascii-tag",
         "DRM-Desktop-Security-Processor-Certificate-Authority", "MS-GUID"),
        ("DRM-CA-Certificate", "DRM-Certificate-Authority", "ascii-tag",
         "DRM-Certificate-Authority", "ascii-tag"),
        ("DRM-CA-Certificate", "DRM-Certificate-Authority", "ascii-tag",
         "DRM-Certificate-Authority", "ascii-tag")]
    names = [d.subject.name for d in chain]  # type: ignore[attr-defined]
    assert names == ["rmslab Lab Desktop Security Processor Activation Certificate",
                     "rmslab Lab Machine Activation Desktop Security Processor CA",
                     "rmslab Lab Machine Activation Server CA", "rmslab Lab CA"]
    for document in chain:
        issuer = document.element.find("BODY/ISSUER")
        assert issuer is not None and [c.tag for c in issuer] == ["OBJECT", "PUBLICKEY"]
