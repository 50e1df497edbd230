"""The lab's servers as one WSGI application: the SOAP services of MS-RMPR under each
cluster's base URL, the enrollment service, and the documents the deployment publishes
(SPEC E-3, E-7, E-9, L-1, P-7, P-8, R-4; MS-RMPR 3.1.4.2–3.1.4.6, 3.2–3.7).

A request reaches a host by its ``Host`` header, or by a ``/HOST/`` prefix on the path
for clients that cannot set one (every lab host name is made up). Under a cluster's
base URL (``https://rms.contoso.example/_wmcs``) the application answers at the URLs of
MS-RMPR 3.1.4.2 — ``certification/Activation.asmx``, ``certification.asmx``,
``server.asmx``, ``ServiceLocator.asmx``, ``licensing/license.asmx``, ``publish.asmx``,
``templateDistribution.asmx``, ``server.asmx``, ``ServiceLocator.asmx`` (case does not
matter, as on IIS), and MS-RMSI's ``decommission/decommission.asmx`` — and at the
enrollment service's host, ``/enrollment/enrollservice.asmx``
(online) and ``/offlineenroll/Enrollment.aspx`` (a request file submitted from a
connected computer, 3.6.4.2).

The application does not hold a deployment: it asks its ``provider`` for one per
request (for reading, or for writing when the request may issue something), so a
long-running server can read it from a store. :func:`in_memory` serves one held in
memory, one writer at a time; :func:`from_store` serves a lab on disk
(:class:`rmslab.store.labdb.LabStore`): a request that may change the lab is one write
transaction on it, the others read its cached snapshot, so the server and ``rmslab``
commands can work on the same lab at once and lose nothing.

**Every request to a service is logged** (as AD RMS keeps its logging database): one row
in the request log of the cluster it was for (the enrollment service's own log for
Enroll), :meth:`rmslab.store.logdb.LoggingDatabase.record_request` — the lab's time,
service, operation, the account that authenticated or ``anonymous``, the client's
address, the outcome and the exception name of a fault, the HTTP status and the
wall-clock duration — committed *before* the answer is handed to the server, so no
answered request goes unlogged, even if the process is killed the moment after. A row
that cannot be written turns the answer into a fault that says so. Requests for no
service (404) and published documents (GET) are not service requests and are not
logged.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import (TYPE_CHECKING, Any, Callable, ContextManager, Iterable, Iterator,
                    Protocol)
from urllib.parse import urlsplit

from lxml import etree

from rmslab.errors import (InputError, LabBusyError, LabStoreError, LogDamagedError,
                           RefusedError, RmslabError, VerificationError)
from rmslab.service import faults
from rmslab.service.auth import DomainAccount, RequestContext, authenticate
from rmslab.service.soap import (ENROLLMENT, SERVICES, VERSION_1_0, Envelope,
                                 EnvelopeError, Node, Operation, OPERATIONS, Service,
                                 SoapFault, certificates_xml, el, read_envelope, read_fault,
                                 version_tuple, write_envelope, write_fault)
from rmslab.store.logdb import ANONYMOUS_ACCOUNT, LoggingDatabase
from rmslab.trace import Trace
from rmslab.trust import VerifiedChains

if TYPE_CHECKING:
    from rmslab.actors.cluster import Cluster
    from rmslab.actors.enrollment_service import EnrollmentService
    from rmslab.actors.people import Directory
    from rmslab.actors.web import Web
    from rmslab.crypto.rsa import PublicKey
    from rmslab.deployment import Deployment
    from rmslab.lab import Lab
    from rmslab.store.labdb import LabStore

__all__ = ["Served", "Provider", "in_memory", "from_store", "RmsApplication",
           "MAX_REQUEST_BYTES", "ENROLLMENT_PATHS", "READ_ONLY_OPERATIONS",
           "DRAWING_OPERATIONS", "Exchange", "answer_certificates"]

#: The largest request body answered (larger: 413). AcquireLicense carries a publishing
#: license chain and a RAC chain: tens of kilobytes.
MAX_REQUEST_BYTES = 4 * 1024 * 1024

ENROLLMENT_PATHS = {"/enrollment/enrollservice.asmx": "online",
                    "/offlineenroll/enrollment.aspx": "offline"}


@dataclass
class Served:
    """What the servers of a lab need: the lab (clock, keys, secrets), its clusters, the
    enrollment service, the directory that authenticates users, the root key requests
    are checked against, and the published documents."""

    lab: Lab
    web: Web
    clusters: tuple[Cluster, ...] = ()
    enrollment: EnrollmentService | None = None
    directory: Directory | None = None
    anchor: PublicKey | None = None
    #: The lab's generation this state shows, when it is a store's snapshot
    #: (:meth:`rmslab.store.labdb.LabStore.snapshot`).
    generation: int | None = None
    #: The state is served for writing (under the lab's lock) though the request only
    #: draws from the lab (:meth:`Provider.deciding`).
    writing: bool = False

    @classmethod
    def of(cls, deployment: Deployment, generation: int | None = None) -> "Served":
        return cls(deployment.lab, deployment.web, tuple(deployment.clusters.values()),
                   deployment.enrollment_service, deployment.directory,
                   deployment.enrollment_service.anchor, generation)

    def cluster_at(self, host: str, path: str) -> tuple[Cluster, str] | None:
        """The cluster whose base URL is ``https://host/…`` with ``path`` under it, and
        the rest of the path (lower case)."""
        for cluster in self.clusters:
            base = urlsplit(cluster.url)
            prefix = (base.path or "").rstrip("/").lower() + "/"
            if (base.hostname or "").lower() == host and path.lower().startswith(prefix):
                return cluster, path.lower()[len(prefix):]
        return None

    def hosts(self) -> set[str]:
        names = {(urlsplit(c.url).hostname or "").lower() for c in self.clusters}
        if self.enrollment is not None:
            names.add(self.enrollment.host.lower())
        names.update((urlsplit(u).hostname or "").lower() for u in self.web.published())
        return names


class Provider(Protocol):
    """Where the servers' state comes from: ``provider(write)`` yields the deployment to
    serve one request from; :meth:`deciding` the state to decide a request on that only
    draws from the lab's random streams (read-only; the logs are checked when it draws);
    :meth:`drawing` the state to draw randomness from for a
    request decided on ``served`` that changes nothing else (AcquireLicense), or None
    when that state is not at hand (then the request is served for writing);
    :meth:`request_log` is the log a service's requests are written to (``owner``: a
    cluster's name, or None for the enrollment service)."""

    def __call__(self, write: bool) -> ContextManager[Served]: ...

    def deciding(self, *, snapshot: bool = False) -> ContextManager[Served]: ...

    def drawing(self, served: Served) -> ContextManager[Served | None]: ...

    def request_log(self, owner: str | None) -> LoggingDatabase: ...


