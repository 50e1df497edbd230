"""Each refusal the servers can make, answered as a SOAP fault: faultcode ``soap:Server``
and the exception name MS-RMPR gives the operation at the start of the faultstring
(3.1.4.5, 3.1.4.6, and each operation's table); the client reads it back typed.

covers: E-4, E-9, L-1, P-7, P-8, S-5 (MS-RMPR 3.1.4.5, 3.1.4.6, 3.3.4.1, 3.4.4.1, 3.5.4.1,
3.5.4.2, 3.7.4.2)
"""

from __future__ import annotations

import io

import pytest

from rmslab.deployment import Deployment, standard_deployment
from rmslab.errors import NotEnrolledError, RefusedError
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.renewal import renew_slc_online
from rmslab.flows.publishing import publish_offline
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import LoopbackService, RemoteLicensingService
from rmslab.service.soap import certificates_xml, el
from tests.service.wire import Answer, login, soap

ROOT = "/rms.contoso.example/_wmcs"
LICENSING = "/licensing.contoso.example/_wmcs"


def assert_fault(answer: Answer, exception: str, words: str = "") -> None:
    assert answer.status == 500, answer.text
    assert "<faultcode>soap:Server</faultcode>" in answer.text
    assert answer.fault.startswith(exception), answer.fault
    assert words in answer.fault, answer.fault


def license_request(rac: str | None, chain: str | None) -> object:
    return el("AcquireLicense", el("RequestParams", el(
        "AcquireLicenseParams", certificates_xml("LicenseeCerts", rac),
        certificates_xml("IssuanceLicense", chain))))


def content_for(deployment: Deployment, who: str = "bob@contoso.example") -> str:
    return publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                           RightsPolicy((Grant(who, ("VIEW",)),)), b"minutes",
                           io.BytesIO()).publishing_license


@pytest.fixture()
def served(deployment: Deployment) -> LoopbackService:
    with LoopbackService.of(deployment) as service:
        yield service
        assert service.application.internal_errors == []


def test_version_data_faults(deployment: Deployment, served: LoopbackService) -> None:
    """3.1.4.6: a missing header, a version that is not a.b.c.d, a maximum above what
    the operation supports."""
    request = el("GetLicensorCertificate")
    path = f"{ROOT}/licensing/server.asmx"
    assert_fault(soap(served.port, path, "ServerService", request, versions=None),
                 "System.ArgumentNullException", "VersionData")
    assert_fault(soap(served.port, path, "ServerService", request, versions=("1.0", "1.0.0.0")),
                 "Microsoft.DigitalRightsManagement.Core.MalformedDataVersionException")
    assert_fault(soap(served.port, path, "ServerService", request,
                      versions=("1.0.0.0", "1.1.0.0")),
                 "Microsoft.DigitalRightsManagement.Core.UnsupportedDataVersionException")
    # AcquireLicense answers 1.1.0.0 (batches); 2.0.0.0 is beyond it
    assert_fault(soap(served.port, f"{ROOT}/licensing/license.asmx", "LicensingService",
                      license_request(None, None), versions=("1.0.0.0", "2.0.0.0")),
                 "Microsoft.DigitalRightsManagement.Core.UnsupportedDataVersionException")


def test_certify_faults(deployment: Deployment, served: LoopbackService) -> None:
    path = f"{ROOT}/certification/certification.asmx"
    bob = deployment.user("bob")
    machine = deployment.clients["BOB-PC"].machine_certificate_text
    request = el("Certify", el("requestParams", certificates_xml("MachineCertificateChain",
                                                                 machine),
                               el("Persistent", "true")))
    unauthorized = "System.UnauthorizedAccessException"
    assert_fault(soap(served.port, path, "CertificationService", request), unauthorized)
    assert_fault(soap(served.port, path, "CertificationService", request,
                      headers={"Authorization": "Basic Ym9iOm5vdC1oaXMtcGFzc3dvcmQ="}),
                 unauthorized, "wrong password")
    assert_fault(soap(served.port, path, "CertificationService", request,
                      headers={"Authorization": "Negotiate TlRMTVNTUAAB"}), unauthorized)
    assert_fault(soap(served.port, path, "CertificationService", el("Certify"),
                      headers=login(deployment.lab, bob)), "System.ArgumentNullException")
    # a machine certificate this cluster never issued (another lab's)
    other = standard_deployment(Lab(seed=5)).clients["BOB-PC"].machine_certificate_text
    forged = el("Certify", el("requestParams", certificates_xml("MachineCertificateChain", other),
                              el("Persistent", "true")))
    assert_fault(soap(served.port, path, "CertificationService", forged,
                      headers=login(deployment.lab, bob)),
                 "Microsoft.DigitalRightsManagement.Core."
                 "VerifyMachineCertificateChainFailedException", "[E-9]")


