"""Hostile requests to the lab's servers (issue 10 item 9): bad lengths, huge bodies,
deep nesting, malformed envelopes, wrong namespaces, entity bombs, rights data that does
not decode, and many stalled connections. Each gets a 4xx or a SOAP fault; the server
keeps serving (a normal request succeeds afterwards) and writes no traceback.

covers: L-1 (MS-RMPR 2.1, 3.1.4.5, 3.1.4.6)
"""

from __future__ import annotations

import base64
import io
import socket
import time
from typing import Iterator

import pytest

from rmslab.deployment import Deployment
from rmslab.flows.publishing import new_content_key, publish_offline, seal_to_server
from rmslab.rights import Grant, RightsPolicy
from rmslab.service import LoopbackService
from rmslab.service.soap import certificates_xml, el
from rmslab.xrml.licenses import (descriptor_xml, encrypted_rights_xml, license_points_xml,
                                  owner_metadata_xml, pl_work_xml, publishing_license_body)
from rmslab.xrml.reader import parse
from rmslab.xrml.writer import sign
from tests.service.wire import DRM, Answer, post, soap

SERVER = "/rms.contoso.example/_wmcs/licensing/server.asmx"
LICENSE = "/rms.contoso.example/_wmcs/licensing/license.asmx"


def raw(port: int, data: bytes, *, timeout: float = 10) -> bytes:
    """Send ``data`` as is; what comes back until the server closes or answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.endswith(b"\n"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return answer


def still_serving(service: LoopbackService) -> None:
    answer = soap(service.port, SERVER, "ServerService", el("GetLicensorCertificate"))
    assert answer.status == 200 and "<XrML" in answer.text


@pytest.fixture()
def served(deployment: Deployment, capfd: pytest.CaptureFixture[str]
           ) -> Iterator[LoopbackService]:
    with LoopbackService.of(deployment, channel_timeout=2) as service:
        yield service
        still_serving(service)
        assert service.application.internal_errors == []
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out


def test_bad_content_lengths(served: LoopbackService) -> None:
    for length in (b"-1", b"abc", b"1e9", b" 12 3", b"99999999999999999999"):
        answer = raw(served.port, b"POST " + LICENSE.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: text/xml\r\nContent-Length: " + length + b"\r\n\r\n<a/>")
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
        assert 400 <= status < 500, (length, answer[:200])
        still_serving(served)


def test_a_50_mb_body_is_refused_unread(served: LoopbackService) -> None:
    size = 50 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection:
        connection.sendall(b"POST " + LICENSE.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: text/xml\r\nContent-Length: " +
                           str(size).encode() + b"\r\n\r\n")
        sent, answer = 0, b""
        try:
            while sent < size and not answer:
                connection.sendall(b"<" * 65536)
                sent += 65536
                connection.setblocking(False)
                try:
                    answer = connection.recv(4096)
                except BlockingIOError:
                    pass
                connection.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        connection.settimeout(10)
        try:
            answer += connection.recv(4096)
        except (ConnectionResetError, socket.timeout):
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < size  # refused before the body was read
    # a chunked body past the limit, too
    chunked = raw(served.port, b"POST " + LICENSE.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" +
                  (b"100000\r\n" + b"<" * 0x100000 + b"\r\n") * 6 + b"0\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:100]


def test_deeply_nested_xml(served: LoopbackService) -> None:
    depth = 100_000
    body = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soap:Body>" + b"<a>" * depth + b"</a>" * depth + b"</soap:Body></soap:Envelope>")
    answer = post(served.port, LICENSE, body)
    assert answer.status == 400 and "not well-formed" in answer.fault


@pytest.mark.parametrize("body, words", [
    (b"", "not well-formed"),
    (b"not xml at all", "not well-formed"),
    (b"\xff\xfe<\x00a\x00/\x00>\x00", "not UTF-8"),
    (b"<Envelope/>", "not a SOAP 1.1 Envelope"),
    (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
     "exactly one element"),
    (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
     b"<a/><b/></soap:Body></soap:Envelope>", "exactly one element"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
     b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><soap:Envelope xmlns:soap='
     b'"http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&lol2;</soap:Body>'
     b"</soap:Envelope>", "DTD or entities"),
    (b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', "DTD or entities"),
])
def test_malformed_envelopes(served: LoopbackService, body: bytes, words: str) -> None:
    answer = post(served.port, LICENSE, body)
    # SOAP 1.1 section 4.4.1: an Envelope outside SOAP 1.1's namespace is a VersionMismatch
    code = "VersionMismatch" if body == b"<Envelope/>" else "Client"
    assert answer.status == (500 if code == "VersionMismatch" else 400), answer.text
    assert f"<faultcode>soap:{code}</faultcode>" in answer.text and words in answer.fault


def test_wrong_namespaces_and_operations(served: LoopbackService) -> None:
    # the licensing operation posted to the certification service, and in another namespace
    wrong_service = soap(served.port, "/rms.contoso.example/_wmcs/certification/"
                         "certification.asmx", "LicensingService", el("AcquireLicense"))
    assert wrong_service.status == 400 and "not an operation of" in wrong_service.fault
    wrong_namespace = soap(served.port, LICENSE, "LicensingServiceX", el("AcquireLicense"))
    assert wrong_namespace.status == 400 and "not an operation of" in wrong_namespace.fault
    unknown = soap(served.port, LICENSE, "LicensingService", el("GiveMeEverything"))
    assert unknown.status == 400
    soap12 = post(served.port, LICENSE,
                  b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
                  b"<x/></e:Body></e:Envelope>")
    assert soap12.status == 500 and "<faultcode>soap:VersionMismatch</faultcode>" in soap12.text
    action = soap(served.port, LICENSE, "LicensingService", el("AcquireLicense"),
                  headers={"SOAPAction": f'"{DRM}CertificationService/Certify"'})
    assert action.status == 400 and "SOAPAction" in action.fault
    nowhere = soap(served.port, "/rms.contoso.example/_wmcs/licensing/../../etc/passwd",
                   "LicensingService", el("AcquireLicense"))
    assert nowhere.status == 404
    assert post(served.port, "/nowhere.example/x.asmx", b"<a/>").status == 404


def test_certificates_that_are_not_documents(deployment: Deployment,
                                             served: LoopbackService) -> None:
    rac = deployment.clients["BOB-PC"].account("bob").rac_text
    for junk in ("<XrML><BODY>", "<Certificate>text</Certificate>", "<x:y xmlns:x='z'/>",
                 "&amp;&lt;XrML&gt;"):
        from rmslab.service.soap import Node
        request = el("AcquireLicense", el("RequestParams", el(
            "AcquireLicenseParams", certificates_xml("LicenseeCerts", rac),
            el("IssuanceLicense", el("Certificate", Node(junk))))))
        answer = soap(served.port, LICENSE, "LicensingService", request)
        assert answer.status in (400, 500) and answer.fault, (junk, answer.text[:300])


def test_rights_data_that_does_not_decode(deployment: Deployment,
                                          served: LoopbackService) -> None:
    """A publishing license correctly signed with alice's CLC whose encrypted rights are
    garbage: the server cannot read them and says so, in a fault."""
    client, alice = deployment.clients["ALICE-PC"], deployment.user("alice")
    good = publish_offline(client, alice, RightsPolicy((Grant("bob@contoso.example",
                                                               ("VIEW",)),)),
                           b"x", io.BytesIO()).publishing_license
    lab, clc_text = deployment.lab, client.account("alice").clc_text or ""
    clc = parse(clc_text)[0]
    server = clc.issuer
    assert server is not None and server.public_key is not None
    clc_key = client.clc_key("alice")
    content_key = new_content_key(lab)
    for garbage in (b"\x00" * 48, b"not a multiple of 16", lab.random_bytes(4096, "junk")):
        body = publishing_license_body(
            issued=lab.now(), descriptor=descriptor_xml(lab.guid("license")),
            issuer=clc.principals[0].identity(),
            license_points=license_points_xml((lab.guid("point"), f"{server.url}/licensing"),
                                              None),
            issued_principals=seal_to_server(lab, server.identity(), content_key),
            referral=None,
            work=pl_work_xml(lab.guid("content"), owner_metadata_xml(alice.email)),
            authenticated_data=[encrypted_rights_xml(garbage)])
        chain = sign(body, clc_key, lab.digest_algorithm) + clc_text
        request = el("AcquireLicense", el("RequestParams", el(
            "AcquireLicenseParams",
            certificates_xml("LicenseeCerts", deployment.clients["BOB-PC"]
                             .account("bob").rac_text),
            certificates_xml("IssuanceLicense", chain))))
        answer = soap(served.port, LICENSE, "LicensingService", request)
        assert answer.status == 500, answer.text[:300]
        assert "UnspecifiedErrorException" in answer.fault and "cannot be read" in answer.fault
    assert good  # the same author's well-formed license is licensed (still_serving after)


def test_many_stalled_connections(served: LoopbackService) -> None:
    """Three hundred connections that send half a request and stall hold no worker: a
    normal request is answered at once, and the stalled ones are dropped after the
    channel timeout."""
    stalled = []
    try:
        for _ in range(300):
            connection = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            connection.sendall(b"POST " + LICENSE.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: 1000\r\n\r\n<soap:Env")
            stalled.append(connection)
        started = time.monotonic()
        still_serving(served)
        assert time.monotonic() - started < 5
        time.sleep(4.5)  # channel_timeout 2 s, checked every second
        closed = 0
        for connection in stalled:
            connection.settimeout(0.5)
            try:
                closed += connection.recv(1) == b""
            except (ConnectionResetError, socket.timeout):
                closed += 1
        assert closed == len(stalled)
    finally:
        for connection in stalled:
            connection.close()


def test_get_and_other_methods(served: LoopbackService) -> None:
    assert raw(served.port, b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert raw(served.port, b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n") \
        .startswith(b"HTTP/1.1 404")
    answer = Answer(0, raw(served.port, b"GET " + LICENSE.encode() +
                           b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert answer.body.startswith(b"HTTP/1.1 404")
    assert base64  # (imported for the tests above)