class _InMemory:
    def __init__(self, served: Served) -> None:
        self.served = served
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def __call__(self, write: bool) -> Iterator[Served]:
        with self.lock:
            yield self.served

    def deciding(self, *, snapshot: bool = False) -> ContextManager[Served]:
        return self(False)

    @contextlib.contextmanager
    def drawing(self, served: Served) -> Iterator[Served | None]:
        with self.lock:  # within the request's own turn: the lock is re-entered
            yield self.served

    def request_log(self, owner: str | None) -> LoggingDatabase:
        if owner is None:
            assert self.served.enrollment is not None
            return self.served.enrollment.log
        return next(c.log for c in self.served.clusters if c.name == owner)


def in_memory(served: Served) -> Provider:
    """A provider of one deployment held in memory: readers share it, writers (requests
    that issue certificates or licenses, which move the lab's random streams and logs)
    take turns. Requests are logged into the deployment's own logs."""
    return _InMemory(served)


class _FromStore:
    def __init__(self, store: LabStore) -> None:
        self.store = store
        #: Requests that only draw served for writing since a snapshot was last loaded.
        self._written = 0
        self._logs: dict[str | None, LoggingDatabase] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self, write: bool) -> Iterator[Served]:
        if not write:
            generation, snapshot = self.store.snapshot()
            yield Served.of(snapshot, generation)
            return
        with self.store.write() as deployment:
            yield Served.of(deployment)

    @contextlib.contextmanager
    def deciding(self, *, snapshot: bool = False) -> Iterator[Served]:
        """The shared snapshot, its logs checked when the request draws; or — when the lab
        changed since the snapshot was loaded and fewer than :data:`_WRITTEN_BEFORE_LOADING`
        such requests were served for writing since one was last loaded — the lab for
        writing (``writing``), as any other request that changes it: a server that writes
        between its licenses (certifications, enrollments) would otherwise load the whole
        lab again for each license. ``snapshot``: the snapshot in any case."""
        load = snapshot or self._written >= _WRITTEN_BEFORE_LOADING
        found = self.store.snapshot(check_logs=False, load=load)
        if found is not None:
            if load:
                self._written = 0
            yield Served.of(found[1], found[0])
            return
        self._written += 1
        with self.store.write() as deployment:
            served = Served.of(deployment)
            served.writing = True
            yield served

    @contextlib.contextmanager
    def drawing(self, served: Served) -> Iterator[Served | None]:
        if served.generation is None:
            yield None
            return
        with self.store.draw(served.generation) as deployment:
            yield None if deployment is None else Served.of(deployment, served.generation)

    def request_log(self, owner: str | None) -> LoggingDatabase:
        """The lab's log file of ``owner``, opened in place once and kept open; opened
        again when it was replaced, once the store has checked the file now at its path
        against what the lab recorded of it (a log that lost requests is refused)."""
        from rmslab.store.names import lab_path
        from rmslab.store.tables import log_parts
        with self._lock:
            log = self._logs.get(owner)
            if log is None or not log.in_place():
                if log is not None:
                    log.close()
                    with self.store.read():  # raises LogDamagedError for a damaged log
                        pass
                log = LoggingDatabase.open(lab_path(self.store.root, *log_parts(owner)),
                                           timeout=self.store.timeout)
                self._logs[owner] = log
            return log


def from_store(store: LabStore) -> Provider:
    """A provider of the lab on disk that ``store`` opens. A request for writing is one
    transaction (:meth:`LabStore.write`): it takes the lab's write lock — waiting for a
    command or another request that holds it — loads what is committed, and commits what
    the request changed (certificates' random streams, a RAC's machine, the clock's
    high-water mark, how far the logs go) when it is answered; a request answered with a
    fault keeps nothing in the lab (what the servers logged stays in their logs). A
    request for reading shares the snapshot the store keeps while the lab has not changed
    (:meth:`LabStore.snapshot`). AcquireLicense is decided on that snapshot, outside the
    lock, and takes the lock only to draw its GUID and padding (:meth:`LabStore.draw`). A lab that cannot be used (another command holds it too long,
    its clock set back, a damaged log) is a fault naming why. Requests are logged into
    the lab's log files, each opened once for the server's life."""
    return _FromStore(store)


#: The operations that only read what the servers hold (their SLC, templates, URLs):
#: served from a snapshot. Every other operation may issue, log or draw from the lab's
#: random streams, and is served for writing — but AcquireLicense.
READ_ONLY_OPERATIONS = frozenset({"GetLicensorCertificate", "FindServiceLocationsForUser",
                                  "GetServerInfo", "AcquireTemplateInformation",
                                  "AcquireTemplates", "AcquireContentKey"})

#: Operations decided on a snapshot that only draw from the lab's random streams, under
#: its lock for that moment alone (:meth:`Provider.drawing`): AcquireLicense, whose use
#: licenses draw a GUID and the padding of their sealed keys and change nothing else.
DRAWING_OPERATIONS = frozenset({"AcquireLicense"})


Handler = Callable[["_Call"], Node]


@dataclass
class _Call:
    operation: Operation
    envelope: Envelope
    context: RequestContext
    served: Served
    cluster: Cluster | None
    channel: str
    #: The MaximumVersion the client asked for.
    version: tuple[int, ...]
    provider: Provider | None = None
    #: The server's cache of verified chains (MS-RMPR 3.1.1.1.3).
    chains: VerifiedChains | None = None

    @property
    def body(self) -> etree._Element:
        return self.envelope.body

    def trace(self) -> Trace:
        return Trace(f"{self.operation.name} at {self.cluster.name if self.cluster else 'the enrollment service'}")

    def need_cluster(self) -> Cluster:
        assert self.cluster is not None
        return self.cluster

    def anchor(self) -> PublicKey:
        if self.served.anchor is None:
            raise SoapFault(faults.UNSPECIFIED, "this server has no trust anchor to check "
                            "certificates against")
        return self.served.anchor


