"""A real HTTP server on loopback, and the client side of it (SPEC E-3, S-2, R-4).

* ``GET /HOST/PATH`` — a document published at ``https://HOST/PATH`` (revocation lists).
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

from typing import TYPE_CHECKING, Any

from rmslab import errors
from rmslab.actors.web import Web
from rmslab.errors import InputError, NotConnectedError, RefusedError
from rmslab.trace import Trace

if TYPE_CHECKING:
    from rmslab.actors.enrollment_service import EnrollmentService
    from rmslab.crypto.rsa import PublicKey

__all__ = ["LoopbackService", "HttpTransport", "RemoteEnrollmentService"]

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

    def __init__(self, web: Web, *, enrollment: EnrollmentService | None = None) -> None:
        self.web = web
        published = web
        service = enrollment

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
                if service is None or self.path not in ("/enroll", "/renew"):
                    self.send_error(404, "no such endpoint")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_REQUEST:
                    self.send_error(413, "request too large")
                    return
                request = self.rfile.read(length).decode("utf-8", errors="replace")
                trace = Trace("enrollment service")
                handler = service.enroll if self.path == "/enroll" else service.renew
                answer: dict[str, Any]
                try:
                    answer = {"response": handler(request, trace=trace, channel="online")}
                    status = 200
                except RefusedError as exc:
                    answer = {"refused": {"error": type(exc).__name__, "reason": exc.reason,
                                          "spec_id": exc.spec_id}}
                    status = 403
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
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request("POST", path, body=request_text.encode("utf-8"),
                               headers={"Content-Type": "text/xml; charset=utf-8"})
            response = connection.getresponse()
            body = response.read(_MAX_RESPONSE + 1)
        except OSError as exc:
            raise NotConnectedError(f"the enrollment service does not answer ({exc})",
                                    spec_id="E-3", trace=trace) from None
        finally:
            connection.close()
        try:
            answer = json.loads(body)
            trace.extend(Trace.from_wire(answer["trace"]))
        except (ValueError, KeyError, TypeError):
            raise InputError(f"the enrollment service answered {response.status} with "
                             "something that is not its JSON") from None
        if response.status == 403:
            refused = answer["refused"]
            kind = getattr(errors, str(refused["error"]), RefusedError)
            if not (isinstance(kind, type) and issubclass(kind, RefusedError)):
                kind = RefusedError
            raise kind(refused["reason"], spec_id=refused["spec_id"], trace=trace)
        if response.status != 200:
            raise InputError(f"the enrollment service answered {response.status}")
        return str(answer["response"])
