"""A SOAP client built by zeep from each of MS-RMPR's WSDL files, unchanged, calls every
operation of the lab's servers: what it receives verifies to the lab's anchor, and a use
license obtained this way binds. Every message rmslab answers or sends validates
against the WSDL's schema.

covers: E-3, E-7, E-9, L-1, P-7, P-8, D-5 (MS-RMPR 3.1.4.2, 3.2–3.7, section 6)
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.transports import Transport

from rmslab.actors import ROOT
from rmslab.actors.client import Account
from rmslab.deployment import Deployment
from rmslab.flows import activate_machine, certify_account, enroll_client, enroll_root_cluster
from rmslab.flows.binding import AppSession, bind
from rmslab.flows.enrollment import make_request
from rmslab.flows.licensing import acquire_use_license
from rmslab.flows.publishing import publish_offline
from rmslab.lab import Lab
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import (LoopbackService, RemoteCertificationService,
                            RemoteEnrollmentService, RemoteLicensingService, password_for)
from rmslab.service.soap import read_envelope
from rmslab.trace import Trace
from rmslab.trust import validate_chain
from rmslab.xrml import parse
from rmslab.xrml.certificates import EnrollParameters
from rmslab.xrml.writer import element, public_key_xml

VERSION = {"MinimumVersion": "1.0.0.0", "MaximumVersion": "1.0.0.0"}


class ExactTransport(Transport):
    """zeep's transport, keeping what went over the wire. zeep writes the envelope with
    lxml, which writes an empty element ``<X/>`` where RMS and .NET write ``<X />``;
    inside a signed BODY that changes the digest, so the XrML documents given to zeep
    are put back into the message exactly as written before it is sent."""

    def __init__(self, session: requests.Session | None = None) -> None:
        super().__init__(session=session)
        self.originals: dict[bytes, bytes] = {}
        self.received: list[bytes] = []

    def document(self, text: str) -> etree._Element:
        """``text`` as the lxml element zeep takes, remembering how it was written."""
        element_ = etree.fromstring(text)
        self.originals[etree.tostring(element_)] = text.encode("utf-8")
        return element_

    def post_xml(self, address: str, envelope: etree._Element, headers: dict[str, str]) -> Any:
        message = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        for written, original in self.originals.items():
            message = message.replace(written, original)
        response = self.post(address, message, headers)
        self.received.append(response.content)
        return response

    def last_chain(self, *path: str) -> str:
        """The chain at ``path`` in the last answer, each document exactly as sent."""
        answer = read_envelope(self.received[-1])
        chain = answer.chain(answer.find(answer.body, *path))
        assert chain is not None
        return chain


def array(transport: ExactTransport, chain: str) -> dict[str, list[dict[str, Any]]]:
    """An ArrayOfXmlNode value for zeep: one Certificate per document."""
    return {"Certificate": [{"_value_1": transport.document(d.text)} for d in parse(chain)]}


def service(wsdl: Path, name: str, binding: str, url: str, transport: ExactTransport) -> Any:
    namespace = etree.parse(str(wsdl / name)).getroot().get("targetNamespace")
    client = zeep.Client(str(wsdl / name), transport=transport)
    return client.create_service(f"{{{namespace}}}{binding}", url)


@pytest.fixture()
def served(deployment: Deployment) -> Any:
    with LoopbackService.of(deployment) as http:
        exchanges: list[tuple[bytes, str, bytes]] = []
        http.application.on_exchange = lambda request, status, answer: exchanges.append(
            (request, status, answer))
        http.exchanges = exchanges  # type: ignore[attr-defined]
        yield http
        assert http.application.internal_errors == []


def test_zeep_calls_every_operation(deployment: Deployment, served: Any, wsdl: Path,
                                    validate_message: Callable[[bytes], str]) -> None:
    anchor = deployment.enrollment_service.anchor
    now = deployment.lab.now()
    base = f"http://127.0.0.1:{served.port}/rms.contoso.example/_wmcs"
    bob, client = deployment.user("bob"), deployment.clients["BOB-PC"]
    session = requests.Session()
    session.auth = (bob.account, password_for(deployment.lab, bob))
    wire = ExactTransport(session)

    # certification/server.asmx and ServiceLocator.asmx (MS-RMPR 3.7)
    server = service(wsdl, "server.wsdl", "ServerSoap", f"{base}/certification/server.asmx",
                     wire)
    answer = server.GetLicensorCertificate(_soapheaders={"VersionData": VERSION})
    documents = len(parse(deployment.root_cluster.slc_text or ""))
    assert len(answer.body.GetLicensorCertificateResult.CertificateChain.Certificate) == documents
    slc = wire.last_chain("GetLicensorCertificateResult", "CertificateChain")
    assert slc == deployment.root_cluster.slc_text
    validate_chain(parse(slc), anchor, at=now)
    locator = service(wsdl, "server.wsdl", "ServerSoap",
                      f"{base}/licensing/ServiceLocator.asmx", wire)
    found = locator.FindServiceLocationsForUser(
        ServiceNames={"ServiceLocationRequest": [{"Type": "LicensingService"},
                                                 {"Type": "CertificationService"}]},
        _soapheaders={"VersionData": VERSION})
    urls = {r.Type: r.URL for r in found.body.FindServiceLocationsForUserResult
            .ServiceLocationResponse}
    assert urls == {"LicensingService": "https://rms.contoso.example/_wmcs/licensing",
                    "CertificationService": "https://rms.contoso.example/_wmcs/certification"}
    info = server.GetServerInfo(requests={"ServerInfoRequest": [
        {"Type": t} for t in ("VersionInfo", "ServerFeatureInfo", "ServerLicensorCertificate",
                              "ServiceLocations")]})  # its binding has no VersionData
    results = info if info.tag == "Results" else info[0]  # the result's <Results>
    assert [r.get("Type") for r in results] == ["VersionInfo", "ServerFeatureInfo",
                                                "ServerLicensorCertificate", "ServiceLocations"]
    assert len(results[2][0]) == documents  # the SLC chain's XrML documents

    # Activate (3.2) is for version 1.0 clients only: a fault that says so. Certify (3.3):
    # a RAC for bob only, for the SPC chain the client made itself (3.8.4.1)
    activation = service(wsdl, "activation.wsdl", "ActivationProxyWebServiceSoap",
                         f"{base}/certification/Activation.asmx", wire)
    hid = etree.fromstring(element("MACHINE", (), element("NAME", (), "BOB-PC"),
                                   public_key_xml(client.machine_key.public)))
    with pytest.raises(Fault, match="activate themselves"):
        activation.Activate(requestParams={"ActivateParams": [{"HidXml": {"_value_1": hid}}]},
                            _soapheaders={"VersionData": VERSION})
    machine = client.machine_certificate_text or ""
    validate_chain(parse(machine), anchor, at=now)
    certification = service(wsdl, "certification.wsdl", "CertificationWebServiceSoap",
                            f"{base}/certification/certification.asmx", wire)
    certification.Certify(requestParams={"MachineCertificateChain": array(wire, machine),
                                         "Persistent": True},
                          _soapheaders={"VersionData": VERSION})
    rac = wire.last_chain("CertifyResult", "CertificateChain")
    validate_chain(parse(rac), anchor, at=now)
    assert parse(rac)[0].principals[0].name == "bob@contoso.example"
    client.accounts["bob"] = Account("bob", rac)
    assert client.account_key("bob").public == parse(rac)[0].principals[0].public_key

    # publish.asmx (3.5): bob's CLC, and a publishing license the server signs
    publish = service(wsdl, "publishing.wsdl", "PublishSoap", f"{base}/licensing/publish.asmx",
                      wire)
    publish.GetClientLicensorCert(
        RequestParams={"GetClientLicensorCertParams": [{"PersonaCerts": array(wire, rac)}]},
        _soapheaders={"VersionData": VERSION})
    clc = wire.last_chain("GetClientLicensorCertResult", "GetClientLicensorCertResponse",
                          "CertificateChain")
    validate_chain(parse(clc), anchor, at=now)
    client.accounts["bob"].clc_text = clc
    assert client.clc_key("bob").public == parse(clc)[0].principals[0].public_key
    unsigned = unsigned_publishing_license(deployment)
    publish.AcquireIssuanceLicense(
        RequestParams={"AcquireIssuanceLicenseParams": [
            {"UnsignedIssuanceLicense": {"_value_1": wire.document(unsigned)}}]},
        _soapheaders={"VersionData": VERSION})
    signed = wire.last_chain("AcquireIssuanceLicenseResult", "AcquireIssuanceLicenseResponse",
                             "CertificateChain")
    validate_chain(parse(signed), anchor, at=now)
    # the server wrote its own BODY around the client's WORK and rights (MS-RMPR 3.5.4.1)
    signed_pl, client_pl = parse(signed)[0], parse(unsigned)[0]
    assert signed_pl.issuer_key == deployment.root_cluster.key.public
    assert signed_pl.element_text("BODY/WORK") == client_pl.element_text("BODY/WORK")
    assert [d.type for d in signed_pl.distribution_points] == [
        "License-Acquisition-URL", "Extranet-License-Acquisition-URL", "Referral-Info"]

    # license.asmx (3.4.4.1): carol's content for bob; the use license binds
    chain = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                            RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)),
                            b"minutes", io.BytesIO()).publishing_license
    license_ = service(wsdl, "licensing.wsdl", "LicenseSoap", f"{base}/licensing/license.asmx",
                       wire)
    license_.AcquireLicense(RequestParams={"AcquireLicenseParams": [
        {"LicenseeCerts": array(wire, rac), "IssuanceLicense": array(wire, chain)}]},
        _soapheaders={"VersionData": VERSION})
    use_license = wire.last_chain("AcquireLicenseResult", "AcquireLicenseResponse",
                                  "CertificateChain")
    validate_chain(parse(use_license), anchor, at=now)
    client.accounts["bob"].licenses[parse(chain)[0].content_id or ""] = use_license
    assert bind(AppSession(client, bob), chain, "VIEW", anchor=anchor).allowed

    # templateDistribution.asmx (3.4.4.2, 3.4.4.3)
    templates = service(wsdl, "template-distribution.wsdl",
                        "TemplateDistributionWebServiceSoap",
                        f"{base}/licensing/templateDistribution.asmx", wire)
    information = templates.AcquireTemplateInformation(_soapheaders={"VersionData": VERSION})
    result = information.body.AcquireTemplateInformationResult
    assert result.GuidHashCount == len(result.GuidHash) == len(deployment.root_cluster.templates)
    assert base64.b64decode(result.ServerPublicKey) == \
        deployment.root_cluster.key.public.to_pkcs1_der()
    got = templates.AcquireTemplates(guids={"string": [g.Guid for g in result.GuidHash]},
                                     _soapheaders={"VersionData": VERSION})
    for item in got.body.AcquireTemplatesResult.GuidTemplate:
        validate_chain(parse(item.Template), anchor, at=now)
        assert parse(item.Template)[0].element.findtext("SIGNATURE/DIGEST/VALUE") == item.Hash

    for request, status, response in served.exchanges:
        validate_message(request)
        validate_message(response)
        # every operation answers, Activate with its fault (version 1.0 clients only)
        assert status.startswith("200") or b"activate themselves" in response, response


def unsigned_publishing_license(deployment: Deployment) -> str:
    """What a client sends AcquireIssuanceLicense (MS-RMPR 3.5.4.1, 3.8.4.3): a publishing
    license naming the root cluster as its issued principal, the content key sealed to it
    and bound to that ISSUEDPRINCIPALS, unsigned."""
    from rmslab.flows.publishing import build_unsigned_license
    cluster = deployment.root_cluster
    assert cluster.slc_text is not None
    unsigned, _, _ = build_unsigned_license(
        deployment.lab, deployment.user("alice"), cluster.slc_text,
        RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)))
    return unsigned


def test_zeep_enrolls_a_root_cluster(wsdl: Path,
                                     validate_message: Callable[[bytes], str]) -> None:
    """Enroll (MS-RMPR 3.6.4.1) from zeep: the SLC chain verifies to the anchor and
    certifies the cluster's key."""
    deployment = Deployment(Lab(seed=11))
    cluster = deployment.add_cluster("fabrikam-root", "https://rms.fabrikam.example/_wmcs",
                                     role=ROOT, first_server="FAB01")
    request = EnrollParameters.from_xml(make_request(cluster, trace=Trace("enrollment")))
    assert request.proof is not None
    with LoopbackService(deployment.web, enrollment=deployment.enrollment_service) as http:
        exchanges: list[bytes] = []
        http.application.on_exchange = lambda q, s, a: exchanges.extend((q, a))
        enroll = service(wsdl, "enrollment-cloud.wsdl", "EnrollServiceSoap",
                         f"http://127.0.0.1:{http.port}/enroll.rmslab.example/enrollment/"
                         "enrollservice.asmx", ExactTransport())
        answer = enroll.Enroll(oInput={
            "AuthorizationInformation": {"SignedDataBase64Encoded":
                                         base64.b64encode(request.proof).decode()},
            "RevocationInformation": {"RevocationType": "StandardRevocation"},
            "CertificatePublicKey": {"aPublicKeyBytes": cluster.key.public.to_pkcs1_der(),
                                     "Guid": request.guid.strip("{}")},
            "EnrolleeInformation": {"SKU": cluster.sku, "Version": cluster.version,
                                    "Name": "rms.fabrikam.example", "URL": cluster.url}},
            _soapheaders={"VersionData": VERSION})
        strings = answer.body.EnrollResult.LicensorCertificateChain.string
        response = "".join(strings)
        chain = parse(response)
        validate_chain(chain, deployment.enrollment_service.anchor, at=deployment.lab.now())
        assert chain[0].certifies(cluster.key.public)
        for message in exchanges:
            validate_message(message)