@dataclass
class Exchange:
    """One request to a service as the request log keeps it, filled in as it is
    answered: when it started (wall clock, for its duration), who sent it, the service
    and operation, the lab's time, the account that authenticated (MS-RMPR 3.1.1.1.5)."""

    started: float
    client: str
    service: str | None = None
    owner: str | None = None
    operation: str = ""
    at: datetime | None = None
    account: DomainAccount | None = None

    def record(self, log: LoggingDatabase, status: str, body: bytes) -> int:
        """Write the row for the answer ``status`` / ``body``: answered (200), a fault (a
        ``soap:Server`` fault: the exception name of MS-RMPR 3.1.4.5 kept) or rejected
        (the request could not be read: another fault, or a 4xx)."""
        code = int(status.split(" ", 1)[0])
        outcome, exception, detail = "answered", None, ""
        if code != 200:
            outcome, detail = "rejected", body[:300].decode("utf-8", "replace").strip()
            try:
                fault = read_fault(read_envelope(body))
            except EnvelopeError:
                fault = None
            if fault is not None:
                detail = fault.reason or fault.string
                if fault.code == "Server":
                    outcome, exception = "fault", fault.exception
                else:
                    exception = f"soap:{fault.code}"
        assert self.service is not None and self.at is not None
        return log.record_request(
            at=self.at, service=self.service, operation=self.operation or "-",
            account=self.account.name if self.account is not None else ANONYMOUS_ACCOUNT,
            sid=self.account.sid if self.account is not None else None, client=self.client,
            outcome=outcome, status=code, exception=exception, detail=detail,
            duration_ms=(time.perf_counter() - self.started) * 1000)


class RmsApplication:
    """The WSGI application (PEP 3333). Every answer is a document, a SOAP response, a
    SOAP fault or a 4xx; nothing it is sent raises out of it."""

    def __init__(self, provider: Provider, *, max_request: int = MAX_REQUEST_BYTES) -> None:
        self.provider = provider
        self.max_request = max_request
        #: Unexpected errors met while answering (a bug, not an input): kept for tests.
        self.internal_errors: list[BaseException] = []
        #: Called with each SOAP request body read and the answer's status and body
        #: (what a wire capture would see), after the request is logged.
        self.on_exchange: Callable[[bytes, str, bytes], None] | None = None
        self._routing: Served | None = None
        #: The chains this server verified, by their exact text (MS-RMPR 3.1.1.1.3).
        self.chains = VerifiedChains()

    # --- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        exchange = Exchange(time.perf_counter(), str(environ.get("REMOTE_ADDR") or ""))
        environ["rmslab.exchange"] = exchange
        try:
            status, headers, body = self._answer(environ)
        except RmslabError as exc:  # the deployment cannot be had (a lab on disk, locked, …)
            status, headers, body = _fault_answer(500, "Server", f"{faults.UNSPECIFIED}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
            self.internal_errors.append(exc)
            status, headers, body = _fault_answer(500, "Server", f"{faults.UNSPECIFIED}: "
                                                  f"the server failed ({type(exc).__name__})")
        if exchange.service is not None:
            status, headers, body = self._logged(exchange, status, headers, body)
        request = environ.get("rmslab.request")
        if self.on_exchange is not None and isinstance(request, bytes):
            self.on_exchange(request, status, body)
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]

    def _logged(self, exchange: Exchange, status: str, headers: list[tuple[str, str]],
                body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        """Write the request's row (committed) and return the answer to send — or, when
        the row cannot be written, a fault that says so."""
        try:
            exchange.record(self.provider.request_log(exchange.owner), status, body)
        except (LogDamagedError, LabBusyError) as exc:
            return _fault_answer(500, "Server", f"{faults.UNSPECIFIED}: the request cannot "
                                 f"be logged, so it is not answered ({exc})")
        except Exception as exc:  # noqa: BLE001 - never a traceback
            self.internal_errors.append(exc)
            return _fault_answer(500, "Server", f"{faults.UNSPECIFIED}: the request cannot "
                                 f"be logged ({type(exc).__name__})")
        return status, headers, body

    def _routes(self, refresh: bool = False) -> Served:
        """The deployment requests are routed with: the last snapshot read (shared and
        read-only), read again when asked — so a stream of write requests does not
        reload the lab's snapshot for routing after each of them."""
        routing = self._routing
        if routing is None or refresh:
            with self.provider(False) as routing:
                self._routing = routing
        return routing

    def _answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        exchange: Exchange = environ["rmslab.exchange"]
        routing = self._routes(refresh=method != "POST")
        host, path = _route(environ, routing.hosts())
        target = self._target(routing, host, path)
        if target is None and method == "POST":  # a host or cluster added meanwhile?
            routing = self._routes(refresh=True)
            host, path = _route(environ, routing.hosts())
            target = self._target(routing, host, path)
        if target is not None and method == "POST":  # until the operation says better
            exchange.at = routing.lab.now()
            exchange.account = authenticate(environ.get("HTTP_AUTHORIZATION"),
                                            routing.directory, routing.lab).account
        if method == "GET" or method == "HEAD":
            return self._get(host, path)
        if method != "POST":
            return _plain(405, "only GET and POST are answered")
        if target is None:
            return _plain(404, "no service answers at this URL")
        service, channel, cluster_name = target
        exchange.service, exchange.owner = service.name, cluster_name
        data = _read_body(environ, self.max_request)
        if data is None:
            return _plain(413, f"the request is larger than {self.max_request} bytes")
        environ["rmslab.request"] = data
        try:
            envelope = read_envelope(data)
        except EnvelopeError as exc:
            return _fault_answer(500 if exc.code == "VersionMismatch" else 400, exc.code,
                                 str(exc))
        exchange.operation = envelope.operation
        operation = OPERATIONS.get(envelope.operation)
        if (operation is None or operation.service != service
                or envelope.namespace != service.namespace):
            return _fault_answer(400, "Client",
                                 f"{{{envelope.namespace}}}{envelope.operation} is not an "
                                 f"operation of the {service.name} service "
                                 f"({service.namespace})")
        action = (environ.get("HTTP_SOAPACTION") or "").strip().strip('"')
        if action and action != operation.action:
            return _fault_answer(400, "Client", f"SOAPAction {action!r} does not name "
                                                f"{operation.action}")
        try:
            version = _check_version(envelope, operation)
            write = (operation.name not in READ_ONLY_OPERATIONS
                     and operation.name not in DRAWING_OPERATIONS)
            state = (self.provider.deciding() if operation.name in DRAWING_OPERATIONS
                     else self.provider(write))
            with state as served:
                if not write and not served.writing:
                    self._routing = served
                exchange.at = served.lab.now()
                cluster = next((c for c in served.clusters if c.name == cluster_name), None)
                if cluster_name is not None and cluster is None:
                    raise SoapFault(faults.UNSPECIFIED, f"the cluster {cluster_name} is no "
                                    "longer served here")
                context = authenticate(environ.get("HTTP_AUTHORIZATION"), served.directory,
                                       served.lab)
                exchange.account = context.account
                call = _Call(operation, envelope, context, served, cluster, channel, version,
                             self.provider, self.chains)
                response = HANDLERS[operation.name](call)
        except SoapFault as fault:
            return _fault_answer(500, "Server", fault.faultstring, operation)
        except RefusedError as exc:
            refusal = SoapFault(faults.exception_for(operation.name, exc), exc.reason,
                                spec_id=exc.spec_id)
            return _fault_answer(500, "Server", refusal.faultstring, operation)
        except (RmslabError, ValueError) as exc:
            return _fault_answer(500, "Server", f"{faults.UNSPECIFIED}: {exc}", operation)
        body = write_envelope(service.namespace, response,
                              versions=operation.versions if operation.versioned else None)
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], body

    def _target(self, served: Served, host: str,
                path: str) -> tuple[Service, str, str | None] | None:
        if served.enrollment is not None and host == served.enrollment.host.lower():
            channel = ENROLLMENT_PATHS.get(path.lower())
            return (ENROLLMENT, channel, None) if channel else None
        found = served.cluster_at(host, path)
        if found is None:
            return None
        cluster, rest = found
        for service in SERVICES:
            if rest in service.paths:
                return service, "online", cluster.name
        return None

    def _get(self, host: str, path: str) -> tuple[str, list[tuple[str, str]], bytes]:
        with self.provider(False) as served:
            documents = served.web.published()
        for url, text in documents.items():
            parts = urlsplit(url)
            if (parts.hostname or "").lower() == host and (parts.path or "/") == path:
                return ("200 OK", [("Content-Type", "text/xml; charset=utf-8")],
                        text.encode("utf-8"))
        return _plain(404, "nothing is published here")


