"""Read-only views of XrML documents, one class per kind (docs/wire-format.md "Envelope").

A document keeps the exact text it was read from (``text``) and the exact characters of
its BODY (``body_text``): that is what the surface-coding digest covers, and nothing is
ever re-serialised from the parsed tree.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import (Any, Callable, ClassVar, Generic, Iterator, Sequence, TypeVar, cast,
                    overload)

from lxml import etree

from rmslab.crypto.rsa import DigestAlgorithm, PublicKey, surface_digest
from rmslab.errors import KeyFormatError, StructureError
from rmslab.xrml.model import (DistributionPoint, Principal, Right, SignatureBlock,
                               Validity, describe_interval, first_child, parse_interval,
                               parse_time, read_public_key)
from rmslab.xrml.source import DocumentSpan

__all__ = [
    "XrmlDocument", "CACertificate", "ServerLicensorCertificate", "MachineCertificate",
    "RightsAccountCertificate", "ClientLicensorCertificate", "UseLicense",
    "PublishingLicense", "RightsTemplate", "RightsData", "RevocationList",
    "CERTIFICATE_KINDS", "KIND_NAMES", "strip_intertag_whitespace",
]

_INTERTAG_WHITESPACE = re.compile(r">\s+<")
T = TypeVar("T")
R = TypeVar("R")


class cached_property(Generic[R]):  # noqa: N801 - used like functools.cached_property
    """``functools.cached_property`` without its per-instance lock (Python 3.11 takes an
    RLock on every first access; documents are read by one thread at a time). The value
    is stored in the instance's ``__dict__``, which then shadows this descriptor."""

    def __init__(self, function: Callable[[Any], R]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> "cached_property[R]": ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> R: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> "R | cached_property[R]":
        if instance is None:
            return self
        value = self._compute(instance)
        instance.__dict__[self.name] = value
        return value

    def _compute(self, instance: object) -> R:
        return self.function(instance)


class shared_property(cached_property[R]):  # noqa: N801
    """A :class:`cached_property` of what a document's exact text alone decides (its keys,
    times, rights, signature block, digests): read once for every document of the same
    text at the same place in its chain, and shared with the others
    (:meth:`XrmlDocument._twin`) — the certificates behind every license of one cluster
    are read once per process, not once per file."""

    def _compute(self, instance: object) -> R:
        twin = instance._twin  # type: ignore[attr-defined]
        return self.function(instance) if twin is instance else getattr(twin, self.name)  # type: ignore[no-any-return]


#: Certificates read in this process, by (place in the chain, exact text): the first
#: document of each text, whose values its later twins share (bounded: emptied when full).
_TWINS: dict[tuple[int, str], "XrmlDocument"] = {}
_TWINS_MAX = 256
#: Texts longer than this are not shared (a revocation list of megabytes is read once).
_TWIN_TEXT_MAX = 64 * 1024
# Tags as written (attribute values may hold ">"), and the parts of a text that hold no
# elements (comments, CDATA, processing instructions): masked before looking for tags.
_TAG = re.compile(r"""<(/?)([^\s/>!?]+)(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
_HIDDEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)


def strip_intertag_whitespace(body_text: str) -> str:
    """Remove whitespace-only runs between ``>`` and ``<`` — the recovery
    docs/wire-format.md allows for copies that were pretty-printed after signing (never
    applied silently)."""
    return _INTERTAG_WHITESPACE.sub("><", body_text)


#: Human names of document kinds, used in every message that places a document.
KIND_NAMES: dict[str, str] = {
    "DRM-CA-Certificate": "CA certificate",
    "Server-Licensor-Certificate": "server licensor certificate",
    "Machine-Certificate": "machine certificate",
    "Group-Identity-Credential": "rights account certificate",
    "Client-Licensor-Certificate": "client licensor certificate",
    "Content-License": "use license",
    "Revocation-List": "revocation list",
    "Microsoft Rights Label": "publishing license",
    "Microsoft Official Rights Template": "rights policy template",
    "Microsoft Rights Template": "rights data",
}

#: Kinds whose issued principals are certified keys (they can stand as issuers).
CERTIFICATE_KINDS = frozenset({
    "DRM-CA-Certificate", "Server-Licensor-Certificate", "Machine-Certificate",
    "Group-Identity-Credential", "Client-Licensor-Certificate",
})


class XrmlDocument:
    """One XrML 1.2 document: envelope, BODY, SIGNATURE. Read-only.

    ``kind`` is ``DESCRIPTOR/OBJECT/@type`` when the BODY has a typed DESCRIPTOR, else
    ``BODY/@type``.
    """

    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, source_text: str, span: DocumentSpan, element: etree._Element,
                 index: int = 0, *, parts: "DocumentParts | None" = None) -> None:
        self._source = source_text
        self._span = span
        self._root = element
        self.index = index
        if parts is None:
            parts = locate_parts([element])[0]
        if parts.body is None:  # pragma: no cover - the reader checks the envelope first
            raise StructureError("no <BODY>")
        self._parts = parts
        self._body: etree._Element = parts.body
        #: ``DESCRIPTOR/OBJECT/@type``, when the BODY has a typed DESCRIPTOR.
        self.descriptor_type: str | None = parts.descriptor_type
        #: ``descriptor_type`` when there is one, else ``BODY/@type``.
        self.kind: str = parts.kind

    # --- exact text ----------------------------------------------------------------
    @cached_property
    def text(self) -> str:
        """The document's exact text, ``<XrML`` to ``</XrML>``."""
        return self._source[self._span.start:self._span.end]

    @cached_property
    def body_text(self) -> str:
        """The BODY exactly as written — what the digest covers (docs/wire-format.md
        "Signature", step 1)."""
        return self._source[self._span.body_start:self._span.body_end]

    @cached_property
    def _twin(self) -> "XrmlDocument":
        """The first certificate of this exact text at this place in a chain read in this
        process (this document itself when it is the first, or not a certificate): what
        :class:`shared_property` values are read from. The key is the exact text, so a
        document differing by one character shares nothing; each chain's links and times
        are still checked on its own documents (:func:`rmslab.report.examine`)."""
        if self.kind not in CERTIFICATE_KINDS:
            return self
        text = self.text
        if len(text) > _TWIN_TEXT_MAX:
            return self
        key = (self.index, text)
        twin = _TWINS.get(key)
        if twin is None:
            if len(_TWINS) >= _TWINS_MAX:
                _TWINS.clear()
            _TWINS[key] = self
            return self
        return twin

    @property
    def element(self) -> etree._Element:
        """The parsed tree, for reading. Never serialise it to sign or digest."""
        return self._root

    @property
    def span(self) -> DocumentSpan:
        """Where this document and its BODY lie in the text of its chain (character
        offsets, end exclusive)."""
        return self._span

    @cached_property
    def _element_spans(self) -> tuple[tuple[int, int], ...]:
        """The span in :attr:`text` of every element, in document order (the order of
        ``element.iter()``)."""
        text = self.text
        if "<!" in text or "<?" in text:
            text = _HIDDEN.sub(lambda m: " " * len(m.group()), text)  # same length
        spans: list[tuple[int, int]] = []
        tags: list[str] = []
        open_: list[int] = []
        for match in _TAG.finditer(text):
            closing, name, empty = match.groups()
            if closing:
                if not open_ or tags[open_[-1]] != name:
                    raise StructureError(f"{self.position}: </{name}> does not close the "
                                         "element it should")
                start = open_.pop()
                spans[start] = (spans[start][0], match.end())
            else:
                spans.append((match.start(), match.end()))
                tags.append(name)
                if not empty:
                    open_.append(len(spans) - 1)
        return tuple(spans)

    def element_span(self, target: str | etree._Element) -> tuple[int, int]:
        """Where one element lies in :attr:`text`: from the ``<`` of its start tag to the
        ``>`` of its end tag (end exclusive).

        ``target`` is an ElementPath from the ``XrML`` element (``"BODY/ISSUER"``,
        ``"SIGNATURE/DIGEST/VALUE"``; the first match is taken) or an element of
        :attr:`element`.
        """
        found = self._root.find(target) if isinstance(target, str) else target
        if found is None:
            raise StructureError(f"{self.position}: no element at {target!r}")
        elements = [e for e in self._root.iter() if isinstance(e.tag, str)]
        spans = self._element_spans
        order = next((i for i, e in enumerate(elements) if e is found), None)
        if order is None or len(spans) != len(elements):
            raise StructureError(f"{self.position}: the element is not part of this "
                                 "document's text")
        return spans[order]

    def element_text(self, target: str | etree._Element) -> str:
        """The exact characters of one element as written, tags included (see
        :meth:`element_span`) — a slice of :attr:`text`, never a re-serialisation."""
        start, end = self.element_span(target)
        return self.text[start:end]

    @property
    def position(self) -> str:
        """A phrase placing this document: "the client licensor certificate, 2nd in the
        chain"."""
        return f"the {self.kind_name}, {ordinal(self.index + 1)} in the chain"

    # --- envelope ------------------------------------------------------------------
    @property
    def body_type(self) -> str:
        return self._body.get("type", "")

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"{self.kind or 'untyped'} document")

    @property
    def is_certificate(self) -> bool:
        return self.kind in CERTIFICATE_KINDS

    @shared_property
    def id(self) -> str | None:
        descriptor = self._parts.descriptor
        return _text(first_child(descriptor, "ID")) if descriptor is not None else None

    def _placed(self, read: Callable[[], T], what: str) -> T:
        """Run ``read``; an error it raises is re-raised with this document's position
        (computed only then: positions are cheap to read but not free)."""
        try:
            return read()
        except (StructureError, KeyFormatError) as exc:
            raise type(exc)(f"{self.position}: {exc}") from None

    @shared_property
    def issued(self) -> datetime | None:
        return self._placed(lambda: parse_time(_text(self._body.find("ISSUEDTIME")),
                                               "ISSUEDTIME"), "ISSUEDTIME")

    @shared_property
    def issuer(self) -> Principal | None:
        element = self._parts.issuer
        if element is None:
            return None
        known = self.__dict__.get("issuer_key", ...)  # the key, if verification read it
        return self._placed(lambda: Principal.from_element(element, "ISSUER", known), "ISSUER")

    @shared_property
    def issuer_key(self) -> PublicKey | None:
        """The ISSUER's key (read on its own: verification needs nothing else)."""
        if "issuer" in self.__dict__:
            issuer = self.__dict__["issuer"]
            return issuer.public_key if issuer is not None else None
        element = self._parts.issuer_key
        if element is None:
            return None
        return self._placed(lambda: read_public_key(element, "ISSUER"), "ISSUER")

    @shared_property
    def principals(self) -> tuple[Principal, ...]:
        return self._placed(lambda: tuple(
            Principal.from_element(p, "PRINCIPAL")
            for p in self._body.iterfind("ISSUEDPRINCIPALS/PRINCIPAL")), "ISSUEDPRINCIPALS")

    @shared_property
    def principal_keys(self) -> tuple[PublicKey, ...]:
        """The keys of the issued principals (read on their own, for chain links)."""
        if "principals" in self.__dict__:
            return tuple(p.public_key for p in self.principals if p.public_key is not None)
        elements = self._parts.principal_keys
        if not elements:
            return ()

        def keys() -> tuple[PublicKey, ...]:
            found = (read_public_key(e, "PRINCIPAL") for e in elements)
            return tuple(k for k in found if k is not None)
        return self._placed(keys, "ISSUEDPRINCIPALS")

    def certifies(self, key: PublicKey) -> bool:
        """Whether this document is a certificate whose issued principal holds ``key``."""
        return self.kind in CERTIFICATE_KINDS and key in self.principal_keys

    @shared_property
    def validity(self) -> Validity | None:
        """``BODY/VALIDITYTIME`` if present, else the time range of the first right in
        WORK (where certificates state theirs)."""
        element = self._body.find("VALIDITYTIME")
        if element is None:
            element = self._body.find("WORK/RIGHTSGROUP/RIGHTSLIST//CONDITIONLIST/TIME/RANGETIME")
        if element is None:
            return None
        return self._placed(lambda: Validity(parse_time(_text(element.find("FROM")), "validity"),
                                             parse_time(_text(element.find("UNTIL")), "validity")),
                            "validity")

    @shared_property
    def distribution_points(self) -> tuple[DistributionPoint, ...]:
        return self._placed(lambda: tuple(_distribution_point(d, "DISTRIBUTIONPOINT")
                                          for d in self._body.findall("DISTRIBUTIONPOINT")),
                            "DISTRIBUTIONPOINT")

    @shared_property
    def content_id(self) -> str | None:
        """``WORK/OBJECT/ID`` — the content a license is about."""
        return _text(self._body.find("WORK/OBJECT/ID"))

    @shared_property
    def owner(self) -> str | None:
        owner = self._body.find("WORK/METADATA/OWNER/OBJECT")
        if owner is None:
            return None
        return _text(owner.find("NAME")) or _text(owner.find("ID"))

    @property
    def license_acquisition_urls(self) -> tuple[str, ...]:
        return tuple(d.address for d in self.distribution_points
                     if d.type in ("License-Acquisition-URL", "Extranet-License-Acquisition-URL")
                     and d.address)

    @shared_property
    def rights(self) -> tuple[Right, ...]:
        """Rights readable in clear in WORK (a publishing license keeps its own encrypted).
        The license's revocation point — ``WORK/CONDITIONLIST/REFRESH``, MS-RMPR 2.2.9.7.9
        and 2.2.9.9.10 — applies to every right and is read into each."""
        point = self._body.find("WORK/CONDITIONLIST/REFRESH")
        return self._placed(lambda: tuple(_right(r, "RIGHTSLIST", point)
                                          for r in self._iter_rights()), "RIGHTSLIST")

    def _iter_rights(self) -> Iterator[etree._Element]:
        for rights_list in self._body.findall("WORK/RIGHTSGROUP/RIGHTSLIST"):
            for right in rights_list:
                if isinstance(right.tag, str):
                    yield right

    def sealed_key_for(self, key: PublicKey) -> bytes | None:
        """The ENABLINGBITS sealed to the issued principal that holds ``key``, if any."""
        import base64
        for principal in self._body.iterfind("ISSUEDPRINCIPALS/PRINCIPAL"):
            if read_public_key(principal.find("PUBLICKEY"), self.position) != key:
                continue
            value = principal.find(".//ENABLINGBITS/VALUE")
            if value is not None and value.text:
                return base64.b64decode(value.text)
        return None

    # --- signature -----------------------------------------------------------------
    @shared_property
    def signature(self) -> SignatureBlock | None:
        element = self._parts.signature
        if element is None:
            return None
        return self._placed(lambda: SignatureBlock.from_element(element, "SIGNATURE"),
                            "SIGNATURE")

    @property
    def is_signed(self) -> bool:
        return self.signature is not None and self.signature.value is not None

    @shared_property
    def digest_algorithm(self) -> DigestAlgorithm | None:
        if self.signature is None or self.signature.digest_algorithm is None:
            return None
        try:
            return DigestAlgorithm.from_name(self.signature.digest_algorithm)
        except KeyFormatError:
            return None

    def compute_digest(self, *, recover_whitespace: bool = False) -> bytes:
        """The surface-coding digest of the BODY as written (or after the explicit
        whitespace recovery)."""
        algorithm = self.digest_algorithm
        if algorithm is None:
            raise StructureError(f"{self.position}: no usable DIGEST/ALGORITHM")
        # The document is read-only, so each digest is computed once (examine and
        # check_digest both ask for them); when the recovery strips nothing, the
        # recovered digest is the exact one.
        memo = self._digest_memo
        digest = memo.get(recover_whitespace)
        if digest is None:
            body = strip_intertag_whitespace(self.body_text) if recover_whitespace else self.body_text
            digest = (self.compute_digest() if recover_whitespace and body == self.body_text
                      else surface_digest(body, algorithm))
            memo[recover_whitespace] = digest
        return digest

    @shared_property
    def _digest_memo(self) -> dict[bool, bytes]:
        return {}

    @property
    def mode(self) -> int | None:
        """Cryptographic mode of the signature: 1 (RSA-1024/SHA-1) or 2 (RSA-2048/SHA-256)."""
        key = self.issuer_key
        if self.digest_algorithm is None or key is None:
            return None
        return 2 if self.digest_algorithm is DigestAlgorithm.SHA256 and key.bits >= 2048 else 1

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.index} {self.kind!r} id={self.id}>"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _distribution_point(element: etree._Element, where: str) -> DistributionPoint:
    obj = element.find("OBJECT")
    return DistributionPoint(
        type=obj.get("type", "") if obj is not None else "",
        id=_text(obj.find("ID")) if obj is not None else None,
        name=_text(obj.find("NAME")) if obj is not None else None,
        address=_text(obj.find("ADDRESS")) if obj is not None else None,
        public_key=read_public_key(element.find("PUBLICKEY"), f"{where}: DISTRIBUTIONPOINT"),
    )


