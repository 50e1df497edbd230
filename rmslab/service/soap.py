"""SOAP 1.1 envelopes of MS-RMPR, written and read with the WSDL's element names
(MS-RMPR 2.1, 2.2, 3.1.4.5, 3.1.4.6, section 6).

Envelopes are written as text, so that every XrML document travels exactly as it was
written: a ``Certificate`` element (MS-RMPR 2.2.4.1, ``ArrayOfXmlNode``) holds one XrML
document as an XML fragment, spliced in character for character, and the reader gives
each one back as the exact characters the sender wrote — an XrML signature covers its
BODY *as written* (docs/wire-format.md), so re-serialising a parsed tree would break it. Service
elements carry a prefix, so the un-prefixed XrML stays in no namespace. A Certificate
whose content is text (the schema's ``mixed="true"`` allows an escaped document) is
read as that text.

Reading is hardened: UTF-8 only, no DTD or entity declarations, lxml's depth limit,
and every failure an :class:`EnvelopeError` (answered 400 with a ``soap:Client``
fault) or a :class:`SoapFault` (answered 500 with a ``soap:Server`` fault that names
MS-RMPR's exception, 3.1.4.5).

This module does no I/O. The schema of the WSDL files is not shipped (they are
Microsoft's text): the tests validate every message against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from lxml import etree

from rmslab.errors import InputError, RmslabError
from rmslab.xrml.reader import parse

__all__ = ["SOAP_ENV", "SOAP12_ENV", "XSI", "Service", "SERVICES", "ENROLLMENT",
           "Operation", "OPERATIONS", "Envelope", "EnvelopeError", "SoapFault", "Fault",
           "write_envelope", "write_fault", "read_envelope", "read_fault", "Node", "el",
           "certificates_xml", "version_tuple", "SERVER_VERSION_RANGE", "VERSION_1_0",
           "VERSION_1_1", "exception_short_name"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_DRM = "http://microsoft.com/DRM/"

VERSION_1_0 = "1.0.0.0"
VERSION_1_1 = "1.1.0.0"


@dataclass(frozen=True)
class Service:
    """One ASMX service of MS-RMPR 3.1.4.2 (or of MS-RMSI 6.1, the decommissioning
    interface): its namespace, the paths under a cluster's base URL where it answers, and
    its operations."""

    name: str
    namespace: str
    paths: tuple[str, ...]
    operations: tuple[str, ...]


SERVICES: tuple[Service, ...] = (
    Service("Activation", _DRM + "ActivationService", ("certification/activation.asmx",),
            ("Activate",)),
    Service("Certification", _DRM + "CertificationService",
            ("certification/certification.asmx",), ("Certify",)),
    Service("Server", _DRM + "ServerService",
            ("certification/server.asmx", "certification/servicelocator.asmx",
             "licensing/server.asmx", "licensing/servicelocator.asmx"),
            ("GetLicensorCertificate", "FindServiceLocationsForUser", "GetServerInfo")),
    Service("License", _DRM + "LicensingService", ("licensing/license.asmx",),
            ("AcquireLicense",)),
    Service("Publish", _DRM + "PublishingService", ("licensing/publish.asmx",),
            ("AcquireIssuanceLicense", "GetClientLicensorCert")),
    Service("TemplateDistribution", _DRM + "TemplateDistributionService",
            ("licensing/templatedistribution.asmx",),
            ("AcquireTemplateInformation", "AcquireTemplates")),
    # MS-RMSI 3.2 and 6.1: the Decommissioning interface of a decommissioned server
    Service("Decommission", _DRM + "DecommissionService", ("decommission/decommission.asmx",),
            ("AcquireContentKey",)),
)

#: The enrollment service's EnrollServiceSoap (MS-RMPR 3.6, section 6.6), at
#: ``/enrollment/enrollservice.asmx`` of the enrollment service's host.
ENROLLMENT = Service("Enroll", _DRM + "EnrollmentService", ("enrollment/enrollservice.asmx",),
                     ("Enroll",))

#: The capability versions each operation accepts (MS-RMPR 2.2.4.2): AcquireLicense
#: answers batches from 1.1.0.0 (3.4.4.1); everything else is 1.0.0.0.
SERVER_VERSION_RANGE: dict[str, tuple[str, str]] = {
    "AcquireLicense": (VERSION_1_0, VERSION_1_1)}


@dataclass(frozen=True)
class Operation:
    """One operation: its service and its SOAPAction (section 6)."""

    name: str
    service: Service

    @property
    def action(self) -> str:
        return f"{self.service.namespace}/{self.name}"

    @property
    def versions(self) -> tuple[str, str]:
        return SERVER_VERSION_RANGE.get(self.name, (VERSION_1_0, VERSION_1_0))

    @property
    def versioned(self) -> bool:
        """Whether the WSDL binds a VersionData header to the operation (GetServerInfo's
        binding has none, section 6.5)."""
        return self.name != "GetServerInfo"


OPERATIONS: dict[str, Operation] = {
    name: Operation(name, service) for service in (*SERVICES, ENROLLMENT)
    for name in service.operations}


# --- exception names (MS-RMPR 3.1.4.5, 3.1.4.6 and each operation's table) ----------------


def exception_short_name(name: str) -> str:
    """``Microsoft.DigitalRightsManagement.Core.MalformedDataVersionException`` →
    ``MalformedDataVersionException``."""
    return name.rsplit(".", 1)[-1]


class SoapFault(RmslabError):
    """An operation refused or failed: answered as a SOAP fault whose faultstring starts
    with the exception name MS-RMPR gives (3.1.4.5). ``spec_id`` names rmslab's rule."""

    def __init__(self, exception: str, reason: str, *, spec_id: str | None = None) -> None:
        self.exception = exception
        self.reason = reason
        self.spec_id = spec_id
        super().__init__(f"{exception}: {reason}")

    @property
    def faultstring(self) -> str:
        """MS-RMPR 3.1.4.5: ``ExceptionName DelimText`` — the name, ``": "``, the reason
        (and rmslab's rule in brackets)."""
        rule = f" [{self.spec_id}]" if self.spec_id else ""
        return f"{self.exception}: {self.reason}{rule}"