# --- plumbing -----------------------------------------------------------------------------


def _route(environ: dict[str, Any], hosts: set[str]) -> tuple[str, str]:
    """The host and path a request is for: a ``/HOST/`` prefix naming a lab host, or the
    ``Host`` header."""
    path = environ.get("PATH_INFO") or "/"
    first, _, rest = path.lstrip("/").partition("/")
    if first.lower() in hosts:
        return first.lower(), "/" + rest
    host = (environ.get("HTTP_HOST") or "").rsplit(":", 1)[0].strip("[]").lower()
    return host, path


def _read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The request body, or ``None`` when it is larger than ``limit`` (the server in
    front has already refused bad lengths and bodies over its own limit)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > limit:
        return None
    stream = environ["wsgi.input"]
    data: bytes = stream.read(length) if length else b""
    return data


def _plain(status: int, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    reasons = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
               413: "Request Entity Too Large", 415: "Unsupported Media Type"}
    return (f"{status} {reasons.get(status, 'Error')}",
            [("Content-Type", "text/plain; charset=utf-8")], (message + "\n").encode("utf-8"))


def _fault_answer(status: int, code: str, string: str, operation: Operation | None = None
                  ) -> tuple[str, list[tuple[str, str]], bytes]:
    body = write_fault(code, string,
                       namespace=operation.service.namespace if operation else None,
                       versions=operation.versions if operation else (VERSION_1_0, VERSION_1_0))
    return (f"{status} {'Internal Server Error' if status == 500 else 'Bad Request'}",
            [("Content-Type", "text/xml; charset=utf-8")], body)


def _check_version(envelope: Envelope, operation: Operation) -> tuple[int, ...]:
    """MS-RMPR 2.2.4.2 and 3.1.4.6: the VersionData header must be there, its versions
    ``a.b.c.d``, and the maximum one the operation supports."""
    data = envelope.version_data
    if data is None and not operation.versioned:
        return (1, 0, 0, 0)
    if data is None:
        raise SoapFault(faults.ARGUMENT_NULL, "the request has no VersionData header "
                        "(MS-RMPR 3.1.4)")
    values = []
    for name in ("MinimumVersion", "MaximumVersion"):
        text = envelope.text_of(data, name)
        if text is None:
            raise SoapFault(faults.ARGUMENT_NULL, f"VersionData has no {name}")
        parsed = version_tuple(text)
        if parsed is None:
            raise SoapFault(faults.MALFORMED_VERSION, f"{name} {text[:40]!r} is not a.b.c.d")
        values.append(parsed)
    if values[0] > values[1]:
        raise SoapFault(faults.MALFORMED_VERSION, "MinimumVersion is above MaximumVersion")
    highest = version_tuple(operation.versions[1])
    assert highest is not None
    if values[1] > highest:
        raise SoapFault(faults.UNSUPPORTED_VERSION,
                        f"{operation.name} supports versions up to {operation.versions[1]}")
    return values[1]


def _required(call: _Call, element: etree._Element | None, what: str) -> etree._Element:
    if element is None or element.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
        raise SoapFault(faults.ARGUMENT_NULL, f"the request has no {what}")
    return element


# --- the operations -------------------------------------------------------------------