def _right(element: etree._Element, where: str,
           license_refresh: etree._Element | None = None) -> Right:
    name = element.get("name") if element.tag == "RIGHT" else element.tag
    conditions = element.find("CONDITIONLIST")
    principals: list[str] = []
    validity = None
    refresh = None
    revocation = None
    for access in element.iter("PRINCIPAL"):
        internal = access.get("internal-id")
        if internal is not None:
            principals.append(internal)
        else:
            obj_name = access.find("OBJECT/NAME")
            obj_id = access.find("OBJECT/ID")
            if obj_name is not None and obj_name.text:
                principals.append(obj_name.text.strip())
            elif obj_id is not None and obj_id.get("type") == "Internal" and obj_id.text:
                principals.append(obj_id.text.strip())
    refresh_el = conditions.find("REFRESH") if conditions is not None else None
    if refresh_el is None:
        refresh_el = license_refresh
    if conditions is not None:
        rangetime = conditions.find("TIME/RANGETIME")
        if rangetime is not None:
            validity = Validity(parse_time(_text(rangetime.find("FROM")), where),
                                parse_time(_text(rangetime.find("UNTIL")), where))
    if refresh_el is not None:
        point = refresh_el.find("DISTRIBUTIONPOINT")
        if point is not None:
            revocation = _distribution_point(point, where)
        interval = refresh_el.find("INTERVALTIME")
        if interval is not None:
            try:
                refresh = describe_interval(parse_interval(interval, where))
            except StructureError:  # shown as written; licensing refuses it
                refresh = " ".join(f'{k!s}="{v!s}"' for k, v in interval.attrib.items())
    return Right(name=(name or "").strip(), principals=tuple(principals), validity=validity,
                 refresh_interval=refresh, revocation_list=revocation)