def test_acquire_license_faults(deployment: Deployment, served: LoopbackService) -> None:
    path = f"{ROOT}/licensing/license.asmx"
    chain = content_for(deployment)
    rac = deployment.clients["BOB-PC"].account("bob").rac_text
    licensing = "Microsoft.DigitalRightsManagement.Licensing."

    def ask(rac_text: str | None, label: str | None, where: str = path) -> Answer:
        return soap(served.port, where, "LicensingService", license_request(rac_text, label))
    assert_fault(ask(None, chain), "System.ArgumentNullException", "LicenseeCerts")
    assert_fault(ask(rac, None), "System.ArgumentNullException", "IssuanceLicense")
    tampered_rac = rac.replace("bob@contoso.example", "eve@contoso.example", 1)
    assert_fault(ask(tampered_rac, chain), licensing + "InvalidPersonaCertSignatureException")
    alien = standard_deployment(Lab(seed=5)).clients["BOB-PC"].account("bob").rac_text
    assert_fault(ask(alien, chain), licensing + "UntrustedPersonaCertException")
    machine = deployment.clients["BOB-PC"].machine_certificate_text
    assert_fault(ask(machine, chain), licensing + "UnexpectedPersonaCertException")
    carol = deployment.clients["CAROL-PC"].account("carol").rac_text
    assert_fault(ask(carol, chain), licensing + "NoRightsForRequestedPrincipalException",
                 "[L-1]")
    tampered_label = chain.replace("minutes", "minutez", 1) if "minutes" in chain else \
        chain.replace("<ISSUEDTIME>2026", "<ISSUEDTIME>2025", 1)
    assert_fault(ask(rac, tampered_label), licensing + "InvalidRightsLabelSignatureException")
    assert_fault(ask(rac, chain, f"{LICENSING}/licensing/license.asmx"),
                 licensing + "RightsLabelNoMatchingIssuedPrincipalException", "[P-7]")
    deployment.lab.advance(days=400)  # the RAC has expired, and so has the SLC:
    root = deployment.root_cluster      # renewed, so that the RAC is what is refused
    renew_slc_online(deployment.enrollment_service, root, root.first_server,
                     by=deployment.user("rmsadmin"), directory=deployment.directory)
    assert_fault(ask(rac, chain), licensing + "InvalidPersonaCertTimeException")


def test_the_client_reads_faults_back_typed(deployment: Deployment,
                                            served: LoopbackService) -> None:
    chain = content_for(deployment)
    remote = RemoteLicensingService.of(deployment.root_cluster, served.port)
    with pytest.raises(RefusedError) as caught:
        acquire_use_license(remote, deployment.clients["CAROL-PC"], deployment.user("carol"),
                            chain, anchor=deployment.enrollment_service.anchor)
    assert caught.value.spec_id == "L-1"
    assert caught.value.exception.endswith("NoRightsForRequestedPrincipalException")  # type: ignore[attr-defined]
    assert "gives carol@contoso.example no rights" in caught.value.reason


def test_publishing_faults(deployment: Deployment, served: LoopbackService) -> None:
    from tests.service.test_wsdl import unsigned_publishing_license
    licensing = "Microsoft.DigitalRightsManagement.Licensing."
    unsigned = unsigned_publishing_license(deployment)

    def issue(text: str, where: str = ROOT) -> Answer:
        from rmslab.service.soap import Node
        return soap(served.port, f"{where}/licensing/publish.asmx", "PublishingService",
                    el("AcquireIssuanceLicense", el("RequestParams", el(
                        "AcquireIssuanceLicenseParams",
                        el("UnsignedIssuanceLicense", Node(text))))))
    assert_fault(issue(unsigned, LICENSING),
                 licensing + "UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException")
    start = unsigned.index('<ENABLINGBITS')
    value = unsigned.index("<VALUE", start)
    broken = unsigned[:value] + unsigned[value:].replace(">", ">AAAA", 1)
    assert_fault(issue(broken),
                 "Microsoft.DigitalRightsManagement.EnablingBitsHashDoesNotMatchException")
    assert_fault(soap(served.port, f"{ROOT}/licensing/publish.asmx", "PublishingService",
                      el("GetClientLicensorCert", el("RequestParams", el(
                          "GetClientLicensorCertParams")))),
                 "System.ArgumentNullException", "PersonaCerts")
    with pytest.raises(NotEnrolledError):
        from rmslab.flows import enroll_client
        from rmslab.service import RemoteCertificationService
        client = deployment.clients["CAROL-PC"]
        client.accounts.pop("carol")
        enroll_client(RemoteCertificationService.of(deployment.root_cluster, served.port),
                      client, deployment.user("carol"))


def test_service_location_faults(deployment: Deployment, served: LoopbackService) -> None:
    path = f"{ROOT}/certification/ServiceLocator.asmx"
    request = el("FindServiceLocationsForUser", el("ServiceNames", el(
        "ServiceLocationRequest", el("Type", "LicensingService"))))
    assert_fault(soap(served.port, path, "ServerService", request),
                 "Microsoft.DigitalRightsManagement.Utilities.UnspecifiedErrorException",
                 "authenticated")
    wrong = el("FindServiceLocationsForUser", el("ServiceNames", el(
        "ServiceLocationRequest", el("Type", "TeleportationService"))))
    assert_fault(soap(served.port, path, "ServerService", wrong,
                      headers=login(deployment.lab, deployment.user("bob"))),
                 "System.InvalidOperationException")
    assert_fault(soap(served.port, path, "ServerService", el("GetServerInfo"), versions=None),
                 "System.ArgumentNullException")