def _activate(call: _Call) -> Node:
    """Activate (MS-RMPR 3.2.4.1) is for version 1.0 clients only: the server forwards the
    HID to the RMS Machine Activation cloud service and returns its answer unchanged.
    Version 1.0 SP1 and later clients — every client the lab has — never call it: they
    activate themselves with the SPC issuer key they ship with (3.8.4.1,
    :func:`rmslab.flows.certification.activate_machine`). The lab runs no Machine
    Activation cloud service to forward to, so it answers every Activate with a fault
    that says so, after reading the request as MS-RMPR gives it."""
    call.need_cluster()
    array = _required(call, call.envelope.find(call.body, "requestParams"), "requestParams")
    if not call.envelope.findall(array, "ActivateParams"):
        raise SoapFault(faults.ARGUMENT_NULL, "requestParams holds no ActivateParams")
    raise SoapFault(faults.UNSPECIFIED, "Activate is for version 1.0 clients, whose server "
                    "forwards the request to the RMS Machine Activation cloud service; the "
                    "lab has no such service, and its clients activate themselves "
                    "(MS-RMPR 3.8.4.1)", spec_id="E-9")


def _certify(call: _Call) -> Node:
    """Certify (MS-RMPR 3.3.4.1): only for an authenticated caller, and a RAC for the
    authenticated account only (the request names no user). ``Persistent`` true asks
    for a standard (persistent) RAC, false for a temporary one — what the element's name
    and the RAC's ``Group-Identity-Credential-Type`` say (the prose of 3.3.4.1.3.1 has
    the two the other way round)."""
    from rmslab.flows.certification import issue_account_certificate
    cluster = call.need_cluster()
    if not call.context.is_authenticated or call.context.user is None:
        why = call.context.failure or "no credentials were sent"
        raise SoapFault(faults.UNAUTHORIZED, f"Certify needs an authenticated user ({why})",
                        spec_id="E-9")
    params = _required(call, call.envelope.find(call.body, "requestParams"), "requestParams")
    persistent = call.envelope.text_of(params, "Persistent")
    if persistent is None:
        raise SoapFault(faults.ARGUMENT_NULL, "CertifyParams has no Persistent flag")
    if persistent.strip() not in ("true", "false", "1", "0"):
        raise SoapFault(faults.UNSPECIFIED, f"Persistent {persistent[:20]!r} is not a boolean")
    machine_chain = call.envelope.chain(call.envelope.find(params, "MachineCertificateChain"))
    assert call.served.directory is not None
    rac = issue_account_certificate(cluster, call.served.directory, call.context.user,
                                    machine_chain,
                                    temporary=persistent.strip() in ("false", "0"),
                                    trace=call.trace())
    quota = el("Quota", el("Verified", "true"), el("CurrentConsumption", "0"),
               el("Maximum", "1"))
    return el("CertifyResponse",
              el("CertifyResult", certificates_xml("CertificateChain", rac), quota))


def _licensor_certificate(call: _Call) -> Node:
    """GetLicensorCertificate (MS-RMPR 3.7.4.1): the cluster's SLC chain (anonymous);
    ClusterDecommissionedException from a decommissioned cluster."""
    from rmslab.flows._common import require_not_decommissioned
    cluster = call.need_cluster()
    require_not_decommissioned(cluster, call.trace(), call.operation.name)
    if cluster.slc_text is None:
        raise SoapFault(faults.UNSPECIFIED, f"{cluster.name} has no SLC yet", spec_id="E-1")
    return el("GetLicensorCertificateResponse",
              el("GetLicensorCertificateResult",
                 certificates_xml("CertificateChain", cluster.slc_text)))


#: FindServiceLocationsForUser's service types (MS-RMPR 3.7.4.2.4.1).
SERVICE_TYPES = ("EnrollmentService", "LicensingService", "PublishingService",
                 "CertificationService", "ActivationService", "PrecertificationService",
                 "ServerService", "DrmRemoteDirectoryServices", "GroupExpansionService",
                 "LicensingInternalService", "CertificationInternalService")


def _service_url(call: _Call, kind: str) -> str | None:
    from rmslab.actors.cluster import ROOT
    cluster = call.need_cluster()
    root = next((c for c in call.served.clusters if c.role == ROOT), None)
    certifying = root.url if root is not None else None
    return {
        "CertificationService": f"{certifying}/certification" if certifying else None,
        "CertificationInternalService": f"{certifying}/certification" if certifying else None,
        "ActivationService": (f"{certifying}/certification/Activation.asmx"
                              if certifying else None),
        "LicensingService": f"{cluster.url}/licensing",
        "LicensingInternalService": f"{cluster.url}/licensing",
        "PublishingService": f"{cluster.url}/licensing",
        "ServerService": f"{cluster.url}/licensing/server.asmx",
        "EnrollmentService": call.served.enrollment.url if call.served.enrollment else None,
    }.get(kind)


def _find_service_locations(call: _Call) -> Node:
    """FindServiceLocationsForUser (MS-RMPR 3.7.4.2): for an authenticated user only
    (UnspecifiedErrorException otherwise); the lab's one directory holds every user, so
    the answer is this deployment's URLs (null for a service it does not run)."""
    if not call.context.is_authenticated:
        raise SoapFault(faults.UNSPECIFIED, "FindServiceLocationsForUser needs an "
                        "authenticated user", spec_id="D-7")
    names = _required(call, call.envelope.find(call.body, "ServiceNames"), "ServiceNames")
    answers = []
    for request in call.envelope.findall(names, "ServiceLocationRequest"):
        kind = (call.envelope.text_of(request, "Type") or "").strip()
        if kind not in SERVICE_TYPES:
            raise SoapFault(faults.INVALID_OPERATION, f"{kind[:40]!r} is not a ServiceType")
        url = _service_url(call, kind)
        answers.append(el("ServiceLocationResponse", el("URL", url) if url else None,
                          el("Type", kind)))
    return el("FindServiceLocationsForUserResponse",
              el("FindServiceLocationsForUserResult", *answers))