# --- kinds ------------------------------------------------------------------------------


class _Certificate(XrmlDocument):
    """A document that certifies the keys of its issued principals."""

    @property
    def subject(self) -> Principal | None:
        return self.principals[0] if self.principals else None


class CACertificate(_Certificate):
    """``DRM-CA-Certificate``: a certification authority in the vendor's hierarchy."""
    kinds = ("DRM-CA-Certificate",)


class ServerLicensorCertificate(_Certificate):
    """``Server-Licensor-Certificate`` (SLC): a cluster's identity and key (E-1)."""
    kinds = ("Server-Licensor-Certificate",)


class MachineCertificate(_Certificate):
    """``Machine-Certificate``: a client's security processor (machine activation)."""
    kinds = ("Machine-Certificate",)


class RightsAccountCertificate(_Certificate):
    """``Group-Identity-Credential`` (RAC): a user's account key, sealed to the machine."""
    kinds = ("Group-Identity-Credential",)


class ClientLicensorCertificate(_Certificate):
    """``Client-Licensor-Certificate`` (CLC): lets a user publish offline (E-7, P-1)."""
    kinds = ("Client-Licensor-Certificate",)


class UseLicense(XrmlDocument):
    """``Content-License``: a use license or an owner license (L-1, P-5)."""
    kinds = ("Content-License",)


