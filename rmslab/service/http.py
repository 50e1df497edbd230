"""The lab's servers on a production WSGI server (waitress) on loopback, and the clients
that speak MS-RMPR's SOAP to them (SPEC E-3, E-7, E-9, L-1, P-7, R-4, S-2).

:class:`LoopbackService` runs :class:`rmslab.service.app.RmsApplication` under waitress
on ``127.0.0.1`` (a free port): a thread pool, a request body limit, an idle-channel
timeout and a bounded number of connections, so a hostile or slow client gets a 4xx or
is dropped, and the server keeps serving.

The clients — :class:`RemoteLicensingService`, :class:`RemoteCertificationService`,
:class:`RemoteEnrollmentService` and :class:`HttpTransport` — have the interfaces the
flows use in process, so the flows run over the wire unchanged. They name the lab's
made-up hosts in the ``Host`` header. A SOAP answer carries no trace: the client
records the round trip in the caller's Trace as two steps — the request it sent and
the answer (or fault) it received, each message attached as a document.
"""

from __future__ import annotations

import base64
import http.client
import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, TypeVar
from urllib.parse import urlsplit

from rmslab.errors import InputError, NotConnectedError, RmslabError
from rmslab.service import faults
from rmslab.service.app import (MAX_REQUEST_BYTES, Provider, RmsApplication, Served,
                                from_store, in_memory)
from rmslab.service.auth import basic_authorization
from rmslab.service.soap import (OPERATIONS, VERSION_1_0, EnvelopeError, Node,
                                 certificates_xml, el, read_envelope, read_fault,
                                 write_envelope)
from rmslab.trace import DocumentRef, Trace

if TYPE_CHECKING:
    from rmslab.actors.cluster import Cluster
    from rmslab.actors.enrollment_service import EnrollmentService
    from rmslab.actors.people import Directory, User
    from rmslab.actors.web import Web
    from rmslab.crypto.rsa import PublicKey
    from rmslab.deployment import Deployment
    from rmslab.service.soap import Envelope
    from rmslab.store.labdb import LabStore

__all__ = ["LoopbackService", "HttpTransport", "RemoteCertificationService",
           "RemoteEnrollmentService", "RemoteLicensingService", "RemotePublishingService",
           "SoapClient",
           "enroll_request"]

_MAX_RESPONSE = 32 * 1024 * 1024

logging.getLogger("waitress").addHandler(logging.NullHandler())


class LoopbackService:
    """Serves a deployment's published documents, clusters and enrollment service on
    ``127.0.0.1`` under waitress until closed. Use as a context manager.

    ``channel_timeout`` closes a connection idle (or stalled mid-request) that long;
    ``connection_limit`` bounds the connections held at once; requests larger than
    ``max_request`` bytes are refused (413)."""

    def __init__(self, web: Web, *, enrollment: EnrollmentService | None = None,
                 clusters: Iterable[Cluster] = (), anchor: PublicKey | None = None,
                 directory: Directory | None = None, provider: Provider | None = None,
                 threads: int = 4, channel_timeout: float = 30.0,
                 connection_limit: int = 1000, max_request: int = MAX_REQUEST_BYTES) -> None:
        from rmslab.service.serve import create_waitress
        clusters = tuple(clusters)
        lab = (enrollment.lab if enrollment is not None else
               clusters[0].lab if clusters else None)
        if provider is None:
            if lab is None:
                from rmslab.lab import Lab
                lab = Lab()
            served = Served(lab, web, clusters, enrollment, directory,
                            anchor or (enrollment.anchor if enrollment is not None else None))
            provider = in_memory(served)
        self.web = web
        self.application = RmsApplication(provider, max_request=max_request)
        self._server = create_waitress(
            self.application, host="127.0.0.1", port=0, threads=threads,
            channel_timeout=channel_timeout, connection_limit=connection_limit,
            max_request=max_request)
        self._closing = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="rmslab-waitress")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._closing:
                raise  # a real failure of the loop; at shutdown, closed sockets are expected

    @classmethod
    def of(cls, deployment: Deployment, **options: object) -> "LoopbackService":
        """Serve everything of ``deployment``."""
        return cls(deployment.web, enrollment=deployment.enrollment_service,
                   clusters=deployment.clusters.values(),
                   anchor=deployment.enrollment_service.anchor,
                   directory=deployment.directory, **options)  # type: ignore[arg-type]

    @classmethod
    def of_lab(cls, store: LabStore, **options: object) -> "LoopbackService":
        """Serve the lab on disk that ``store`` opens, a transaction per request that may
        change it (:func:`rmslab.service.app.from_store`): commands run on the same lab
        meanwhile, and neither loses what the other did."""
        with store.read() as snapshot:
            web = snapshot.web
        return cls(web, provider=from_store(store), **options)  # type: ignore[arg-type]

    @property
    def port(self) -> int:
        return int(self._server.effective_port)  # type: ignore[union-attr]

    def close(self) -> None:
        server: Any = self._server

        def close_all() -> None:  # runs in the server's loop thread, between polls
            for channel in list(server._map.values()):
                try:
                    channel.close()
                except OSError:
                    pass
        self._closing = True
        if self._thread.is_alive():
            try:
                server.trigger.pull_trigger(close_all)
            except OSError:  # the trigger is gone: close from here, the loop notices
                close_all()
            self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()

    def __enter__(self) -> "LoopbackService":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


