"""PDF protected with Microsoft IRM ("Microsoft IRM protection for PDF", a supplement
to ISO 32000), read with pypdf.

* **Version 1**: an encrypted PDF whose trailer's ``/Encrypt`` dictionary names the
  security handler ``/Filter /MicrosoftIRMServices`` (``/MicrosoftIRMVersion`` absent or
  1); its ``/PublishingLicense`` string is the publishing license compressed with
  Flate and then base64-encoded (the license text is UTF-8 with a BOM, or UTF-16LE).
  The public RMS SDK also knows a version-1 *wrapper*: a PDF appended after the
  encrypted one whose trailer holds ``/Wrapper`` and ``/WrapperOffset`` (the encrypted
  PDF's length).
* **Version 2**: ``/MicrosoftIRMVersion 2``, ``/V 4`` and a crypt filter
  ``/MicrosoftIRMServices`` (``/CFM /None``) named by ``/StmF``, ``/StrF`` and ``/EFF``;
  ``/PublishingLicense`` holds the license bytes as they are. Such a PDF normally
  travels inside an *unencrypted wrapper* (ISO 32000-2 7.6.7): an ordinary PDF whose
  page tells people the document is protected, and whose embedded file
  ``MicrosoftIRMServices Protected PDF.pdf`` — an associated file with
  ``/AFRelationship /EncryptedPayload`` and an ``/EP`` dictionary ``/Type
  /EncryptedPayload /Subtype /MicrosoftIRMServices /Version 2`` — is the encrypted PDF.

Reading is bounded: the license string is at most the XrML limit, Flate data inflates
at most to it, and an embedded payload larger than the payload limit is refused before
it is read. pypdf only implements the standard password handler, so the encrypted PDF
is opened without decrypting anything: only the encryption dictionary, which is never
encrypted, is read. Writing is rmslab's own small serializer (objects, a classic xref
table, a trailer); pypdf reads what it writes in the tests.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import zlib
from typing import Any, BinaryIO

from rmslab.containers.model import Artefact, Payload
from rmslab.errors import CompressionBombError, ContainerError, InputError, NotProtectedError
from rmslab.xrml.source import MAX_INPUT_BYTES, decode_text

__all__ = ["FILTER", "PAYLOAD_NAME", "is_pdf", "read_pdf", "write_pdf_irm",
           "wrap_pdf_irm_v2", "MAX_PAYLOAD_BYTES"]

FILTER = "MicrosoftIRMServices"
PAYLOAD_NAME = "MicrosoftIRMServices Protected PDF.pdf"
#: The largest encrypted payload rmslab takes out of a wrapper.
MAX_PAYLOAD_BYTES = 256 * 1024 * 1024

logging.getLogger("pypdf").setLevel(logging.ERROR)


def is_pdf(head: bytes) -> bool:
    return b"%PDF-" in head[:1024]


# --- writing ------------------------------------------------------------------------


def _literal(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1", errors="replace") + b")"


def _bytes_literal(data: bytes) -> bytes:
    """A literal string holding ``data`` exactly: backslash, parentheses and line ends
    escaped (readers turn a raw end of line into LF, ISO 32000-1 7.3.4.2)."""
    return b"(" + (data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
                   .replace(b"\r", b"\\r").replace(b"\n", b"\\n")) + b")"


def _hex(data: bytes) -> bytes:
    return b"<" + data.hex().upper().encode("ascii") + b">"


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return (b"<< " + dictionary + b" /Length " + str(len(data)).encode() + b" >>\nstream\n"
            + data + b"\nendstream")


def _serialize(objects: list[bytes], *, root: int, trailer: bytes = b"",
               file_id: bytes = b"\0" * 16) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    identity = _hex(file_id)
    out.write(b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root "
              + f"{root} 0 R".encode() + b" /ID [" + identity + b" " + identity + b"] "
              + trailer + b" >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n")
    return out.getvalue()


def _page_objects(content: bytes, first: int) -> list[bytes]:
    """Catalog, pages, page, content stream — numbered from ``first``."""
    return [
        f"<< /Type /Catalog /Pages {first + 1} 0 R >>".encode(),
        f"<< /Type /Pages /Kids [{first + 2} 0 R] /Count 1 >>".encode(),
        f"<< /Type /Page /Parent {first + 1} 0 R /MediaBox [0 0 612 792] "
        f"/Contents {first + 3} 0 R >>".encode(),
        _stream(b"", content),
    ]


def write_pdf_irm(license_text: str, sealed: bytes, *, version: int = 2,
                  file_id: bytes = b"\0" * 16) -> bytes:
    """An encrypted PDF of one page whose content stream is ``sealed``, with the
    MicrosoftIRMServices encryption dictionary of ``version`` 1 or 2."""
    if version not in (1, 2):
        raise ValueError("PDF IRM versions are 1 and 2")
    objects = _page_objects(sealed, 1)
    license_bytes = b"\xef\xbb\xbf" + license_text.encode("utf-8")
    if version == 1:
        packed = base64.b64encode(zlib.compress(license_bytes, 9))
        encrypt = (b"<< /Filter /" + FILTER.encode() + b" /MicrosoftIRMVersion 1 /V 1 "
                   b"/PublishingLicense " + _bytes_literal(packed) + b" >>")
    else:
        encrypt = (b"<< /Filter /" + FILTER.encode() + b" /CF << /" + FILTER.encode()
                   + b" << /Type /CryptFilter /CFM /None >> >> /StmF /" + FILTER.encode()
                   + b" /StrF /" + FILTER.encode() + b" /EFF /" + FILTER.encode()
                   + b" /MicrosoftIRMVersion 2 /V 4 /EncryptMetadata true "
                   b"/PublishingLicense " + _bytes_literal(license_bytes) + b" >>")
    objects.append(encrypt)
    return _serialize(objects, root=1, trailer=f"/Encrypt {len(objects)} 0 R".encode(),
                      file_id=file_id)


_NOTICE = ("BT /F1 14 Tf 72 720 Td (This document is protected with Microsoft IRM.) Tj "
           "0 -20 Td (Open it with an application that supports protected PDF.) Tj ET")


def wrap_pdf_irm_v2(payload: bytes, *, file_id: bytes = b"\0" * 16) -> bytes:
    """The unencrypted wrapper of ISO 32000-2 7.6.7 around an encrypted version-2 PDF."""
    name = _literal(PAYLOAD_NAME)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [" + name
        + b" 6 0 R] >> >> /AF [6 0 R] /Collection << /View /H /D " + name + b" >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(b"", _NOTICE.encode("ascii")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Filespec /F " + name + b" /UF " + name + b" /EF << /F 7 0 R >> "
        b"/AFRelationship /EncryptedPayload /Desc (Protected content) /EP << /Type "
        b"/EncryptedPayload /Subtype /" + FILTER.encode() + b" /Version 2 >> >>",
        _stream(b"/Type /EmbeddedFile /Subtype /application#2Fpdf /Params << /Size "
                + str(len(payload)).encode() + b" >>", payload),
    ]
    return _serialize(objects, root=1, file_id=file_id)


# --- reading ------------------------------------------------------------------------


def _reader(data: BinaryIO, source: str) -> Any:
    """A pypdf reader that reads objects as stored (no decryption): pypdf implements
    only the standard password handler, and rmslab needs only the encryption
    dictionary, which is never encrypted (ISO 32000-1 7.6.1)."""
    from pypdf import PdfReader

    class _AsStored(PdfReader):  # type: ignore[misc]
        def _handle_encryption(self, password: str | bytes | None) -> None:
            self._override_encryption = True

    try:
        return _AsStored(data, strict=False)
    except Exception as exc:  # noqa: BLE001 — pypdf raises many kinds on damaged files
        raise ContainerError(f"{source}: not a readable PDF ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None


def _get(dictionary: Any, key: str, source: str) -> Any:
    try:
        value = dictionary.get(key)
        return value.get_object() if value is not None else None
    except Exception as exc:  # noqa: BLE001
        raise ContainerError(f"{source}: the PDF's {key} cannot be read ({exc})") from None


def _inflate(data: bytes, limit: int, source: str) -> bytes:
    engine = zlib.decompressobj()
    try:
        out = engine.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ContainerError(f"{source}: the publishing license is not Flate data ({exc})") \
            from None
    if len(out) > limit or engine.unconsumed_tail:
        raise CompressionBombError(f"{source}: the publishing license inflates past "
                                   f"{limit} bytes")
    return out


def _license(value: Any, version: int, source: str, limit: int) -> str:
    if value is None:
        raise ContainerError(f"{source}: the MicrosoftIRMServices encryption dictionary "
                             "has no /PublishingLicense")
    raw = value if isinstance(value, bytes) else (
        bytes(value.original_bytes) if hasattr(value, "original_bytes")
        else str(value).encode("latin-1"))
    if len(raw) > 2 * limit:
        raise ContainerError(f"{source}: the /PublishingLicense string is {len(raw)} "
                             f"bytes, more than rmslab reads")
    if version <= 1:
        try:
            packed = base64.b64decode(b"".join(raw.split()), validate=True)
        except ValueError:
            raise ContainerError(f"{source}: the version-1 /PublishingLicense is not "
                                 "base64") from None
        raw = _inflate(packed, limit, source)
    try:
        return decode_text(raw, limit=limit)
    except InputError as exc:
        raise type(exc)(f"{source}: the /PublishingLicense: {exc}") from None


_KEYS = re.compile(rb"/(Filter|MicrosoftIRMVersion|PublishingLicense)\s*")
_SPECIAL = re.compile(rb"[\\()]")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
            ord("f"): b"\f", ord("("): b"(", ord(")"): b")", ord("\\"): b"\\"}


def _literal_at(raw: bytes, start: int, source: str) -> bytes:
    """The bytes of the literal string opening at ``raw[start]`` (ISO 32000-1 7.3.4.2):
    balanced parentheses kept, escapes resolved; scanned special by special."""
    out = bytearray()
    depth, at = 1, start + 1
    for match in _SPECIAL.finditer(raw, at):
        where = match.start()
        out += raw[at:where]
        char = raw[where]
        if char == 0x5C:                                   # backslash
            code = raw[where + 1] if where + 1 < len(raw) else None
            if code is None:
                break
            if 0x30 <= code <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", raw[where + 1:where + 4])
                assert digits is not None
                out.append(int(digits.group(), 8) & 0xFF)
                at = where + 1 + len(digits.group())
                continue
            if code in (0x0A, 0x0D):                       # a continued line
                at = where + 2 + (code == 0x0D and raw[where + 2:where + 3] == b"\n")
                continue
            out += _ESCAPES.get(code, bytes([code]))
            at = where + 2
            continue
        depth += 1 if char == 0x28 else -1
        if depth == 0:
            return bytes(out)
        out.append(char)
        at = where + 1
    raise ContainerError(f"{source}: the /PublishingLicense string is not closed")


def _fast_encrypt_entries(reader: Any, source: str, limit: int) -> dict[str, Any] | None:
    """The encryption dictionary read straight from its object's bytes: pypdf reads
    strings a character at a time, which for a 20 KB license costs more than verifying
    it. None when the dictionary is not a plain object of the xref table."""
    reference = dict.get(reader.trailer, "/Encrypt")
    number = getattr(reference, "idnum", None)
    offset = reader.xref.get(getattr(reference, "generation", 0), {}).get(number) \
        if number is not None else None
    if not isinstance(offset, int):
        return None
    stream = reader.stream
    stream.seek(offset)
    raw = stream.read(2 * limit + 65536)
    end = raw.find(b"endobj")
    raw = raw[:end] if end >= 0 else raw
    found: dict[str, Any] = {}
    for match in _KEYS.finditer(raw):
        key, at = match.group(1).decode(), match.end()
        if key in found:
            continue
        if key == "PublishingLicense":
            if raw[at:at + 1] == b"(":
                found[key] = _literal_at(raw, at, source)
            elif raw[at:at + 1] == b"<":
                close = raw.find(b">", at)
                try:
                    found[key] = bytes.fromhex(raw[at + 1:close].decode("ascii"))
                except ValueError:
                    raise ContainerError(f"{source}: the /PublishingLicense hex string is "
                                         "damaged") from None
            else:
                return None
        else:
            token = re.match(rb"/?[^\s/<>\[\]()]+", raw[at:])
            found[key] = token.group().decode("latin-1") if token else None
    return found


def _encrypted(reader: Any, encrypt: Any, source: str, size: int, limit: int,
               kind_hint: str | None = None) -> Artefact:
    fast = _fast_encrypt_entries(reader, source, limit) if encrypt is None else None
    if encrypt is None and fast is None:
        encrypt = _get(reader.trailer, "/Encrypt", source)

    def entry(key: str) -> Any:
        return fast.get(key) if fast is not None else _get(encrypt, f"/{key}", source)

    handler = entry("Filter")
    if str(handler) != f"/{FILTER}":
        raise NotProtectedError(f"{source}: an encrypted PDF with the {handler} security "
                                "handler (a password or certificates), not Microsoft IRM")
    version_value = entry("MicrosoftIRMVersion")
    try:
        version = int(version_value) if version_value is not None else 1
    except (TypeError, ValueError):
        raise ContainerError(f"{source}: /MicrosoftIRMVersion is not a number") from None
    text = _license(entry("PublishingLicense"), version, source, limit)
    kind = kind_hint or ("pdf-irm-v1" if version <= 1 else "pdf-irm-v2")
    payload = Payload("PDF objects under the MicrosoftIRMServices crypt filter", None, size,
                      f"{FILTER} v{max(version, 1)}")
    return Artefact(kind, source, text, payload,
                    details=(("PDF IRM version", str(max(version, 1))),))


def _embedded_payload(reader: Any, source: str, limit: int) -> bytes | None:
    """The encrypted payload of an unencrypted wrapper (ISO 32000-2 7.6.7), or None."""
    root = _get(reader.trailer, "/Root", source)
    if root is None:
        raise ContainerError(f"{source}: the PDF has no document catalog")
    candidates = list(_get(root, "/AF", source) or [])
    names = _get(root, "/Names", source)
    embedded = _get(names, "/EmbeddedFiles", source) if names is not None else None
    listed = _get(embedded, "/Names", source) if embedded is not None else None
    candidates += list(listed or [])[1::2]
    for entry in candidates[:64]:
        spec = entry.get_object() if hasattr(entry, "get_object") else entry
        if not hasattr(spec, "get"):
            continue
        relationship = _get(spec, "/AFRelationship", source)
        ep = _get(spec, "/EP", source)
        subtype = _get(ep, "/Subtype", source) if ep is not None else None
        if str(relationship) != "/EncryptedPayload" and str(subtype) != f"/{FILTER}":
            continue
        files = _get(spec, "/EF", source)
        stream_ref = files.get("/F") if files is not None else None
        if stream_ref is None:
            raise ContainerError(f"{source}: the encrypted payload has no embedded file")
        declared = _declared_length(reader, stream_ref, source)
        if declared > limit:
            raise ContainerError(f"{source}: the embedded payload stream is {declared} "
                                 f"bytes, more than the {limit} rmslab reads")
        try:
            stream = stream_ref.get_object()
            data = stream.get_data()
        except CompressionBombError:
            raise
        except Exception as exc:  # noqa: BLE001 — includes pypdf's LimitReachedError
            raise ContainerError(f"{source}: the embedded payload cannot be read "
                                 f"({type(exc).__name__}: {str(exc)[:200]})") from None
        if len(data) > limit:
            raise CompressionBombError(f"{source}: the embedded payload decodes past "
                                       f"{limit} bytes")
        return bytes(data)
    return None


def _declared_length(reader: Any, reference: Any, source: str) -> int:
    """The ``/Length`` a stream object declares, read from its dictionary before its
    data (so a huge stream is refused without being read)."""
    number = getattr(reference, "idnum", None)
    if number is None:
        return 0
    try:
        start = reader.xref[0][number] if 0 in reader.xref and number in reader.xref[0] \
            else None
    except Exception:  # noqa: BLE001
        start = None
    if start is None:
        return 0
    stream = reader.stream
    stream.seek(start)
    head = stream.read(4096)
    marker = head.find(b"/Length")
    if marker < 0:
        return 0
    digits = head[marker + 7:marker + 40].split()
    try:
        value = int(digits[0])
    except (IndexError, ValueError):
        return 0
    if len(digits) > 2 and digits[2].startswith(b"R"):
        length_object = reader.get_object(value)
        try:
            return int(length_object)
        except (TypeError, ValueError):
            return 0
    return value


def read_pdf(handle: BinaryIO, source: str, *, limit: int = MAX_INPUT_BYTES,
             payload_limit: int = MAX_PAYLOAD_BYTES) -> Artefact:
    """The publishing license of an IRM-protected PDF, of either version, in or out of
    its wrapper. Raises :class:`NotProtectedError` for an ordinary PDF."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    reader = _reader(handle, source)
    if dict.get(reader.trailer, "/Encrypt") is not None:
        return _encrypted(reader, None, source, size, limit)
    wrapper = _get(reader.trailer, "/Wrapper", source)
    if wrapper is not None:  # a version-1 wrapper: the encrypted PDF comes first
        offset = _get(reader.trailer, "/WrapperOffset", source)
        try:
            length = int(offset)
        except (TypeError, ValueError):
            raise ContainerError(f"{source}: the IRM wrapper's /WrapperOffset is not a "
                                 "number") from None
        if not 0 < length <= min(size, payload_limit):
            raise ContainerError(f"{source}: the IRM wrapper's /WrapperOffset {length} "
                                 f"lies outside the file ({size} bytes)")
        handle.seek(0)
        inner_bytes = handle.read(length)
        inner = read_pdf(io.BytesIO(inner_bytes), f"{source} (wrapped payload)",
                         limit=limit, payload_limit=payload_limit)
        return Artefact("pdf-irm-v1", source, inner.license_text, inner.payload,
                        details=inner.details + (("wrapper", "version 1"),), inner=inner)
    payload = _embedded_payload(reader, source, payload_limit)
    if payload is None:
        raise NotProtectedError(f"{source}: a PDF without Microsoft IRM protection")
    inner_reader = _reader(io.BytesIO(payload), f"{source} (payload)")
    if dict.get(inner_reader.trailer, "/Encrypt") is None:
        raise ContainerError(f"{source}: the wrapper's encrypted payload is not encrypted")
    inner = _encrypted(inner_reader, None, f"{source} (payload)", len(payload), limit)
    return Artefact("pdf-irm-v2-wrapper", source, inner.license_text, inner.payload,
                    details=inner.details + (("wrapper", PAYLOAD_NAME),), inner=inner)