def _server_info(call: _Call) -> Node:
    """GetServerInfo (MS-RMPR 3.7.4.3; the shape of the example in 4.6)."""
    from rmslab.actors.cluster import VERSION
    cluster = call.need_cluster()
    requests = _required(call, call.envelope.find(call.body, "requests"), "requests")
    results = []
    for request in call.envelope.findall(requests, "ServerInfoRequest"):
        kind = (call.envelope.text_of(request, "Type") or "").strip()
        info = call.envelope.text_of(request, "AdditionalInfo") or ""
        attrs = (("Type", kind), ("AdditionalInfo", info))
        if kind == "VersionInfo":
            inner = el("VersionInfo", attrs=(("Version", VERSION),), prefix="")
        elif kind == "ServerFeatureInfo":
            inner = el("ServerFeatureInfo", *(el("Feature", attrs=(("Name", n), ("Value", v)),
                                                 prefix="")
                                              for n, v in (("GroupExpansionWebService", "false"),
                                                           ("ActiveDirectoryServicesRemoting",
                                                            "false"),
                                                           ("FederatedServicesEnabled", "0"))),
                       prefix="")
        elif kind == "ServerLicensorCertificate":
            if cluster.slc_text is None:
                raise SoapFault(faults.UNSPECIFIED, f"{cluster.name} has no SLC yet")
            from rmslab.xrml.reader import parse
            inner = el("ServerLicensorCertificateChain",
                       *(Node(d.text) for d in parse(cluster.slc_text)), prefix="")
        elif kind == "ServiceLocations":
            inner = el("ServiceLocations", *(
                el("ServiceLocation", attrs=(("Type", t), ("Url", _service_url(call, t) or "")),
                   prefix="")
                for t in ("LicensingService", "PublishingService", "CertificationService",
                          "ServerService")), prefix="")
        else:
            raise SoapFault(faults.ARGUMENT_NULL, f"{kind[:40]!r} is not a ServerInfoType")
        results.append(el("ServerInfoRequest", inner, attrs=attrs, prefix=""))
    if not results:
        raise SoapFault(faults.ARGUMENT_NULL, "requests holds no ServerInfoRequest")
    return el("GetServerInfoResponse",
              el("GetServerInfoResult", el("Results", *results, prefix="")))


def _verified_rac(call: _Call, rac_text: str) -> None:
    """MS-RMPR 3.4.4.1 and 3.5.4.2: the RAC chain verifies up to the lab's root, or the
    fault names what is wrong with it."""
    from rmslab.trust import validate_chain
    from rmslab.xrml.reader import parse
    try:
        chain = parse(rac_text, source="rights account certificate")
    except InputError as exc:
        raise SoapFault(faults.UNEXPECTED_PERSONA, str(exc), spec_id="L-1") from None
    try:
        validate_chain(chain, call.anchor(), at=call.served.lab.now())
    except VerificationError as exc:
        raise SoapFault(faults.persona_exception(exc), f"the RAC chain does not verify: {exc}",
                        spec_id="L-1") from None
    if chain[0].kind != "Group-Identity-Credential":
        raise SoapFault(faults.UNEXPECTED_PERSONA, f"the certificate presented is a "
                        f"{chain[0].kind_name}, not a rights account certificate",
                        spec_id="L-1")


def _verified_label(call: _Call, label: str) -> None:
    """MS-RMPR 3.4.4.1: the publishing license chain verifies up to the lab's root, or
    the fault says whether its signature or its time is wrong."""
    from rmslab.trust import validate_chain
    from rmslab.xrml.reader import parse
    try:
        validate_chain(parse(label, source="publishing license"), call.anchor(),
                       at=call.served.lab.now())
    except VerificationError as exc:
        raise SoapFault(faults.label_exception(exc), f"the publishing license does not "
                        f"verify: {exc}", spec_id="L-1") from None


#: How many requests that only draw (AcquireLicense) are served for writing, while the lab
#: keeps changing, before the snapshot is loaded again (:meth:`Provider.deciding`).
_WRITTEN_BEFORE_LOADING = 8

#: How many times a use license is decided on a new snapshot when the lab changed while
#: it was decided, before it is issued in a write transaction.
_DECISIONS = 3


def _use_license(call: _Call, cluster: Cluster, label: str, rac: str) -> str:
    """One use license (MS-RMPR 3.4.4.1), in three steps: decided on the state the
    request is served from (a snapshot: every check, the content key opened); its GUID
    and padding drawn under the lab's lock for that moment alone
    (:meth:`Provider.drawing`), committed before anything is answered; signed after.
    When the lab changed while it was decided (a command, another server), it is decided
    again on the lab as it now stands; after :data:`_DECISIONS` tries, in one write
    transaction."""
    from rmslab.flows.licensing import (decide_use_license, draw_use_license,
                                        issue_use_license, sign_use_license)
    assert call.provider is not None
    to, served = str(call.context), call.served
    if served.writing:  # served for writing already: decided, drawn and signed in it
        return issue_use_license(cluster, label, rac, anchor=call.anchor(),
                                 trace=call.trace(), to=to, chains=call.chains)
    for _ in range(_DECISIONS):
        trace = call.trace()
        decision = decide_use_license(cluster, label, rac, anchor=call.anchor(),
                                      trace=trace, chains=call.chains)
        body: str | None = None
        with call.provider.drawing(served) as drawing:
            if drawing is not None:
                body = draw_use_license(_same_cluster(drawing, cluster), decision)
        if body is not None:
            return sign_use_license(cluster, decision, body, trace=trace, to=to)
        with call.provider.deciding(snapshot=True) as served:
            cluster = _same_cluster(served, cluster)
    with call.provider(True) as writing:
        return issue_use_license(_same_cluster(writing, cluster), label, rac,
                                 anchor=call.anchor(), trace=call.trace(), to=to,
                                 chains=call.chains)


def _same_cluster(served: Served, cluster: Cluster) -> Cluster:
    """The cluster of ``served`` that is ``cluster`` (by name), or a fault."""
    same = next((c for c in served.clusters if c.name == cluster.name), None)
    if same is None:
        raise SoapFault(faults.UNSPECIFIED, f"the cluster {cluster.name} is no longer "
                        "served here")
    return same