class PublishingLicense(XrmlDocument):
    """``Microsoft Rights Label``: the publishing license attached to protected content
    (P-3, P-4)."""
    kinds = ("Microsoft Rights Label",)

    @property
    def has_encrypted_rights(self) -> bool:
        return self._body.find("AUTHENTICATEDDATA[@id='Encrypted-Rights-Data']") is not None


class RightsTemplate(XrmlDocument):
    """``Microsoft Official Rights Template``: a rights policy template (R-6, D-5)."""
    kinds = ("Microsoft Official Rights Template",)


class RightsData(XrmlDocument):
    """``Microsoft Rights Template``: the decrypted rights data of a publishing license."""
    kinds = ("Microsoft Rights Template",)


class RevocationList(XrmlDocument):
    """``Revocation-List``: revoked entities, signed by a revocation authority (R-2). Its
    entries are read by :class:`rmslab.revocation.RevocationIndex`."""
    kinds = ("Revocation-List",)



_BY_KIND: dict[str, type[XrmlDocument]] = {
    kind: cls for cls in (CACertificate, ServerLicensorCertificate, MachineCertificate,
                          RightsAccountCertificate, ClientLicensorCertificate, UseLicense,
                          PublishingLicense, RightsTemplate, RightsData, RevocationList)
    for kind in cls.kinds
}