def test_every_message_of_the_flows_validates(deployment: Deployment, served: Any,
                                              validate_message: Callable[[bytes], str]) -> None:
    """The flows over SOAP — certification, client enrollment, licensing, and a refusal
    (activation contacts no server, MS-RMPR 3.8.4.1) — write and receive only messages the WSDL's schema accepts."""
    root = deployment.root_cluster
    carol = deployment.user("carol")
    remote = RemoteCertificationService.of(root, served.port,
                                           passwords={"carol": password_for(deployment.lab,
                                                                            carol)})
    client = deployment.clients["CAROL-PC"]
    for trace in (activate_machine(client),
                  certify_account(remote, client, carol, temporary=True),
                  enroll_client(remote, client, carol)):
        assert trace.passed
    chain = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                            RightsPolicy((Grant("carol@contoso.example", ("VIEW",)),)),
                            b"minutes", io.BytesIO()).publishing_license
    licensing = RemoteLicensingService.of(root, served.port)
    acquire_use_license(licensing, client, carol, chain,
                        anchor=deployment.enrollment_service.anchor)
    with pytest.raises(Exception):
        acquire_use_license(licensing, deployment.clients["BOB-PC"], deployment.user("bob"),
                            chain, anchor=deployment.enrollment_service.anchor)
    names = []
    for request, _status, response in served.exchanges:
        names.append(validate_message(request))
        validate_message(response)
    assert names == ["Certify", "GetClientLicensorCert", "AcquireLicense", "AcquireLicense"]


def test_enrollment_and_renewal_messages_validate(
        validate_message: Callable[[bytes], str]) -> None:
    from rmslab.flows import renew_slc_online
    deployment = Deployment(Lab(seed=11))
    deployment.directory.add_user("rmsadmin", groups=("Domain Admins",))
    cluster = deployment.add_cluster("fabrikam-root", "https://rms.fabrikam.example/_wmcs",
                                     role=ROOT, first_server="FAB01",
                                     administrators={"rmsadmin"})
    with LoopbackService(deployment.web, enrollment=deployment.enrollment_service) as http:
        messages: list[bytes] = []
        http.application.on_exchange = lambda q, s, a: messages.extend((q, a))
        endpoint = RemoteEnrollmentService.of(deployment.enrollment_service, http.port)
        enroll_root_cluster(endpoint, cluster, by=deployment.user("rmsadmin"))
        deployment.lab.advance(days=10)
        renew_slc_online(endpoint, cluster, cluster.first_server,
                         by=deployment.user("rmsadmin"), directory=deployment.directory)
    assert [validate_message(m) for m in messages] == ["Enroll", "EnrollResponse"] * 2