def answer_certificates(answer: str, cluster: Cluster) -> Node | None:
    """The ``CertificateChain`` of an AcquireLicense answer (MS-RMPR 3.4.4.1): the
    :func:`~rmslab.service.soap.certificates_xml` of ``answer`` — the use license followed
    by the cluster's SLC chain — with the SLC chain's documents as the cluster read them
    once (:attr:`Cluster.slc_chain`): only the use license is read per answer."""
    slc = cluster.slc_text
    if not slc or not answer.endswith(slc) or len(answer) == len(slc):
        return certificates_xml("CertificateChain", answer)
    from rmslab.xrml.reader import parse
    head = parse(answer[:len(answer) - len(slc)], source="CertificateChain")
    return el("CertificateChain", *(Node(f"<m:Certificate>{d.text}</m:Certificate>")
                                    for d in (*head, *cluster.slc_chain)))


def _acquire_license(call: _Call) -> Node:
    """AcquireLicense (MS-RMPR 3.4.4.1): anonymous — the RAC presented is the identity,
    and the use license is sealed to the RAC's key, which only the machine holding the
    RAC's sealed private key can open. Version 1.0.0.0: one request; 1.1.0.0: a batch,
    a failed item answered as an AcquireLicenseException."""
    cluster = call.need_cluster()
    array = _required(call, call.envelope.find(call.body, "RequestParams"), "RequestParams")
    items = call.envelope.findall(array, "AcquireLicenseParams")
    if not items:
        raise SoapFault(faults.ARGUMENT_NULL, "RequestParams holds no AcquireLicenseParams")
    batch = call.version >= (1, 1, 0, 0)
    if len(items) > 1 and not batch:
        raise SoapFault(faults.UNSPECIFIED, "version 1.0.0.0 asks for one license per request")
    answers = []
    label: str | None = None
    for index, item in enumerate(items):
        try:
            rac = call.envelope.chain(call.envelope.find(item, "LicenseeCerts"))
            label = call.envelope.chain(call.envelope.find(item, "IssuanceLicense")) or label
            if rac is None:
                raise SoapFault(faults.ARGUMENT_NULL, "no LicenseeCerts (the RAC chain)")
            if label is None:
                raise SoapFault(faults.ARGUMENT_NULL, "no IssuanceLicense (the publishing "
                                "license chain)")
            try:
                answer = _use_license(call, cluster, label, rac)
            except RefusedError as exc:
                if "does not verify" in exc.reason:  # which one, and how: 3.4.4.1's names
                    _verified_rac(call, rac)
                    _verified_label(call, label)
                raise SoapFault(faults.exception_for("AcquireLicense", exc), exc.reason,
                                spec_id=exc.spec_id) from None
            except LabStoreError:  # the lab cannot be used (drawing from it): the request's
                raise              # fault, as for any request served from the lab
            except (RmslabError, ValueError) as exc:
                raise SoapFault(faults.UNSPECIFIED, f"the publishing license cannot be "
                                f"read: {exc}", spec_id="L-1") from None
            answers.append(el("AcquireLicenseResponse",
                              answer_certificates(answer, cluster)))
        except SoapFault as fault:
            if not batch:
                raise
            answers.append(el("AcquireLicenseResponse", el("CertificateChain", el(
                "Certificate", el("AcquireLicenseException", el("ExceptionString",
                                                                fault.faultstring, prefix=""),
                                  el("batchindex", str(index), prefix=""), prefix="")))))
    return el("AcquireLicenseResponse", el("AcquireLicenseResult", *answers))


def _acquire_issuance_license(call: _Call) -> Node:
    """AcquireIssuanceLicense (MS-RMPR 3.5.4.1), anonymous as MS-RMPR has it (online
    publishing needs no RAC): each unsigned publishing license is checked and signed by
    :func:`rmslab.flows.publishing.sign_issuance_license` — its issued principal this
    cluster's or a trusted publishing domain's, its enabling bits' hash, an official
    template's signature —, its hash regenerated, ISSUEDTIME and the License-Acquisition
    points written; the answer is the signed publishing license chain."""
    from rmslab.flows.publishing import sign_issuance_license
    cluster = call.need_cluster()
    array = _required(call, call.envelope.find(call.body, "RequestParams"), "RequestParams")
    answers = []
    for params in call.envelope.findall(array, "AcquireIssuanceLicenseParams"):
        text = call.envelope.fragment(call.envelope.find(params, "UnsignedIssuanceLicense"))
        if text is None:
            raise SoapFault(faults.ARGUMENT_NULL, "no UnsignedIssuanceLicense")
        try:
            signed = sign_issuance_license(cluster, text, trace=call.trace(),
                                           to=str(call.context))
        except RefusedError as exc:
            raise SoapFault(faults.exception_for("AcquireIssuanceLicense", exc), exc.reason,
                            spec_id=exc.spec_id) from None
        answers.append(el("AcquireIssuanceLicenseResponse",
                          certificates_xml("CertificateChain", signed)))
    if not answers:
        raise SoapFault(faults.ARGUMENT_NULL, "RequestParams holds no "
                        "AcquireIssuanceLicenseParams")
    return el("AcquireIssuanceLicenseResponse", el("AcquireIssuanceLicenseResult", *answers))


def _client_licensor_cert(call: _Call) -> Node:
    """GetClientLicensorCert (MS-RMPR 3.5.4.2): a CLC for the principal of the RAC
    presented (the request names no one else), its key sealed to the RAC's key."""
    from rmslab.actors.people import User
    from rmslab.flows.certification import issue_client_licensor_certificate
    from rmslab.xrml.reader import parse
    cluster = call.need_cluster()
    array = _required(call, call.envelope.find(call.body, "RequestParams"), "RequestParams")
    answers = []
    for params in call.envelope.findall(array, "GetClientLicensorCertParams"):
        rac = call.envelope.chain(call.envelope.find(params, "PersonaCerts"))
        if rac is None:
            raise SoapFault(faults.ARGUMENT_NULL, "no PersonaCerts (the RAC chain)",
                            spec_id="E-9")
        _verified_rac(call, rac)
        document = parse(rac)[0]
        email = document.principals[0].name or ""
        name, _, domain = email.partition("@")
        directory = call.served.directory
        user = (directory.users.get(name) if directory is not None
                and domain == directory.domain else None) or User(name, domain)
        machine = cluster.rac_machines.get(document.id or "", "")
        clc = issue_client_licensor_certificate(cluster, user, machine, rac, trace=call.trace())
        answers.append(el("GetClientLicensorCertResponse",
                          certificates_xml("CertificateChain", clc)))
    if not answers:
        raise SoapFault(faults.ARGUMENT_NULL, "RequestParams holds no "
                        "GetClientLicensorCertParams", spec_id="E-9")
    return el("GetClientLicensorCertResponse", el("GetClientLicensorCertResult", *answers))