class EnvelopeError(InputError):
    """The request is not a SOAP 1.1 envelope rmslab can read (answered 400 with a
    ``soap:Client`` fault, or ``VersionMismatch`` for another envelope namespace)."""

    def __init__(self, message: str, *, code: str = "Client") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Fault:
    """A fault as the client reads it."""

    code: str
    string: str

    @property
    def exception(self) -> str:
        """The exception name at the start of the faultstring (3.1.4.5 grammar)."""
        match = re.match(r"[^\s:\-]+", self.string.strip())
        return match.group() if match else ""

    @property
    def reason(self) -> str:
        text = self.string.strip()[len(self.exception):].lstrip(" :-")
        return re.sub(r"\s*\[[A-Z]-\d+\]\s*$", "", text)

    @property
    def spec_id(self) -> str | None:
        match = re.search(r"\[([A-Z]-\d+)\]\s*$", self.string)
        return match.group(1) if match else None


# --- writing -----------------------------------------------------------------------------


def _escape(value: str, quote: bool = False) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("\r", "&#13;")
    return value.replace('"', "&quot;") if quote else value


class Node(str):
    """Markup already written (never escaped again)."""


def el(name: str, *children: str | None, attrs: Iterable[tuple[str, str]] = (),
       prefix: str = "m") -> Node:
    """``<m:name attr="…">children</m:name>``: text children are escaped, :class:`Node`
    children kept; ``None`` children are skipped. ``prefix=""`` writes no prefix."""
    tag = f"{prefix}:{name}" if prefix else name
    attributes = "".join(f' {k}="{_escape(v, True)}"' for k, v in attrs)
    inner = "".join(c if isinstance(c, Node) else _escape(c) for c in children if c is not None)
    return Node(f"<{tag}{attributes}>{inner}</{tag}>")


def certificates_xml(name: str, chain_text: str | None) -> Node | None:
    """An ``ArrayOfXmlNode`` (MS-RMPR 2.2.4.1) named ``name``: one ``Certificate`` per
    document of the chain, each document spliced in exactly as written. ``None`` gives
    no element (the schema's ``minOccurs="0"``)."""
    if chain_text is None:
        return None
    documents = parse(chain_text, source=name)
    return el(name, *(Node(f"<m:Certificate>{d.text}</m:Certificate>") for d in documents))


