"""A licensing round trip as it travels: the bytes a client sends to the lab's server and
the bytes it gets back, captured on the socket, each line annotated (notebook 10 "On the
wire"; SPEC L-1, P-7, E-8; MS-RMPR 2.1, 2.2.3.3, 2.2.4.1, 2.2.4.2, 3.1.4.2–3.1.4.5,
3.4.4.1).

:func:`capture_licensing` creates a lab on disk (in a folder of its own, removed
after), serves it with :meth:`rmslab.service.LoopbackService.of_lab` — waitress, the
store, the request log, as ``rmslab serve`` does — and runs the real flow
(:func:`rmslab.flows.licensing.acquire_use_license`) through a client whose every request
goes out on a socket of its own: what the flow sent and what came back are kept byte for
byte. :class:`WireMessage` splits one message into its HTTP head and its SOAP envelope
and annotates every header and every element from what the message holds: the notes
come from the element's name and place, and each XrML document is described from the
document itself (kind, ID, issuer, subject, validity, signature), so when the documents'
shapes change the annotations follow. Nothing here is written for one particular
message.

The server's ``Date`` header is the machine's wall clock: it is shown as sent but
replaced by ``(the time it was sent)``, so that the notebook's outputs stay the same
from run to run.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from rmslab.errors import InputError, NotConnectedError, RmslabError
from rmslab.rules import RULE_ID, RULES, rule_anchor
from rmslab.service.http import SoapClient, _endpoint
from rmslab.service.soap import SOAP_ENV, Envelope, EnvelopeError, read_envelope

__all__ = ["WireLine", "WireMessage", "RoundTrip", "LicensingCapture", "capture_licensing",
           "CapturingClient"]

_DRM = "http://microsoft.com/DRM/"

#: Notes on HTTP headers, by lower-case name.
_HEADER_NOTES = {
    "host": "the lab host the request is for — the host of the cluster's base URL "
            "(MS-RMPR 3.1.4.2); the lab's names are made up, so the server reads it here",
    "content-type": "SOAP 1.1 travels as text/xml, UTF-8 (MS-RMPR 2.1)",
    "soapaction": "names the operation: the WSDL binding's soapAction, namespace and name",
    "content-length": "the envelope's size in bytes: the server refuses more than it "
                      "accepts (413) before reading it",
    "connection": "one request per connection here, so each message is captured whole",
    "authorization": "HTTP Basic with the lab's password, standing in for Negotiate "
                     "(MS-RMPR 3.1.4.3)",
    "server": "the WSGI server in front of rmslab: waitress",
    "date": "the server's wall clock (shown replaced: it changes on every run)",
}

#: Notes on SOAP elements, by local name (MS-RMPR section 2 and 3.4.4.1).
_ELEMENT_NOTES = {
    "Envelope": "a SOAP 1.1 envelope (MS-RMPR 2.1); the prefix m names the service's "
                "namespace",
    "Header": "SOAP headers: here only VersionData",
    "VersionData": "MS-RMPR 2.2.3.3: the capability versions of the message; a request "
                   "without it is answered with ArgumentNullException (3.1.4.6)",
    "MinimumVersion": "the lowest version the sender accepts (2.2.4.2)",
    "MaximumVersion": "the highest version the sender speaks; above the server's: "
                      "UnsupportedDataVersionException",
    "Body": "the operation's element, one and only one",
    "AcquireLicense": "the request of MS-RMPR 3.4.4.1: a use license, please [L-1]",
    "RequestParams": "the requests: one per item in a batch (version 1.1.0.0)",
    "AcquireLicenseParams": "one license request: who asks, for what",
    "LicenseeCerts": "the RAC chain of the reader: the identity the license will be "
                     "issued to — the request itself is anonymous [L-1]",
    "IssuanceLicense": "the publishing license chain from the protected file, as the "
                       "author's client signed it [P-7]",
    "Certificate": "one XrML document, spliced in exactly as written (ArrayOfXmlNode, "
                   "MS-RMPR 2.2.4.1): its signature covers its BODY as written",
    "AcquireLicenseResponse": "the answer of 3.4.4.1",
    "AcquireLicenseResult": "one response per request item",
    "CertificateChain": "the use license and the chain that vouches for it, leaf first",
    "Fault": "a SOAP fault (MS-RMPR 3.1.4.5): the server refused",
    "faultcode": "soap:Server — the request was read, and refused or failed",
    "faultstring": "the exception name MS-RMPR gives, then why (and rmslab's rule)",
}


def _linked(text: str) -> str:
    """``text`` escaped for HTML, each rule ID a link to docs/rules.md (relative to the
    notebooks folder, as the notebooks link them)."""
    def link(match: re.Match[str]) -> str:
        rule_id = match.group()
        if rule_id not in RULES:
            return rule_id
        return f"<a href='../docs/rules.md#{rule_anchor(rule_id)}'>{rule_id}</a>"
    return RULE_ID.sub(link, html.escape(text))


@dataclass(frozen=True)
class WireLine:
    """One line of a message as shown: its depth, what it says, and the note on it."""

    depth: int
    text: str
    note: str


def _describe_document(text: str) -> str:
    """An XrML document described from itself: kind, ID, issuer, subject, validity and
    how it is signed."""
    from rmslab.xrml.reader import parse
    try:
        document = parse(text, source="the message")[0]
    except (RmslabError, ValueError) as exc:
        return f"an XrML document rmslab cannot read ({exc})"
    parts = [f"{document.kind_name} {document.id or ''}".strip()]
    if document.issuer is not None:
        parts.append(f"issued by {document.issuer.label}")
    subjects = [p.name or p.label for p in document.principals if p.name or p.label]
    if subjects:
        parts.append(f"for {subjects[0]}")
    validity = document.validity
    if validity is not None and validity.not_after is not None:
        parts.append(f"valid until {validity.not_after:%Y-%m-%d %H:%M}Z")
    if document.is_signed and document.digest_algorithm is not None:
        key = document.issuer_key
        parts.append(f"signed {document.digest_algorithm.value}"
                     + (f"/RSA-{key.bits}" if key is not None else ""))
    return "; ".join(parts) + f" ({len(text.encode('utf-8'))} bytes)"


@dataclass
class WireMessage:
    """One HTTP message as it travelled: start line, headers, body (bytes as sent)."""

    raw: bytes
    start: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def __post_init__(self) -> None:
        head, _, self.body = self.raw.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        self.start = lines[0]
        self.headers = [(name.strip(), value.strip()) for name, _, value in
                        (line.partition(":") for line in lines[1:] if line)]

    @property
    def is_request(self) -> bool:
        return not self.start.startswith("HTTP/")

    def envelope(self) -> Envelope:
        return read_envelope(self.body)

    def header(self, name: str) -> str | None:
        """The value of the header ``name`` (any case), as sent."""
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def documents(self) -> list[str]:
        """Every XrML document the envelope carries, in order, each exactly as sent."""
        envelope = self.envelope()
        root = envelope.body.getroottree().getroot()
        found = []
        for node in root.iter("XrML"):
            parent = node.getparent()
            if parent is not None:
                found.append(envelope.documents(parent))
        return found

    def fault_exception(self) -> str | None:
        """The exception name a fault's faultstring starts with (MS-RMPR 3.1.4.5), short
        (``NoRightsForRequestedPrincipalException``); None for an answer."""
        from rmslab.service.soap import read_fault
        fault = read_fault(self.envelope())
        return fault.exception.rsplit(".", 1)[-1] if fault is not None else None

    def lines(self) -> list[WireLine]:
        """Every line of the message, each with its note: the start line, each header,
        each element of the envelope (an XrML document as one line, described)."""
        found = [WireLine(0, self.start, self._start_note())]
        for name, value in self.headers:
            shown = "(the time it was sent)" if name.lower() == "date" else value
            found.append(WireLine(0, f"{name}: {shown}",
                                  _HEADER_NOTES.get(name.lower(), "an HTTP header")))
        found.append(WireLine(0, "", "an empty line ends the head; the body follows"))
        try:
            envelope = self.envelope()
        except EnvelopeError as exc:
            return found + [WireLine(0, self.body[:80].decode("utf-8", "replace"),
                                     f"not a SOAP envelope ({exc})")]
        root = envelope.body.getroottree().getroot()
        self._walk(envelope, root, 0, found)
        return found

    def _start_note(self) -> str:
        if self.is_request:
            method, _, rest = self.start.partition(" ")
            path = rest.rsplit(" ", 1)[0]
            return (f"{method} to {path}: the service's URL under the cluster's base URL "
                    "(MS-RMPR 3.1.4.2)")
        status = self.start.split(" ", 2)[1] if " " in self.start else ""
        return {"200": "answered", "500": "a SOAP fault: refused or failed (MS-RMPR 3.1.4.5)",
                "400": "the request could not be read"}.get(status, "the status")

    def _walk(self, envelope: Envelope, node: etree._Element, depth: int,
              into: list[WireLine]) -> None:
        if not isinstance(node.tag, str):
            return
        qname = etree.QName(node)
        prefix = node.prefix
        name = f"{prefix}:{qname.localname}" if prefix else qname.localname
        if qname.localname == "XrML" and qname.namespace is None:
            text = envelope.documents(node.getparent()) if node.getparent() is not None else ""
            into.append(WireLine(depth, "<XrML>…</XrML>", _describe_document(text)))
            return
        children = [c for c in node if isinstance(c.tag, str)]
        note = _ELEMENT_NOTES.get(qname.localname)
        if note is None:
            where = ("SOAP" if qname.namespace == SOAP_ENV else
                     (qname.namespace or "").replace(_DRM, "") or "no namespace")
            note = f"an element of {where}"
        if qname.namespace and qname.namespace.startswith(_DRM) and depth <= 2 and \
                qname.localname in ("AcquireLicense", "AcquireLicenseResponse"):
            note += f" — namespace {qname.namespace}"
        value = (node.text or "").strip()
        if children:
            into.append(WireLine(depth, f"<{name}>", note))
            for child in children:
                self._walk(envelope, child, depth + 1, into)
        else:
            limit = 400 if qname.localname == "faultstring" else 60
            shown = value if len(value) <= limit else value[:limit - 3] + "…"
            into.append(WireLine(depth, f"<{name}>{shown}</{name}>" if shown else f"<{name}/>",
                                 note))

    def to_text(self) -> str:
        lines = self.lines()
        width = min(64, max(len("  " * l.depth + l.text) for l in lines))
        shown = []
        for line in lines:
            text = "  " * line.depth + line.text
            if len(text) > width:  # a long value (a faultstring): on lines of its own
                shown.append(text)
                text = ""
            shown.append(f"{text:<{width}}  {line.note}")
        return "\n".join(shown)

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        rows = "".join(
            f"<tr><td style='font-family:monospace;white-space:pre;padding-left:"
            f"{0.5 + 1.2 * l.depth:.1f}em'>{html.escape(l.text)}</td>"
            f"<td>{_linked(l.note)}</td></tr>" for l in self.lines())
        return ("<table style='border-collapse:collapse;font-size:90%'>"
                "<tr><th style='text-align:left'>on the wire</th>"
                "<th style='text-align:left'>what it is</th></tr>" + rows + "</table>")


@dataclass
class RoundTrip:
    """A request and the response it got."""

    request: WireMessage
    response: WireMessage

    def to_text(self) -> str:
        return (f"→ {len(self.request.raw)} bytes from the client\n{self.request.to_text()}\n\n"
                f"← {len(self.response.raw)} bytes from the server\n{self.response.to_text()}")

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return (f"<h4>→ the request: {len(self.request.raw)} bytes</h4>{self.request.to_html()}"
                f"<h4>← the response: {len(self.response.raw)} bytes</h4>"
                f"{self.response.to_html()}")


class CapturingClient(SoapClient):
    """A :class:`rmslab.service.http.SoapClient` that sends each request on a connection
    of its own, written byte for byte here (request line, headers, body), and keeps what
    went out and what came back (:attr:`exchanges`)."""

    def __init__(self, port: int, *, timeout: float = 30.0) -> None:
        super().__init__(port, timeout=timeout)
        self.exchanges: list[RoundTrip] = []

    def post(self, url: str, body: bytes, *, action: str, authorization: str | None = None
             ) -> tuple[int, bytes]:
        host, path = _endpoint(url)
        head = [f"POST {path} HTTP/1.1", f"Host: {host}",
                "Content-Type: text/xml; charset=utf-8", f'SOAPAction: "{action}"',
                f"Content-Length: {len(body)}", "Connection: close"]
        if authorization:
            head.append(f"Authorization: {authorization}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("iso-8859-1") + body
        answer = b""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as s:
                s.sendall(request)
                while chunk := s.recv(65536):
                    answer += chunk
        except OSError as exc:
            raise NotConnectedError(f"the service at {url} does not answer ({exc})") from None
        response = WireMessage(answer)
        self.exchanges.append(RoundTrip(WireMessage(request), response))
        try:
            status = int(response.start.split(" ", 2)[1])
        except (IndexError, ValueError):
            raise InputError(f"the service at {url} answered no HTTP status") from None
        return status, response.body


@dataclass
class LicensingCapture:
    """What :func:`capture_licensing` saw: the round trips (AcquireLicense for a reader
    the license grants rights to, then for one it does not), the use license the flow
    obtained, and the rows the server wrote to the cluster's request log (without their
    durations, which change from run to run)."""

    granted: RoundTrip
    refused: RoundTrip
    use_license_kind: str
    logged: list[tuple[str, str, str, str, str, int, str]]

    def log_text(self) -> str:
        return "\n".join(f"{at}  {service}/{operation:<16} {account:<10} {outcome:<8} "
                         f"{status} {exception}".rstrip()
                         for at, service, operation, account, outcome, status, exception
                         in self.logged)


def capture_licensing() -> LicensingCapture:
    """Serve a new lab (seed 0, on disk in a folder of its own) and capture AcquireLicense
    twice on the wire: Bob asks for a use license of a document Alice protected for him
    (answered), and Carol asks for the same document (a SOAP fault: no rights)."""
    from rmslab.deployment import standard_deployment
    from rmslab.errors import RefusedError
    from rmslab.flows.licensing import acquire_use_license
    from rmslab.flows.publishing import publish_offline
    from rmslab.lab import Lab
    from rmslab.rights import Grant, RightsPolicy
    from rmslab.service import LoopbackService, RemoteLicensingService
    from rmslab.store.labdb import LabStore
    from rmslab.xrml.reader import parse
    folder = Path(tempfile.mkdtemp(prefix="rmslab-wire-"))
    try:
        deployment = standard_deployment(Lab())
        store = LabStore.create(deployment, folder / "lab")
        bob, carol = deployment.user("bob"), deployment.user("carol")
        anchor = deployment.enrollment_service.anchor
        chain = publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                                RightsPolicy((Grant(bob.email, ("VIEW",)),)),
                                b"Board minutes", io.BytesIO()).publishing_license
        with LoopbackService.of_lab(store) as served:
            licensing = RemoteLicensingService.of(deployment.root_cluster, served.port)
            client = CapturingClient(served.port)
            licensing._client = client
            use_license, _ = acquire_use_license(licensing, deployment.clients["BOB-PC"],
                                                 bob, chain, anchor=anchor)
            try:
                acquire_use_license(licensing, deployment.clients["CAROL-PC"], carol, chain,
                                    anchor=anchor)
            except RefusedError:
                pass
            else:  # pragma: no cover - the lab's rules say no
                raise AssertionError("carol was licensed")
        with store.read() as after:
            rows = after.root_cluster.log.requests(operation="AcquireLicense")
        logged = [(r.at, r.service, r.operation, r.account, r.outcome, r.status,
                   (r.exception or "").rsplit(".", 1)[-1]) for r in rows]
        return LicensingCapture(client.exchanges[0], client.exchanges[-1],
                                parse(use_license)[0].kind_name, logged)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