class DocumentParts:
    """The elements of one document that its views read first, located for a whole
    chain at once: the BODY, its ``DESCRIPTOR/OBJECT``, the ISSUER and its PUBLICKEY,
    the PUBLICKEY of each PRINCIPAL in ISSUEDPRINCIPALS, and the SIGNATURE. Each is the
    first of its kind in document order (the first ISSUEDPRINCIPALS; the first PUBLICKEY
    of each of its principals)."""

    __slots__ = ("body", "descriptor", "issuer", "issuer_key", "principal_keys", "signature")

    def __init__(self) -> None:
        self.body: etree._Element | None = None
        self.descriptor: etree._Element | None = None
        self.issuer: etree._Element | None = None
        self.issuer_key: etree._Element | None = None
        self.principal_keys: list[etree._Element] = []
        self.signature: etree._Element | None = None

    @property
    def descriptor_type(self) -> str | None:
        return (self.descriptor.get("type") or None) if self.descriptor is not None else None

    @property
    def kind(self) -> str:
        """The document's kind: the DESCRIPTOR's type, else the BODY's."""
        body_type = self.body.get("type") if self.body is not None else None
        return self.descriptor_type or body_type or ""


# The parts as one XPath union. libxml2 merges the operands of "|" left to right, checking
# each node of the right operand against every node gathered so far, so a union costs the
# product of its operands' sizes: with one operand per part over a whole chain, 100,000
# tiny documents took 72 s. Here every operand but the first selects at most one element
# per document ("[1]"), and the first — the principals' keys, the only part that may be
# many — stands leftmost, where it is gathered once and never checked again. Per document
# the union is then linear in its size; over a chain, linear in its size times the number
# of documents, which is why chains of more than _CHAIN_XPATH_MAX documents are located
# one document at a time (one evaluation each, about 3 µs).
_PARTS = ("BODY/ISSUEDPRINCIPALS[1]/PRINCIPAL/PUBLICKEY[1] | BODY"
          " | BODY/DESCRIPTOR[OBJECT][1]/OBJECT[1] | BODY/ISSUER[1] | BODY/ISSUER[1]/PUBLICKEY[1]"
          " | BODY/ISSUEDPRINCIPALS[1] | SIGNATURE[1]")