def _version_header(namespace: str, versions: tuple[str, str]) -> Node:
    return Node(f'<m:VersionData xmlns:m="{namespace}">'
                f"<m:MinimumVersion>{versions[0]}</m:MinimumVersion>"
                f"<m:MaximumVersion>{versions[1]}</m:MaximumVersion></m:VersionData>")


def write_envelope(namespace: str, element: Node, *,
                   versions: tuple[str, str] | None = (VERSION_1_0, VERSION_1_0)) -> bytes:
    """A SOAP 1.1 envelope: the VersionData header (MS-RMPR 2.2.3.3; none when
    ``versions`` is None) and ``element`` (written with :func:`el`, prefix ``m``) as the
    body, UTF-8."""
    head, _, rest = element.partition(">")
    body = f'{head} xmlns:m="{namespace}">{rest}'
    header = (f"<soap:Header>{_version_header(namespace, versions)}</soap:Header>"
              if versions else "")
    text = (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:xsi="{XSI}">{header}'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>")
    return text.encode("utf-8")


def write_fault(code: str, string: str, *, namespace: str | None = None,
                versions: tuple[str, str] = (VERSION_1_0, VERSION_1_0)) -> bytes:
    """A SOAP 1.1 fault (SOAP 1.1 section 4.4; MS-RMPR 3.1.4.5), with the VersionData
    header when the service is known (MS-RMPR 2.2.4.2: also when answering an error)."""
    header = (f"<soap:Header>{_version_header(namespace, versions)}</soap:Header>"
              if namespace else "")
    text = (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}">{header}<soap:Body><soap:Fault>'
            f"<faultcode>soap:{code}</faultcode><faultstring>{_escape(string)}</faultstring>"
            f"</soap:Fault></soap:Body></soap:Envelope>")
    return text.encode("utf-8")


# --- reading -----------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False, remove_blank_text=False,
                          collect_ids=False)
_HIDDEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
_DECLARATIONS = re.compile(r"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


@dataclass
class Envelope:
    """A SOAP 1.1 envelope read: the body's element, the VersionData header, and the
    exact text of every element (for the XrML documents inside)."""

    text: str
    body: etree._Element
    version_data: etree._Element | None
    #: The exact span of every XrML document in :attr:`text`.
    _spans: dict[etree._Element, tuple[int, int]] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return etree.QName(self.body).namespace or ""

    @property
    def operation(self) -> str:
        return etree.QName(self.body).localname

    def find(self, parent: etree._Element, *path: str) -> etree._Element | None:
        """The child at ``path`` (local names in the body's namespace)."""
        node: etree._Element | None = parent
        for name in path:
            if node is None:
                return None
            node = node.find(f"{{{self.namespace}}}{name}")
        return node

    def findall(self, parent: etree._Element | None, name: str) -> list[etree._Element]:
        if parent is None:
            return []
        return parent.findall(f"{{{self.namespace}}}{name}")

    def text_of(self, parent: etree._Element | None, name: str) -> str | None:
        node = self.find(parent, name) if parent is not None else None
        if node is None or node.get(f"{{{XSI}}}nil") == "true":
            return None
        return node.text or ""

    def documents(self, element: etree._Element) -> str:
        """The XrML documents that are children of ``element``, each exactly as sent,
        joined; any other child makes it :class:`EnvelopeError`."""
        parts = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child not in self._spans:
                raise EnvelopeError(f"<{etree.QName(child).localname}> stands where an XrML "
                                    "document was expected")
            start, end = self._spans[child]
            parts.append(self.text[start:end])
        return "".join(parts)

    def chain(self, array: etree._Element | None) -> str | None:
        """The documents of an ``ArrayOfXmlNode``, each exactly as sent, joined (``None``
        when the array is absent or holds no document)."""
        if array is None:
            return None
        parts = []
        for certificate in self.findall(array, "Certificate"):
            if certificate.get(f"{{{XSI}}}nil") == "true":
                continue
            if len(certificate):
                parts.append(self.documents(certificate))
            elif (certificate.text or "").strip():
                parts.append((certificate.text or "").strip())  # escaped (mixed content)
        return "".join(parts) or None

    def fragment(self, element: etree._Element | None) -> str | None:
        """The content of a ``mixed`` element holding an XML fragment (an unsigned
        issuance license, HidXml): its exact text, or its text when escaped."""
        if element is None:
            return None
        if len(element) and all(child in self._spans for child in element
                                if isinstance(child.tag, str)):
            return self.documents(element) or None
        if len(element):  # not XrML (HidXml): its markup, which no signature covers
            return "".join(etree.tostring(child, with_tail=False).decode("utf-8")
                           for child in element if isinstance(child.tag, str))
        return (element.text or "").strip() or None


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError("the request is not UTF-8 text (MS-RMPR clients send "
                            "SOAP 1.1 as UTF-8)") from None


_XRML_START = re.compile(r"<XrML[\s/>]")
_XRML_END = re.compile(r"</XrML\s*>")


def _document_spans(text: str, count: int) -> list[tuple[int, int]]:
    """Where each ``<XrML>`` element of the envelope lies in ``text``, in document order:
    starts and ends found by plain searches (comments, CDATA and processing instructions
    masked), paired like parentheses; ``count`` is how many the parsed tree holds."""
    masked = (_HIDDEN.sub(lambda m: " " * len(m.group()), text)
              if ("<!" in text or "<?" in text) else text)
    events = sorted([(m.start(), 0) for m in _XRML_START.finditer(masked)] +
                    [(m.end(), 1) for m in _XRML_END.finditer(masked)])
    spans: list[list[int]] = []
    open_: list[int] = []
    for position, closing in events:
        if not closing:
            open_.append(len(spans))
            spans.append([position, -1])
        elif open_:
            spans[open_.pop()][1] = position
        else:
            raise EnvelopeError("an </XrML> closes no document")
    for span in spans:  # <XrML/>: an empty document closes its own start tag
        if span[1] < 0:
            span[1] = masked.index(">", span[0]) + 1
    if len(spans) != count:
        raise EnvelopeError("the envelope's XrML documents cannot be told apart")
    return [(a, b) for a, b in spans]


def read_envelope(data: bytes) -> Envelope:
    """Read a SOAP 1.1 request or response: :class:`EnvelopeError` for anything that is
    not one (not UTF-8, DTDs, malformed XML, too deep, another envelope namespace, no
    body element)."""
    text = _decode(data)
    if "<!" in text and _DECLARATIONS.search(text):
        raise EnvelopeError("the request declares a DTD or entities; SOAP forbids them")
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        message = re.sub(r",? line \d+, column \d+", "", str(exc))
        raise EnvelopeError(f"the request is not well-formed XML ({message})") from None
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise EnvelopeError("a SOAP 1.2 envelope: this server speaks SOAP 1.1 (MS-RMPR 2.1)",
                            code="VersionMismatch")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise EnvelopeError(f"the document element is {root.tag!r}, not a SOAP 1.1 "
                            "Envelope", code="VersionMismatch"
                            if etree.QName(root).localname == "Envelope" else "Client")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(children) != 1:
        raise EnvelopeError("the SOAP Body must hold exactly one element")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    version_data = None
    namespace = etree.QName(children[0]).namespace
    if header is not None:
        version_data = header.find(f"{{{namespace}}}VersionData")
    documents = list(root.iter("XrML"))
    spans = _document_spans(text, len(documents)) if documents else []
    return Envelope(text, children[0], version_data, dict(zip(documents, spans)))


def read_fault(envelope: Envelope) -> Fault | None:
    """The fault of a response, if it is one."""
    if envelope.body.tag != f"{{{SOAP_ENV}}}Fault":
        return None
    code = (envelope.body.findtext("faultcode") or "").strip()
    return Fault(code.split(":")[-1], envelope.body.findtext("faultstring") or "")


_VERSION = re.compile(r"\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9}")


def version_tuple(value: str) -> tuple[int, ...] | None:
    """``"1.0.0.0"`` → ``(1, 0, 0, 0)``; ``None`` when it is not ``a.b.c.d``
    (MS-RMPR 2.2.4.2)."""
    value = value.strip()
    return tuple(int(p) for p in value.split(".")) if _VERSION.fullmatch(value) else None
