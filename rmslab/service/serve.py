"""``rmslab serve``: a lab's clusters and enrollment service on waitress until stopped
(MS-RMPR 3.1.4.2, 3.1.4.3; SPEC E-8).

:class:`LabServer` serves the lab on disk a :class:`rmslab.store.labdb.LabStore` opens
through :func:`rmslab.service.app.from_store` — a write transaction per request that may
change the lab, the store's snapshot for the others — so ``rmslab`` commands keep
working on the same lab meanwhile. Every request to a service is logged into the
cluster's logging database before it is answered (:mod:`rmslab.service.app`).

The lab's host names are made up: a client names the host it wants in the ``Host``
header, or as the first segment of the path (``http://127.0.0.1:PORT/HOST/…``), and
the server answers there at the URLs of MS-RMPR 3.1.4.2 under each cluster's base URL
(:data:`CLUSTER_ENDPOINTS`). Users sign in with HTTP Basic and the password the lab
gives them (``rmslab lab users DIR``), standing in for Negotiate (3.1.4.3).

waitress is a production WSGI server: a pool of worker threads, a request body limit
(larger: 413 before the body is read), a timeout for idle or stalled connections and a
bound on connections held at once.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rmslab.service.app import MAX_REQUEST_BYTES, RmsApplication, from_store

if TYPE_CHECKING:
    from rmslab.deployment import Deployment
    from rmslab.store.labdb import LabStore

__all__ = ["CLUSTER_ENDPOINTS", "ENROLLMENT_ENDPOINTS", "Endpoint", "endpoints",
           "create_waitress", "LabServer", "DEFAULT_THREADS"]

#: The URLs of MS-RMPR 3.1.4.2 under a cluster's base URL, spelled as there (the server
#: matches them in any case, as IIS does), with the operations each answers; and the
#: decommissioning interface of MS-RMSI 6.1.
CLUSTER_ENDPOINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("certification/Activation.asmx", ("Activate",)),
    ("certification/certification.asmx", ("Certify",)),
    ("certification/server.asmx", ("GetLicensorCertificate",)),
    ("certification/ServiceLocator.asmx", ("FindServiceLocationsForUser",)),
    ("licensing/license.asmx", ("AcquireLicense",)),
    ("licensing/publish.asmx", ("AcquireIssuanceLicense", "GetClientLicensorCert")),
    ("licensing/templateDistribution.asmx", ("AcquireTemplateInformation",
                                             "AcquireTemplates")),
    ("licensing/server.asmx", ("GetLicensorCertificate", "GetServerInfo")),
    ("licensing/ServiceLocator.asmx", ("FindServiceLocationsForUser",)),
    ("decommission/decommission.asmx", ("AcquireContentKey",)),
)

#: The enrollment service's URLs on its host (MS-RMPR 3.6.4.1, 3.6.4.2).
ENROLLMENT_ENDPOINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("enrollment/enrollservice.asmx", ("Enroll",)),
    ("offlineenroll/Enrollment.aspx", ("Enroll (a request file)",)),
)

DEFAULT_THREADS = 8


@dataclass(frozen=True)
class Endpoint:
    """One service URL: who answers there (a cluster's name, or ``enrollment service``),
    the URL as the lab names it, the same URL on this server (the host as the first
    path segment), and the operations."""

    owner: str
    url: str
    local_url: str
    operations: tuple[str, ...]

    @property
    def path(self) -> str:
        """The path under the base URL (``licensing/license.asmx``)."""
        known = dict(CLUSTER_ENDPOINTS + ENROLLMENT_ENDPOINTS)
        return next(p for p in known if self.url.endswith("/" + p))


def endpoints(deployment: Deployment, origin: str) -> list[Endpoint]:
    """Every service URL of ``deployment``, and where a server at ``origin``
    (``http://127.0.0.1:8080``) answers it."""
    found = []
    for cluster in deployment.clusters.values():
        base = cluster.url.rstrip("/")
        parts = urlsplit(base)
        local = f"{origin}/{parts.hostname}{parts.path}"
        found += [Endpoint(cluster.name, f"{base}/{path}", f"{local}/{path}", operations)
                  for path, operations in CLUSTER_ENDPOINTS]
    service = deployment.enrollment_service
    found += [Endpoint("enrollment service", f"https://{service.host}/{path}",
                       f"{origin}/{service.host}/{path}", operations)
              for path, operations in ENROLLMENT_ENDPOINTS]
    return found


def create_waitress(application: RmsApplication, *, host: str = "127.0.0.1", port: int = 0,
                    threads: int = DEFAULT_THREADS, channel_timeout: float = 30.0,
                    connection_limit: int = 1000,
                    max_request: int = MAX_REQUEST_BYTES) -> Any:
    """A waitress server for ``application``, listening (``port`` 0: a free port) but
    not yet running: ``threads`` workers, bodies over ``max_request`` bytes refused
    (413) unread, connections idle or stalled for ``channel_timeout`` seconds closed,
    at most ``connection_limit`` held; no proxy headers trusted."""
    from waitress.server import create_server
    return create_server(
        application, host=host, port=port, threads=threads, ident="rmslab",
        max_request_body_size=max_request, channel_timeout=int(max(1, channel_timeout)),
        cleanup_interval=int(max(1, min(30, channel_timeout / 2))),
        connection_limit=connection_limit, asyncore_loop_timeout=0.25,
        clear_untrusted_proxy_headers=True)


class _Stop(KeyboardInterrupt):
    """SIGTERM: stop serving, as SIGINT does. A KeyboardInterrupt on purpose: the signal
    may land while waitress runs a channel's handler, whose bare ``except`` swallows any
    other exception (the server would go on serving); KeyboardInterrupt is among the few
    it passes on to :meth:`LabServer.run`."""


class LabServer:
    """The lab that ``store`` opens, served on ``host``:``port`` until :meth:`run` is
    interrupted (SIGINT, SIGTERM) or :meth:`stop` is called."""

    def __init__(self, store: LabStore, *, host: str = "127.0.0.1", port: int = 0,
                 threads: int = DEFAULT_THREADS, channel_timeout: float = 30.0,
                 connection_limit: int = 1000) -> None:
        self.store = store
        with store.read() as snapshot:  # refuse a lab that cannot be used, before listening
            self.snapshot = snapshot
        self.application = RmsApplication(from_store(store))
        self.answered = 0
        self._count = threading.Lock()
        previous = self.application.on_exchange

        def count(request: bytes, status: str, body: bytes) -> None:
            with self._count:
                self.answered += 1
            if previous is not None:
                previous(request, status, body)
        self.application.on_exchange = count
        self.server = create_waitress(self.application, host=host, port=port,
                                      threads=threads, channel_timeout=channel_timeout,
                                      connection_limit=connection_limit)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def host(self) -> str:
        return str(self.server.effective_host)

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def endpoints(self) -> list[Endpoint]:
        return endpoints(self.snapshot, self.origin)

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM (in the main thread) or :meth:`stop`; then stop
        taking requests, let the workers finish, and record in the lab how far the logs
        go (the guard of :mod:`rmslab.store.labdb`)."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            def stop(number: int, frame: FrameType | None) -> None:
                raise _Stop()
            previous = signal.signal(signal.SIGTERM, stop)
        try:
            self.server.run()
        except (_Stop, KeyboardInterrupt):
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.close()

    def stop(self) -> None:
        """Stop :meth:`run` from another thread: every socket is closed in the server's
        loop, which then ends."""
        from waitress import wasyncore
        server = self.server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))

    def close(self) -> None:
        self.server.task_dispatcher.shutdown()
        try:
            self.server.close()
        except OSError:
            pass
        from rmslab.errors import RmslabError
        try:  # how far the logs go now, recorded (nothing else changes)
            with self.store.write():
                pass
        except RmslabError:
            pass  # another command holds the lab: its own write records them