# For a whole chain the XrML elements are in the result too (last operand: at most one per
# document as well), in document order, and mark where each document's parts begin.
_PARTS_OF_CHAIN = etree.XPath(" | ".join(f"XrML/{p.strip()}" for p in _PARTS.split("|"))
                              + " | XrML")
_PARTS_OF_DOCUMENT = etree.XPath(_PARTS)
_CHAIN_XPATH_MAX = 16

# What a PUBLICKEY in the result belongs to: the last ISSUER or ISSUEDPRINCIPALS before it.
_ISSUER, _PRINCIPALS, _OTHER = 1, 2, 0


def locate_parts(elements: Sequence[etree._Element]) -> list[DocumentParts]:
    """The :class:`DocumentParts` of each ``XrML`` element, in order. The elements are
    all the documents of one parsed text (children of one wrapper), or a single one.
    Linear in the size of the text, however many documents or principals it holds."""
    parent = elements[0].getparent() if 1 < len(elements) <= _CHAIN_XPATH_MAX else None
    if parent is not None:
        located = _assign_parts(cast("list[etree._Element]", _PARTS_OF_CHAIN(parent)), None)
    else:
        located = [_assign_parts(cast("list[etree._Element]", _PARTS_OF_DOCUMENT(element)),
                                 DocumentParts())[0] for element in elements]
    if len(located) != len(elements) or any(p.body is None for p in located):
        raise StructureError("the documents' parts could not be located")  # pragma: no cover
    return located


