"""A real HTTP server on loopback, and the client side of it (SPEC E-3, S-2, R-4).

* ``GET /HOST/PATH`` — a document published at ``https://HOST/PATH`` (revocation lists).
* ``POST /HOST/_wmcs/licensing`` — a use license request to the cluster at ``HOST``:
  JSON ``{"publishing_license", "rac", "to"}``; answer ``{"use_license", "trace"}`` or
  403 with the refusal (L-1, P-7).
* ``POST /HOST/_wmcs/certification/activate``, ``…/account`` and ``…/client`` — machine
  activation, account certification and client enrollment by the root cluster at
  ``HOST`` (E-7, E-9): JSON ``{"machine", "machine_key"}`` (PEM), ``{"user",
  "machine_certificate", "temporary"}`` or ``{"user", "machine", "rac"}``; answer
  ``{"certificate", "trace"}`` (the certificate followed by the cluster's SLC) or 403.
* ``POST /enroll`` and ``POST /renew`` — an enrollment or renewal request (the XML text);
  the answer is JSON: ``{"response": XML, "trace": …}``, or, when the service refuses,
  status 403 and ``{"refused": {"error", "reason", "spec_id"}, "trace": …}``. The trace
  carries the steps the service recorded, so the caller's Trace stays whole.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import quote, urlsplit

from typing import TYPE_CHECKING, Any, Iterable, TypeVar

from rmslab import errors
from rmslab.actors.web import Web
from rmslab.crypto.rsa import PublicKey
from rmslab.errors import InputError, NotConnectedError, RefusedError
from rmslab.trace import Trace

if TYPE_CHECKING:
    from rmslab.actors.cluster import Cluster
    from rmslab.actors.enrollment_service import EnrollmentService
    from rmslab.actors.people import Directory, User

__all__ = ["LoopbackService", "HttpTransport", "RemoteCertificationService",
           "RemoteEnrollmentService", "RemoteLicensingService"]

_MAX_REQUEST = 1024 * 1024

_MAX_RESPONSE = 32 * 1024 * 1024


def _path_for(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not an http(s) URL")
    return "/" + quote(parts.hostname) + (parts.path or "/")


class LoopbackService:
    """Serves a :class:`~rmslab.actors.web.Web` — and, when given, an enrollment service —
    on ``127.0.0.1`` (a free port) until closed. Use as a context manager."""

    def __init__(self, web: Web, *, enrollment: EnrollmentService | None = None,
                 clusters: Iterable[Cluster] = (), anchor: PublicKey | None = None,
                 directory: Directory | None = None) -> None:
        self.web = web
        published = web
        service = enrollment
        clusters = tuple(clusters)
        licensing = {f"/{urlsplit(c.url).hostname}/_wmcs/licensing": c for c in clusters}
        certification = {f"/{urlsplit(c.url).hostname}/_wmcs/certification/{request}": (c, request)
                         for c in clusters for request in ("activate", "account", "client")}
        trust = anchor or (enrollment.anchor if enrollment is not None else None)

        class Handler(BaseHTTPRequestHandler):
            server_version = "rmslab"

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                documents = {_path_for(url): text for url, text in published.published().items()}
                text = documents.get(self.path)
                if text is None:
                    self.send_error(404, "nothing is published here")
                    return
                body = text.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                cluster = licensing.get(self.path)
                certifying = certification.get(self.path)
                enrolling = service is not None and self.path in ("/enroll", "/renew")
                if cluster is None and certifying is None and not enrolling:
                    self.send_error(404, "no such endpoint")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_REQUEST:
                    self.send_error(413, "request too large")
                    return
                request = self.rfile.read(length).decode("utf-8", errors="replace")
                trace = Trace("service")
                answer: dict[str, Any]
                try:
                    if cluster is not None:
                        answer = {"use_license": _license(cluster, request, trust, trace)}
                    elif certifying is not None:
                        answer = {"certificate": _certify(*certifying, request, directory,
                                                          trace)}
                    else:
                        assert service is not None
                        handler = service.enroll if self.path == "/enroll" else service.renew
                        answer = {"response": handler(request, trace=trace, channel="online")}
                    status = 200
                except RefusedError as exc:
                    answer = {"refused": {"error": type(exc).__name__, "reason": exc.reason,
                                          "spec_id": exc.spec_id}}
                    status = 403
                except InputError as exc:
                    answer = {"refused": {"error": "InputError", "reason": str(exc),
                                          "spec_id": None}}
                    status = 400
                answer["trace"] = trace.to_wire()
                body = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: tests and notebooks read traces, not server logs

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="rmslab-loopback")
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackService":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _license(cluster: Cluster, request: str, anchor: PublicKey | None, trace: Trace) -> str:
    from rmslab.flows.licensing import issue_use_license
    try:
        data = json.loads(request)
        publishing_license, rac, to = (str(data["publishing_license"]), str(data["rac"]),
                                       str(data["to"]))
    except (ValueError, KeyError, TypeError):
        raise InputError("a licensing request is JSON with publishing_license, rac and to") \
            from None
    if anchor is None:
        raise InputError("this service has no trust anchor to check requests against")
    trace.step(cluster.first_server.name, "receives a use license request over HTTP")
    return issue_use_license(cluster, publishing_license, rac, anchor=anchor, trace=trace, to=to)


_CERTIFICATION_FIELDS = {
    "activate": '"machine" and "machine_key" (a PEM public key)',
    "account": '"user", "machine_certificate" (text or null) and "temporary" (a boolean, '
               'optional)',
    "client": '"user", "machine" and "rac" (text or null)',
}


def _certify(cluster: Cluster, request_kind: str, request: str, directory: Directory | None,
             trace: Trace) -> str:
    """The server's side of one certification request (E-7, E-9): read its JSON, then
    let the root cluster issue or refuse."""
    from rmslab.flows.certification import (issue_account_certificate,
                                            issue_client_licensor_certificate,
                                            issue_machine_certificate)
    try:
        data = json.loads(request)
        if not isinstance(data, dict):
            raise TypeError
        if request_kind == "activate":
            machine, pem = _string(data["machine"]), _string(data["machine_key"])
        else:
            user_name = _string(data["user"])
            attached = data["machine_certificate" if request_kind == "account" else "rac"]
            if attached is not None:
                attached = _string(attached)
            temporary = data.get("temporary", False) if request_kind == "account" else False
            if not isinstance(temporary, bool):
                raise TypeError
            machine = _string(data["machine"]) if request_kind == "client" else ""
    except (ValueError, KeyError, TypeError):
        raise InputError(f"a certification request ({request_kind}) is a JSON object with "
                         f"{_CERTIFICATION_FIELDS[request_kind]}") from None
    if request_kind == "activate":
        trace.step(cluster.first_server.name, f"receives an activation request from {machine} "
                                               "over HTTP")
        return issue_machine_certificate(cluster, machine, PublicKey.from_pem(pem.encode()),
                                         trace=trace)
    if directory is None:
        raise InputError("this service has no directory to authenticate users with")
    user = _user(directory, user_name)
    trace.step(cluster.first_server.name, f"receives a certification request from {user} "
                                           "over HTTP")
    if request_kind == "account":
        return issue_account_certificate(cluster, directory, user, attached,
                                         temporary=temporary, trace=trace)
    return issue_client_licensor_certificate(cluster, user, machine, attached, trace=trace)


def _string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError
    return value


def _user(directory: Directory, name: str) -> User:
    """The user the request is authenticated as (an unknown name stays unknown: the
    server refuses it, E-9)."""
    from rmslab.actors.people import User
    return directory.users.get(name) or User(name, directory.domain)


def _post_json(port: int, path: str, body: bytes, content_type: str, trace: Trace,
               timeout: float, spec_id: str) -> dict[str, Any]:
    """POST, read the JSON answer, merge its trace, and raise its refusal typed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        raw = response.read(_MAX_RESPONSE + 1)
    except OSError as exc:
        raise NotConnectedError(f"the service at {path} does not answer ({exc})",
                                spec_id=spec_id, trace=trace) from None
    finally:
        connection.close()
    try:
        answer = json.loads(raw)
        trace.extend(Trace.from_wire(answer["trace"]))
    except (ValueError, KeyError, TypeError):
        raise InputError(f"the service at {path} answered {response.status} with something "
                         "that is not its JSON") from None
    if response.status in (400, 403):
        refused = answer["refused"]
        if response.status == 400:
            raise InputError(str(refused["reason"]))
        kind = getattr(errors, str(refused["error"]), RefusedError)
        if not (isinstance(kind, type) and issubclass(kind, RefusedError)):
            kind = RefusedError
        raise kind(refused["reason"], spec_id=refused["spec_id"], trace=trace)
    if response.status != 200:
        raise InputError(f"the service at {path} answered {response.status}")
    return dict(answer)