def _templates(call: _Call) -> list[tuple[str, str, str]]:
    """(GUID, hash, text) of the cluster's templates: the GUID is the template's ID, the
    hash its signature's DIGEST VALUE (MS-RMPR 3.4.4.2.3.2). A decommissioned cluster
    answers neither template operation (3.4.4.2, 3.4.4.3: ClusterDecommissionedException)."""
    from rmslab.flows._common import require_not_decommissioned
    from rmslab.xrml.reader import parse
    require_not_decommissioned(call.need_cluster(), call.trace(), call.operation.name)
    found = []
    for name, text in sorted(call.need_cluster().templates.items()):
        document = parse(text, source=f"template {name}")[0]
        digest = document.element.findtext("SIGNATURE/DIGEST/VALUE") or ""
        found.append(((document.id or "").strip("{}"), digest, text))
    return found


def _template_information(call: _Call) -> Node:
    """AcquireTemplateInformation (MS-RMPR 3.4.4.2): the server's key and a GUID and hash
    per published template."""
    key = call.need_cluster().key.public
    templates = _templates(call)
    return el("AcquireTemplateInformationResponse", el(
        "AcquireTemplateInformationResult",
        el("ServerPublicKey", base64.b64encode(key.to_pkcs1_der()).decode("ascii")),
        el("GuidHashCount", str(len(templates))),
        *(el("GuidHash", el("Guid", g), el("Hash", h)) for g, h, _ in templates)))


def _acquire_templates(call: _Call) -> Node:
    """AcquireTemplates (MS-RMPR 3.4.4.3): the templates asked for, by GUID; an unknown
    GUID gets no Template."""
    guids = _required(call, call.envelope.find(call.body, "guids"), "guids")
    templates = {g.lower(): (g, h, t) for g, h, t in _templates(call)}
    answers = []
    for node in call.envelope.findall(guids, "string"):
        asked = (node.text or "").strip().strip("{}").lower()
        found = templates.get(asked)
        answers.append(el("GuidTemplate", el("Guid", found[0] if found else asked),
                          el("Hash", found[1]) if found else None,
                          el("Template", found[2]) if found else None))
    return el("AcquireTemplatesResponse", el("AcquireTemplatesResult", *answers))


def _enroll(call: _Call) -> Node:
    """Enroll (MS-RMPR 3.6.4.1): ``oInput`` is the EnrollParameters — the server's key and
    GUID, its revocation arrangement and EnrolleeInformation. The service performs no
    authentication (3.1.3.2) and requires only a Version (3.6.4.1.4.6); a request whose
    SignedDataBase64Encoded carries rmslab's proof must still match it, and one submitted
    as a file (``/offlineenroll/Enrollment.aspx``) must carry it — the documentation's
    rule S-5, not MS-RMPR's. The answer is four strings: the SLC, the Enrollment Service
    certificate, the Enrollment CA certificate and the CA certificate (3.6.4.1.4.7). A
    renewal is the same request from a server whose key the service enrolled before."""
    from rmslab.xrml.certificates import ENROLLMENT_NAMESPACE
    from rmslab.xrml.reader import parse
    service = call.served.enrollment
    assert service is not None
    parameters = _required(call, call.envelope.find(call.body, "oInput"), "oInput")
    request = etree.Element(f"{{{ENROLLMENT_NAMESPACE}}}EnrollParameters",
                            nsmap={None: ENROLLMENT_NAMESPACE})  # type: ignore[dict-item]
    for child in parameters:
        if isinstance(child.tag, str):
            request.append(copy.deepcopy(child))
    request_text = etree.tostring(request, encoding="unicode")
    kind = service.kind_of(request_text)
    handler = service.renew if kind == "slc-renewal" else service.enroll
    response = handler(request_text, trace=call.trace(), channel=call.channel)
    return el("EnrollResponse", el("EnrollResult", el(
        "LicensorCertificateChain", *(el("string", d.text) for d in parse(response)))))


def _acquire_content_key(call: _Call) -> Node:
    """AcquireContentKey (MS-RMSI 3.2.4.1), the decommissioning interface: the content key
    of the first publishing license sent — MS-RMSI names no authentication, so to anyone
    —, only from a decommissioned cluster (ClusterNotDecommissionedException) and only of a
    license issued to it or to a trusted publishing domain
    (UnsignedIssuanceLicenseNoMatchingIssuedPrincipalException), with its type from the
    KeyHeader (AES or DES)."""
    from rmslab.flows.server_state import acquire_content_key
    cluster = call.need_cluster()
    array = _required(call, call.envelope.find(call.body, "paramsSoap"), "paramsSoap")
    params = call.envelope.findall(array, "AcquireContentKeyParams")
    if not params:
        raise SoapFault(faults.ARGUMENT_NULL, "paramsSoap holds no AcquireContentKeyParams")
    license_text = call.envelope.chain(call.envelope.find(params[0], "IssuanceLicense"))
    if license_text is None:
        raise SoapFault(faults.ARGUMENT_NULL, "AcquireContentKeyParams has no "
                        "IssuanceLicense")
    content, _ = acquire_content_key(cluster, license_text)
    return el("AcquireContentKeyResponse", el("AcquireContentKeyResult", el(
        "AcquireContentKeyResponse",
        el("ContentKey", base64.b64encode(content.key).decode("ascii")),
        el("ContentKeyType", content.header.algorithm.value))))


HANDLERS: dict[str, Handler] = {
    "Activate": _activate,
    "Certify": _certify,
    "GetLicensorCertificate": _licensor_certificate,
    "FindServiceLocationsForUser": _find_service_locations,
    "GetServerInfo": _server_info,
    "AcquireLicense": _acquire_license,
    "AcquireIssuanceLicense": _acquire_issuance_license,
    "GetClientLicensorCert": _client_licensor_cert,
    "AcquireTemplateInformation": _template_information,
    "AcquireTemplates": _acquire_templates,
    "Enroll": _enroll,
    "AcquireContentKey": _acquire_content_key,
}