def _assign_parts(found: list[etree._Element],
                  parts: DocumentParts | None) -> list[DocumentParts]:
    """Sort the elements an XPath of parts found (in document order) into the parts of
    their documents: a new document at each ``XrML`` (or ``parts``, for one document)."""
    located: list[DocumentParts] = [] if parts is None else [parts]
    current = parts if parts is not None else DocumentParts()
    owner = _OTHER
    for element in found:
        tag = element.tag
        if tag == "PUBLICKEY":
            if owner == _PRINCIPALS:
                current.principal_keys.append(element)
            elif owner == _ISSUER:
                current.issuer_key = element
        elif tag == "XrML":
            current = DocumentParts()
            located.append(current)
            owner = _OTHER
        elif tag == "BODY":
            current.body = element
        elif tag == "ISSUER":
            current.issuer, owner = element, _ISSUER
        elif tag == "ISSUEDPRINCIPALS":
            owner = _PRINCIPALS
        elif tag == "OBJECT":
            current.descriptor = element
        elif tag == "SIGNATURE":
            current.signature = element
    return located


def view_for(source_text: str, span: DocumentSpan, element: etree._Element,
             index: int, parts: DocumentParts | None = None) -> XrmlDocument:
    """The typed view for a parsed document."""
    if parts is None:
        parts = locate_parts([element])[0]
    cls = _BY_KIND.get(parts.kind, XrmlDocument)
    return cls(source_text, span, element, index, parts=parts)


def documents_from_text(text: str, spans: Sequence[DocumentSpan],
                        elements: Sequence[etree._Element]) -> tuple[XrmlDocument, ...]:
    return tuple(view_for(text, span, element, i, parts)
                 for i, (span, element, parts) in enumerate(
                     zip(spans, elements, locate_parts(elements))))