class _RemoteClusterService:
    """A cluster's service reached over HTTP on loopback: its name and first server as
    the cluster publishes them, and one JSON request per call."""

    def __init__(self, port: int, *, url: str, name: str, server_name: str,
                 timeout: float = 30.0) -> None:
        self.port = port
        self.url = url
        self.name = name
        self._server_name = server_name
        self.timeout = timeout

    @classmethod
    def of(cls: type[_Service], cluster: Cluster, port: int) -> _Service:
        return cls(port, url=cluster.url, name=cluster.name,
                   server_name=cluster.first_server.name)

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def reachable(self) -> bool:
        return True  # the network decides: an unreachable service fails the request

    def _post(self, endpoint: str, fields: dict[str, Any], answer_key: str, trace: Trace,
              spec_id: str) -> str:
        path = f"/{urlsplit(self.url).hostname}/_wmcs/{endpoint}"
        answer = _post_json(self.port, path, json.dumps(fields).encode("utf-8"),
                            "application/json", trace, self.timeout, spec_id)
        return str(answer[answer_key])


_Service = TypeVar("_Service", bound=_RemoteClusterService)


class RemoteLicensingService(_RemoteClusterService):
    """A cluster's licensing service reached over HTTP on loopback (L-1, P-7): the
    interface of :class:`rmslab.flows.licensing.LicensingEndpoint`."""

    def license(self, protected_chain: str, rac_text: str, *, anchor: PublicKey,
                trace: Trace, to: str) -> str:
        return self._post("licensing", {"publishing_license": protected_chain,
                                        "rac": rac_text, "to": to},
                          "use_license", trace, "L-1")


