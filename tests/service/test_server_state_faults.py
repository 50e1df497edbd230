"""The refusals of a cluster's ServerState switches and policies over the served lab, as SOAP
faults with MS-RMPR's exception names: ClusterDecommissionedException from every
operation whose section names it (3.3.4.1, 3.4.4.1, 3.4.4.2, 3.4.4.3, 3.5.4.1, 3.5.4.2,
3.7.4.1), OnlinePublishingDisabledException (3.5.4.1), CredentialCreationTimeException
(3.4.4.1); the client reads each back typed.

covers: L-1, MS-RMPR 3.1.1.1.1, MS-RMPR 3.4.4.1
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rmslab.deployment import Deployment
from rmslab.errors import (ClusterDecommissionedError, CredentialCreationTimeError,
                           OnlinePublishingDisabledError)
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_online
from rmslab.flows.server_state import decommission_cluster, set_online_publishing
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import LoopbackService, RemoteLicensingService
from rmslab.service import faults
from rmslab.service.soap import Node, certificates_xml, el
from rmslab.xrml import parse
from rmslab.xrml.model import format_time
from tests.flows.test_server_state import rac_created
from tests.service.test_faults import ROOT, assert_fault, content_for, license_request
from tests.service.wire import Answer, login, soap


@pytest.fixture()
def served(deployment: Deployment) -> LoopbackService:
    with LoopbackService.of(deployment) as service:
        yield service
        assert service.application.internal_errors == []


def issuance_request(unsigned: str) -> Node:
    return el("AcquireIssuanceLicense", el("RequestParams", el(
        "AcquireIssuanceLicenseParams", el("UnsignedIssuanceLicense", Node(unsigned)))))


def test_a_decommissioned_cluster_answers_cluster_decommissioned_exception(
        deployment: Deployment, served: LoopbackService) -> None:
    from tests.service.test_wsdl import unsigned_publishing_license
    root = deployment.root_cluster
    chain = content_for(deployment)
    unsigned = unsigned_publishing_license(deployment)
    bob = deployment.user("bob")
    rac = deployment.clients["BOB-PC"].account("bob").rac_text
    machine = deployment.clients["BOB-PC"].machine_certificate_text
    decommission_cluster(root, root.first_server, by=deployment.user("rmsadmin"),
                         directory=deployment.directory)
    requests: list[tuple[str, str, Node, dict[str, str] | None]] = [
        ("certification/certification.asmx", "CertificationService",
         el("Certify", el("requestParams", certificates_xml("MachineCertificateChain", machine),
                          el("Persistent", "true"))), login(deployment.lab, bob)),
        ("licensing/license.asmx", "LicensingService", license_request(rac, chain), None),
        ("licensing/publish.asmx", "PublishingService", issuance_request(unsigned), None),
        ("licensing/publish.asmx", "PublishingService",
         el("GetClientLicensorCert", el("RequestParams", el(
             "GetClientLicensorCertParams", certificates_xml("PersonaCerts", rac)))), None),
        ("licensing/templateDistribution.asmx", "TemplateDistributionService",
         el("AcquireTemplateInformation"), None),
        ("licensing/templateDistribution.asmx", "TemplateDistributionService",
         el("AcquireTemplates", el("guids", el("string", "{00000000-0000-0000-0000-000000000000}"))),
         None),
        ("licensing/server.asmx", "ServerService", el("GetLicensorCertificate"), None),
        ("certification/server.asmx", "ServerService", el("GetLicensorCertificate"), None),
    ]
    for path, service, request, headers in requests:
        answer = soap(served.port, f"{ROOT}/{path}", service, request, headers=headers)
        assert_fault(answer, faults.CLUSTER_DECOMMISSIONED, "[MS-RMPR 3.1.1.1.1]")
    # GetServerInfo names no such fault (3.7.4.3): still answered
    info = soap(served.port, f"{ROOT}/licensing/server.asmx", "ServerService",
                el("GetServerInfo", el("requests", el("ServerInfoRequest", el("Type", "VersionInfo"),
                                                      el("AdditionalInfo", "")))),
                versions=None)
    assert info.status == 200, info.text
    # the client reads the fault back typed
    remote = RemoteLicensingService.of(root, served.port)
    with pytest.raises(ClusterDecommissionedError) as caught:
        acquire_use_license(remote, deployment.clients["BOB-PC"], bob, chain,
                            anchor=deployment.enrollment_service.anchor)
    assert caught.value.exception_name == faults.CLUSTER_DECOMMISSIONED


def test_online_publishing_disabled_over_soap(deployment: Deployment,
                                              served: LoopbackService) -> None:
    from rmslab.service import RemotePublishingService
    from tests.service.test_wsdl import unsigned_publishing_license
    root = deployment.root_cluster
    set_online_publishing(root, root.first_server, False, by=deployment.user("rmsadmin"),
                          directory=deployment.directory)
    answer: Answer = soap(served.port, f"{ROOT}/licensing/publish.asmx", "PublishingService",
                          issuance_request(unsigned_publishing_license(deployment)))
    assert_fault(answer, faults.ONLINE_PUBLISHING_DISABLED, "publish offline")
    import io
    with pytest.raises(OnlinePublishingDisabledError):
        publish_online(RemotePublishingService.of(root, served.port),
                       deployment.clients["ALICE-PC"], deployment.user("alice"),
                       RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)), b"x",
                       io.BytesIO())


def test_credential_creation_time_over_soap(deployment: Deployment,
                                            served: LoopbackService) -> None:
    chain = content_for(deployment)
    issued = parse(chain)[0].issued
    assert issued is not None
    rac_created(deployment, "bob", format_time(issued + timedelta(days=20)))
    rac = deployment.clients["BOB-PC"].account("bob").rac_text
    answer = soap(served.port, f"{ROOT}/licensing/license.asmx", "LicensingService",
                  license_request(rac, chain))
    assert_fault(answer, faults.CREDENTIAL_CREATION_TIME, "creationTimeTolerance")
    remote = RemoteLicensingService.of(deployment.root_cluster, served.port)
    with pytest.raises(CredentialCreationTimeError):
        acquire_use_license(remote, deployment.clients["BOB-PC"], deployment.user("bob"),
                            chain, anchor=deployment.enrollment_service.anchor)
