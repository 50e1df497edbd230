"""A real HTTP server on loopback, and the client side of it (SPEC R-4)."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import quote, urlsplit

from rmslab.actors.web import Web
from rmslab.errors import InputError, NotConnectedError

__all__ = ["LoopbackService", "HttpTransport"]

_MAX_RESPONSE = 32 * 1024 * 1024


def _path_for(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not an http(s) URL")
    return "/" + quote(parts.hostname) + (parts.path or "/")


class LoopbackService:
    """Serves a :class:`~rmslab.actors.web.Web` on ``127.0.0.1`` (a free port) until
    closed. Use as a context manager."""

    def __init__(self, web: Web) -> None:
        self.web = web
        published = web

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