class RemoteCertificationService(_RemoteClusterService):
    """The root cluster's certification service reached over HTTP on loopback (E-7, E-9):
    the interface of :class:`rmslab.flows.certification.CertificationEndpoint`."""

    def activate(self, machine: str, machine_key: PublicKey, *, trace: Trace) -> str:
        return self._post("certification/activate",
                          {"machine": machine,
                           "machine_key": machine_key.to_pem().decode("ascii")},
                          "certificate", trace, "E-9")

    def certify_account(self, user: User, machine_certificate: str | None, *,
                        temporary: bool, trace: Trace) -> str:
        return self._post("certification/account",
                          {"user": user.name, "machine_certificate": machine_certificate,
                           "temporary": temporary}, "certificate", trace, "E-9")

    def enroll_client(self, user: User, machine: str, rac: str | None, *,
                      trace: Trace) -> str:
        return self._post("certification/client",
                          {"user": user.name, "machine": machine, "rac": rac},
                          "certificate", trace, "E-7")


class HttpTransport:
    """Fetches published documents from a :class:`LoopbackService` over HTTP."""

    def __init__(self, port: int, *, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout

    def get(self, url: str) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request("GET", _path_for(url))
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
    """The enrollment service reached over HTTP on loopback: the same interface as the
    service itself, so the enrollment and renewal flows run unchanged over the network.
    ``anchor``, ``url``, ``tls_root`` and ``name`` are what the server side publishes
    out of band (the root key ships with the server software)."""

    def __init__(self, port: int, *, anchor: PublicKey, url: str, tls_root: str,
                 name: str = "rmslab Enrollment Service", timeout: float = 30.0) -> None:
        self.port = port
        self._anchor = anchor
        self.url = url
        self.tls_root = tls_root
        self.name = name
        self.timeout = timeout

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
        return self._post("/enroll", request_text, trace)

    def renew(self, request_text: str, *, trace: Trace, channel: str) -> str:
        return self._post("/renew", request_text, trace)

    def _post(self, path: str, request_text: str, trace: Trace) -> str:
        answer = _post_json(self.port, path, request_text.encode("utf-8"),
                            "text/xml; charset=utf-8", trace, self.timeout, "E-3")
        return str(answer["response"])