# --- the client side -----------------------------------------------------------------------


def _endpoint(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not an http(s) URL")
    return parts.hostname, parts.path or "/"


class SoapClient:
    """Sends one SOAP 1.1 request to a lab host over loopback and reads the answer: the
    response envelope, or the fault raised as the typed rmslab error
    (:func:`rmslab.service.faults.error_for`)."""

    def __init__(self, port: int, *, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout

    def post(self, url: str, body: bytes, *, action: str, authorization: str | None = None
             ) -> tuple[int, bytes]:
        host, path = _endpoint(url)
        headers = {"Host": host, "Content-Type": "text/xml; charset=utf-8",
                   "SOAPAction": f'"{action}"'}
        if authorization:
            headers["Authorization"] = authorization
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(_MAX_RESPONSE + 1)
        except OSError as exc:
            raise NotConnectedError(f"the service at {url} does not answer ({exc})") from None
        finally:
            connection.close()
        return response.status, data

    def call(self, url: str, operation: str, request: Node, *, trace: Trace, sender: str,
             server: str, spec_id: str, authorization: str | None = None,
             versions: tuple[str, str] = (VERSION_1_0, VERSION_1_0)) -> Envelope:
        """Send ``request`` (the body element of ``operation``) to ``url``; record the
        round trip in ``trace``; return the answer's envelope."""
        definition = OPERATIONS[operation]
        body = write_envelope(definition.service.namespace, request, versions=versions)
        trace.step(sender, f"sends {operation} to {url} (SOAP 1.1{', authenticated' if authorization else ''})",
                   server, documents=[DocumentRef(f"{operation} request", body.decode("utf-8"),
                                                  "SOAP request")])
        try:
            status, data = self.post(url, body, action=definition.action,
                                     authorization=authorization)
        except NotConnectedError as exc:
            trace.check(spec_id, f"{server} answers", False, str(exc))
            raise NotConnectedError(exc.reason, spec_id=spec_id, trace=trace) from None
        if len(data) > _MAX_RESPONSE:
            raise InputError(f"the answer from {url} is larger than {_MAX_RESPONSE} bytes")
        try:
            envelope = read_envelope(data)
        except EnvelopeError:
            trace.check(spec_id, f"{server} answers {operation}", False, f"HTTP {status}")
            raise InputError(f"the service at {url} answered {status}: "
                             f"{data[:200].decode('utf-8', 'replace').strip()}") from None
        text = data.decode("utf-8")
        fault = read_fault(envelope)
        if fault is not None:
            trace.step(server, f"answers {operation} with a SOAP fault: "
                               f"{fault.exception}", sender,
                       documents=[DocumentRef(f"{operation} fault", text, "SOAP fault")])
            trace.check(fault.spec_id or spec_id, f"{server} answers {operation}", False,
                        fault.string)
            error = faults.error_for(fault, trace=trace)
            if not getattr(error, "spec_id", None) and hasattr(error, "spec_id"):
                error.spec_id = spec_id  # type: ignore[attr-defined]
            raise error
        if status != 200:
            raise InputError(f"the service at {url} answered {status}")
        trace.step(server, f"answers {operation}", sender,
                   documents=[DocumentRef(f"{operation} response", text, "SOAP response")])
        return envelope


def _certificate_chain(envelope: Envelope, *path: str) -> str:
    """The chain in the ArrayOfXmlNode at ``path`` under the body (each document exactly
    as the server wrote it)."""
    node = envelope.find(envelope.body, *path)
    chain = envelope.chain(node)
    if chain is None:
        raise InputError(f"the answer holds no {'/'.join(path)}")
    return chain


class _RemoteClusterService:
    """A cluster's services reached over loopback at the cluster's base URL: its name and
    first server as the cluster publishes them. ``passwords`` are the logins the client
    holds (user name → password): a request for a user is authenticated as that user."""

    def __init__(self, port: int, *, url: str, name: str, server_name: str,
                 timeout: float = 30.0, passwords: Mapping[str, str] | None = None) -> None:
        self.port = port
        self.url = url.rstrip("/")
        self.name = name
        self._server_name = server_name
        self.timeout = timeout
        self.passwords = dict(passwords or {})
        self._client = SoapClient(port, timeout=timeout)

    @classmethod
    def of(cls: type[_Service], cluster: Cluster, port: int, *,
           passwords: Mapping[str, str] | None = None) -> _Service:
        return cls(port, url=cluster.url, name=cluster.name,
                   server_name=cluster.first_server.name, passwords=passwords)

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def reachable(self) -> bool:
        return True  # the network decides: an unreachable service fails the request

    def _authorization(self, user: User | None) -> str | None:
        if user is None or user.name not in self.passwords:
            return None
        return basic_authorization(user.account, self.passwords[user.name])

    def _call(self, path: str, operation: str, request: Node, *, trace: Trace, sender: str,
              spec_id: str, user: User | None = None) -> Envelope:
        return self._client.call(f"{self.url}/{path}", operation, request, trace=trace,
                                 sender=sender, server=self.server_name, spec_id=spec_id,
                                 authorization=self._authorization(user))


_Service = TypeVar("_Service", bound=_RemoteClusterService)


class RemoteLicensingService(_RemoteClusterService):
    """A cluster's licensing service over SOAP (``licensing/license.asmx``,
    AcquireLicense, MS-RMPR 3.4.4.1): the interface of
    :class:`rmslab.flows.licensing.LicensingEndpoint` (L-1, P-7)."""

    def license(self, protected_chain: str, rac_text: str, *, anchor: PublicKey,
                trace: Trace, to: str) -> str:
        params = el("AcquireLicenseParams", certificates_xml("LicenseeCerts", rac_text),
                    certificates_xml("IssuanceLicense", protected_chain))
        answer = self._call("licensing/license.asmx", "AcquireLicense",
                            el("AcquireLicense", el("RequestParams", params)),
                            trace=trace, sender=to, spec_id="L-1")
        return _certificate_chain(answer, "AcquireLicenseResult", "AcquireLicenseResponse",
                                  "CertificateChain")


class RemotePublishingService(_RemoteClusterService):
    """A cluster's online publishing over SOAP (P-8; MS-RMPR 3.8.4.3): the SLC chain from
    ``licensing/server.asmx`` (GetLicensorCertificate, 3.7.4.1) and the signed publishing
    license from ``licensing/publish.asmx`` (AcquireIssuanceLicense, 3.5.4.1), both
    anonymous — online publishing needs no RAC. The interface of
    :class:`rmslab.flows.publishing.PublishingEndpoint`."""

    def licensor_certificate(self, *, trace: Trace, to: str) -> str:
        answer = self._call("licensing/server.asmx", "GetLicensorCertificate",
                            el("GetLicensorCertificate"), trace=trace, sender=to,
                            spec_id="P-8")
        return _certificate_chain(answer, "GetLicensorCertificateResult", "CertificateChain")

    def issuance_license(self, unsigned: str, *, trace: Trace, to: str) -> str:
        params = el("AcquireIssuanceLicenseParams",
                    el("UnsignedIssuanceLicense", Node(unsigned)))
        answer = self._call("licensing/publish.asmx", "AcquireIssuanceLicense",
                            el("AcquireIssuanceLicense", el("RequestParams", params)),
                            trace=trace, sender=to, spec_id="P-8")
        return _certificate_chain(answer, "AcquireIssuanceLicenseResult",
                                  "AcquireIssuanceLicenseResponse", "CertificateChain")


class RemoteCertificationService(_RemoteClusterService):
    """A cluster's certification over SOAP (E-7, E-9): account certification
    (``certification/certification.asmx``, Certify, MS-RMPR 3.3 — authenticated as the
    user with the password the client holds for them) and client enrollment
    (``licensing/publish.asmx``, GetClientLicensorCert, 3.5.4.2). The interface of
    :class:`rmslab.flows.certification.CertificationEndpoint`. Machine activation is
    not among them: a version 2 client activates itself (3.8.4.1)."""

    def certify_account(self, user: User, machine_certificate: str | None, *,
                        temporary: bool, trace: Trace) -> str:
        params = el("requestParams",
                    certificates_xml("MachineCertificateChain", machine_certificate),
                    el("Persistent", "false" if temporary else "true"))
        answer = self._call("certification/certification.asmx", "Certify",
                            el("Certify", params), trace=trace, sender=str(user),
                            spec_id="E-9", user=user)
        return _certificate_chain(answer, "CertifyResult", "CertificateChain")

    def enroll_client(self, user: User, machine: str, rac: str | None, *,
                      trace: Trace) -> str:
        params = el("GetClientLicensorCertParams", certificates_xml("PersonaCerts", rac))
        answer = self._call("licensing/publish.asmx", "GetClientLicensorCert",
                            el("GetClientLicensorCert", el("RequestParams", params)),
                            trace=trace, sender=machine, spec_id="E-7", user=user)
        return _certificate_chain(answer, "GetClientLicensorCertResult",
                                  "GetClientLicensorCertResponse", "CertificateChain")


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class HttpTransport:
    """Fetches published documents (revocation lists, R-4) from a :class:`LoopbackService`
    over HTTP, naming the document's host in the ``Host`` header."""

    def __init__(self, port: int, *, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout

    def get(self, url: str) -> str:
        host, path = _endpoint(url)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            body = response.read(_MAX_RESPONSE + 1)
        except OSError as exc:
            raise NotConnectedError(f"the service for {url} does not answer ({exc})",
                                    spec_id="R-4") from None
        finally:
            connection.close()
        if response.status == 404:
            raise InputError(f"nothing is published at {url}")
        if response.status != 200 or len(body) > _MAX_RESPONSE:
            raise InputError(f"{url}: the service answered {response.status}")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{url}: the answer is not UTF-8 text") from None


class RemoteEnrollmentService:
    """The enrollment service over SOAP (Enroll, MS-RMPR 3.6): the interface of the
    service itself, so enrollment and renewal run unchanged over the wire. Online
    requests go to ``/enrollment/enrollservice.asmx``; a request file submitted from a
    connected computer to ``/offlineenroll/Enrollment.aspx`` (3.6.4.2). ``anchor``,
    ``url``, ``tls_root`` and ``name`` are what the service publishes out of band (the
    root key ships with the server software)."""

    def __init__(self, port: int, *, anchor: PublicKey, url: str, tls_root: str,
                 name: str = "rmslab Enrollment Service", timeout: float = 30.0) -> None:
        self.port = port
        self._anchor = anchor
        self.url = url
        self.tls_root = tls_root
        self.name = name
        self.timeout = timeout
        self._client = SoapClient(port, timeout=timeout)

    @classmethod
    def of(cls, service: EnrollmentService, port: int) -> "RemoteEnrollmentService":
        return cls(port, anchor=service.anchor, url=service.url, tls_root=service.tls_root,
                   name=service.name)

    @property
    def anchor(self) -> PublicKey:
        return self._anchor

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def enroll(self, request_text: str, *, trace: Trace, channel: str) -> str:
        return self._enroll(request_text, trace, channel)

    def renew(self, request_text: str, *, trace: Trace, channel: str) -> str:
        return self._enroll(request_text, trace, channel)

    def _enroll(self, request_text: str, trace: Trace, channel: str) -> str:
        path = ("enrollment/enrollservice.asmx" if channel == "online"
                else "offlineenroll/Enrollment.aspx")
        answer = self._client.call(f"https://{self.host}/{path}", "Enroll",
                                   enroll_request(request_text), trace=trace,
                                   sender=channel == "online" and "the server" or "the "
                                   "connected computer", server=self.name, spec_id="E-3")
        strings = answer.findall(answer.find(answer.body, "EnrollResult",
                                             "LicensorCertificateChain"), "string")
        if not strings:
            raise InputError("the enrollment service answered no certificate chain")
        return "".join(s.text or "" for s in strings)


def enroll_request(request_text: str) -> Node:
    """The Enroll element (MS-RMPR 3.6.4.1.3.1) for an enrollment request: the
    ``EnrollParameters`` of the request, as ``oInput``. A request that cannot be read is
    sent as it is, for the service to refuse."""
    from rmslab.xrml.certificates import EnrollParameters
    try:
        parameters = EnrollParameters.from_xml(request_text)
    except RmslabError:
        return el("Enroll", el("oInput", Node(_xml_text(request_text))))
    return el("Enroll", el("oInput", Node(parameters.children("m"))))
