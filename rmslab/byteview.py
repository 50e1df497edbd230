"""Bytes explained: binary artefacts annotated byte by byte — offset, bytes, what they
mean and where the specification says so — as notebook 01 does for XML (issue 15; rules
A-1, P-4, P-6).

* :func:`container_view` — the protected-file container, field by field, from the values
  :func:`rmslab.xrml.pfile.read_protected_file` reads (docs/wire-format.md, "Protected files").
* :func:`enabling_bits_view` — an ``ENABLINGBITS`` value. Laid out as MS-RMPR 2.2.9.1.13,
  it is annotated through :mod:`rmslab.crypto.enabling_bits` itself: what anyone reads
  (:func:`~rmslab.crypto.enabling_bits.read_public_parts`) and, given the recipient's
  private key, every field inside (:func:`~rmslab.crypto.enabling_bits.open_enabling_bits`)
  — so the view follows that module. Every key rmslab seals (content keys in licenses,
  private keys in RACs and CLCs) is in that layout.
* :func:`content_view` — the encrypted content: CBC4K (mode 2) in 4096-byte blocks, each
  with an IV of its own, or ECB (mode 1); with the content key, each IV and the
  plaintext of each AES block, and the PKCS#7 padding at the end
  (:mod:`rmslab.crypto.content`).
* :func:`protected_file_views` puts them together for ``rmslab inspect --bytes FILE``.

Every function reads; none decides anything the readers it calls do not decide.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rmslab.crypto import enabling_bits as eb
from rmslab.crypto.content import CBC4K_BLOCK
from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import InputError
from rmslab.xrml.model import Principal
from rmslab.xrml.pfile import MAGIC, read_protected_file

__all__ = ["ByteField", "ByteView", "container_view", "enabling_bits_view", "content_view",
           "protected_file_views", "CONTAINER_SPEC", "ENABLING_BITS_SPEC"]

CONTAINER_SPEC = "docs/wire-format.md#protected-files"
ENABLING_BITS_SPEC = "MS-RMPR 2.2.9.1.13"
KEY_HEADER_SPEC = "MS-RMPR 2.2.9.1.13.1"
CONTENT_SPEC = "docs/wire-format.md#protected-files (CBC4K)"
_SHOWN = 16  # bytes of a field shown in hex; longer fields are shortened


@dataclass(frozen=True)
class ByteField:
    """One field: where it starts, its bytes, its name, what it means, and the section
    that defines it. ``decrypted`` fields show bytes that only a key reveals."""

    offset: int
    data: bytes
    name: str
    meaning: str
    spec: str = ""
    decrypted: bool = False
    #: where ``offset`` counts from, when not from the start of the artefact (e.g. the
    #: RSA block's plaintext, which is not where its bytes lie)
    within: str = ""

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    def hex(self) -> str:
        shown = self.data[:_SHOWN].hex(" ")
        return shown + (f" … ({len(self.data)} bytes)" if len(self.data) > _SHOWN else "")


@dataclass(frozen=True)
class ByteView:
    """A binary artefact, field by field."""

    title: str
    size: int
    fields: list[ByteField]
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        """A table: offset (and end), bytes in hex, field, meaning [section]; a ``*``
        marks bytes shown decrypted."""
        lines = [f"{self.title} — {self.size} bytes"]
        for f in self.fields:
            spec = f" [{f.spec}]" if f.spec else ""
            mark = "*" if f.decrypted else " "
            where = (f"{f.within}+{f.offset}–{f.end}" if f.within
                     else f"{f.offset:>7}–{f.end:<7}")
            lines.append(f"{where:>18}{mark} {f.name}: {f.meaning}{spec}")
            if f.data:
                lines.append(f"{'':>20}{f.hex()}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


# --- the container ---------------------------------------------------------------------


def container_view(data: bytes) -> ByteView:
    """The protected-file container of ``data``, field by field. The values come from
    :func:`~rmslab.xrml.pfile.read_protected_file` (which refuses a damaged container with
    :class:`~rmslab.errors.ContainerError`); each field's bytes are the file's own."""
    parsed = read_protected_file(data)
    fields: list[ByteField] = []

    def add(offset: int, length: int, name: str, meaning: str) -> None:
        fields.append(ByteField(offset, data[offset:offset + length], name, meaning,
                                CONTAINER_SPEC))

    add(0, len(MAGIC), "magic", "'.pfile': this is a protected file")
    add(6, 4, "major version", f"{parsed.major_version} (32-bit little-endian)")
    add(10, 4, "minor version", f"{parsed.minor_version}")
    notice_length = len(data[18:18 + struct.unpack_from('<I', data, 14)[0]])
    add(14, 4, "notice length", f"{notice_length} bytes of notice follow")
    add(18, notice_length, "notice", "plain text for whoever opens the file by hand")
    header = 18 + notice_length
    (header_length,) = struct.unpack_from("<I", data, header)
    add(header, 4, "header length", f"{header_length} bytes of offsets, this field included")
    values = struct.unpack_from(f"<{header_length // 4}I", data, header)
    names = [("extension offset", "where the original file extension starts"),
             ("extension length", "its length in bytes"),
             ("license offset", "where the publishing license chain starts"),
             ("license length", "its length in bytes"),
             ("content offset", "where the encrypted content starts")]
    for number, (name, meaning) in enumerate(names, 1):
        add(header + 4 * number, 4, name, f"{values[number]}: {meaning}")
    extension_offset, extension_length, license_offset, license_length = values[1:5]
    if len(values) >= 10:
        size = "unknown" if parsed.original_size is None else f"{parsed.original_size} bytes"
        add(header + 24, 8, "original size", f"{size} (64-bit; all ones: unknown)")
        add(header + 32, 4, "metadata offset", f"{values[8]}")
        add(header + 36, 4, "metadata length", f"{values[9]}")
    add(extension_offset, extension_length, "extension",
        f"{parsed.extension!r}, the original file's extension (UTF-8)")
    license_bytes = parsed.license_bytes
    bom = 3 if license_bytes.startswith(b"\xef\xbb\xbf") else 0
    if bom:
        add(license_offset, 3, "byte order mark", "UTF-8 BOM in front of the license text")
    add(license_offset + bom, license_length - bom, "license chain",
        "the publishing license and the certificates above it, XrML text (rmslab inspect "
        "reads them)")
    if len(values) >= 10 and values[9]:
        add(values[8], values[9], "metadata", "metadata the application keeps with the file")
    add(parsed.content_offset, len(parsed.content), "encrypted content",
        "the content under the content key (content_view annotates it)")
    fields.sort(key=lambda f: (f.offset, -len(f.data)))
    return ByteView(f"protected file v{parsed.version}", len(data), fields)


# --- enabling bits ---------------------------------------------------------------------


def enabling_bits_view(bits: bytes, bits_type: eb.EnablingBitsType | str = "sealed-key-v2", *,
                       recipient: PublicKey | None = None,
                       key: PrivateKey | None = None) -> ByteView:
    """An ENABLINGBITS value, field by field: its public layout, and with the recipient's
    private ``key`` the fields inside (shown decrypted, marked ``*``). ``bits_type`` is
    the element's ``type`` attribute."""
    kind = (bits_type if isinstance(bits_type, eb.EnablingBitsType)
            else eb.EnablingBitsType.from_attribute(bits_type))
    recipient = recipient or (key.public if key else None)
    parts = eb.read_public_parts(bits, kind, recipient)
    size = parts.rsa_block_bytes
    padding = "PKCS#1 v1.5" if kind is eb.EnablingBitsType.SEALED_KEY else "OAEP (SHA-256)"
    fields = [
        ByteField(0, bits[:size], "KPublic(KeyHeader ‖ KSession)",
                  f"one {size * 8}-bit RSA block, {padding}, big-endian: the session key "
                  "behind its own KeyHeader, readable only with the recipient's private key",
                  ENABLING_BITS_SPEC),
        ByteField(size, bits[size:], "KSession(UDEBHeader ‖ KeyHeader ‖ K ‖ Hash)",
                  f"{parts.session_part_bytes} bytes under the session key (AES-ECB); "
                  f"fits {'; '.join(parts.fits) or 'nothing known'}", ENABLING_BITS_SPEC)]
    notes = [f"type {kind.value}: UDEBHeader version {kind.version}, {kind.hash_name} hash"]
    if key is not None:
        inside_rsa, inside_session = _opened_fields(bits, key, kind)
        fields = [fields[0], *inside_rsa, fields[1], *inside_session]
    else:
        notes.append("without the recipient's private key: the content KeyHeader's Reserved "
                     "and Flags (the cipher), the key and the hash stay hidden")
    return ByteView(f"ENABLINGBITS ({ENABLING_BITS_SPEC})", len(bits), fields, notes)


def _key_header_fields(offset: int, header: eb.KeyHeader, which: str,
                       within: str = "") -> list[ByteField]:
    raw = header.to_bytes()
    rows = [(0, 2, "BlobSize", f"{header.blob_size}: 12 + the key's {header.key_bytes} bytes"),
            (2, 2, "Reserved", f"0x{header.reserved:04X}: {header.cipher.label}"),
            (4, 2, "keySize", f"{header.key_bits} (bits)"),
            (6, 2, "blockSize", f"{header.block_size} (bytes)"),
            (8, 4, "Flags", f"0x{header.flags:08X}: {header.algorithm.value}, "
                            f"{'ECB' if header.cipher is eb.CipherMode.ECB else 'CBC'}")]
    return [ByteField(offset + at, raw[at:at + length], f"{which} KeyHeader.{name}", meaning,
                      KEY_HEADER_SPEC, decrypted=True, within=within)
            for at, length, name, meaning in rows]


def _opened_fields(bits: bytes, key: PrivateKey, kind: eb.EnablingBitsType
                   ) -> tuple[list[ByteField], list[ByteField]]:
    """The fields inside the RSA block (offsets in its plaintext) and inside the session
    part (ECB keeps each byte where it lies)."""
    opened = eb.open_enabling_bits(bits, key, kind)
    size = key.public.size // 8
    plaintext = "RSA plaintext"
    inside_rsa = _key_header_fields(0, opened.session_header, "session", plaintext)
    inside_rsa.append(ByteField(eb.KEY_HEADER_SIZE, opened.session_key, "KSession",
                                f"the AES-{len(opened.session_key) * 8} session key",
                                ENABLING_BITS_SPEC, decrypted=True, within=plaintext))
    fields: list[ByteField] = []
    udeb = size
    payload_size = len(opened.payload) + len(opened.hash)
    header = (_u32(kind.version) + _u32(payload_size) + bytes(8))
    for at, name, meaning in ((0, "UDEBHeader.dwVersion", f"{kind.version} ({kind.value})"),
                              (4, "UDEBHeader.dwcbSize",
                               f"{payload_size}: the bytes of KeyHeader ‖ K ‖ Hash"),
                              (8, "UDEBHeader.dwReserved1", "0"),
                              (12, "UDEBHeader.dwReserved2", "0")):
        fields.append(ByteField(udeb + at, header[at:at + 4], name, meaning, ENABLING_BITS_SPEC,
                                decrypted=True))
    at = udeb + eb.UDEB_HEADER_SIZE
    content = opened.content_key
    if content is not None:
        fields.extend(_key_header_fields(at, content.header, "content"))
        fields.append(ByteField(at + eb.KEY_HEADER_SIZE, content.key, "K",
                                f"the AES-{len(content.key) * 8} content key, for "
                                f"{content.cipher.label}", ENABLING_BITS_SPEC, decrypted=True))
    else:
        fields.append(ByteField(at, opened.payload, "K (PRIVATEKEYBLOB)",
                                "an RSA private key as CryptoAPI writes it", ENABLING_BITS_SPEC,
                                decrypted=True))
    at += len(opened.payload)
    fields.append(ByteField(at, opened.hash, "Hash",
                            f"{kind.hash_name} of the element the bits are bound to "
                            "(the PL's ISSUEDPRINCIPALS, a UL's, CLC's or RAC's ISSUER)",
                            ENABLING_BITS_SPEC, decrypted=True))
    fill = len(bits) - (at + len(opened.hash))
    if fill:
        fields.append(ByteField(at + len(opened.hash), bytes(fill), "fill",
                                f"{fill} zero bytes to a whole AES block", ENABLING_BITS_SPEC,
                                decrypted=True))
    return inside_rsa, fields


# --- the content -----------------------------------------------------------------------


def _cbc4k_iv(key: bytes, number: int) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(number.to_bytes(4, "little") + bytes(12)) + encryptor.finalize()


def content_view(ciphertext: bytes, *, mode: int = 2, key: bytes | None = None,
                 offset: int = 0, blocks_shown: int = 4) -> ByteView:
    """The encrypted content (starting at ``offset`` in its file), block by block: in mode
    2 CBC4K blocks of 4096 bytes, each with its IV; in mode 1 AES-ECB. With the content
    ``key``, each IV and the plaintext of the first ``blocks_shown`` AES blocks of each
    piece, and the padding at the end."""
    if mode not in (1, 2):
        raise InputError("the cryptographic mode is 1 (AES-ECB) or 2 (AES-CBC4K)")
    if len(ciphertext) % 16:
        raise InputError(f"{len(ciphertext)} bytes of content are not whole AES blocks: the "
                         "content is cut or damaged")
    fields: list[ByteField] = []
    notes: list[str] = []
    piece = CBC4K_BLOCK if mode == 2 else len(ciphertext) or 16
    plain = b""
    if key is not None:
        plain = _decrypt(ciphertext, key, mode)
    for number, start in enumerate(range(0, len(ciphertext), piece)):
        chunk = ciphertext[start:start + piece]
        if mode == 2:
            meaning = (f"CBC4K block {number}: AES-128-CBC, no padding but in the last block; "
                       f"IV = AES-ECB(K, {number} as 32-bit little-endian ‖ 12 zero bytes)")
            fields.append(ByteField(offset + start, chunk, f"block {number}", meaning,
                                    CONTENT_SPEC))
            if key is not None:
                fields.append(ByteField(0, _cbc4k_iv(key, number), f"block {number} IV",
                                        "its IV, not stored in the file: derived from the "
                                        "key and the block number", CONTENT_SPEC,
                                        decrypted=True, within="derived"))
        else:
            fields.append(ByteField(offset, chunk, "content", "AES-128-ECB: every 16-byte "
                                    "block on its own, so equal plaintext blocks give equal "
                                    "ciphertext blocks", CONTENT_SPEC))
        if key is not None:
            for aes in range(0, min(len(chunk), 16 * blocks_shown), 16):
                at = start + aes
                text = plain[at:at + 16]
                fields.append(ByteField(offset + at, text, f"plaintext {at}–{at + 16}",
                                        repr(text.decode("utf-8", errors="replace")),
                                        CONTENT_SPEC, decrypted=True))
    if key is not None and ciphertext:
        pad = plain[-1]
        fields.append(ByteField(offset + len(ciphertext) - pad, plain[-pad:], "padding",
                                f"PKCS#7: {pad} bytes of value {pad}", CONTENT_SPEC,
                                decrypted=True))
    else:
        notes.append("without the content key the blocks are opaque: the key comes from a "
                     "use license (or the owner license), through binding")
    return ByteView(f"encrypted content, mode {mode}", len(ciphertext), fields, notes)


def _decrypt(ciphertext: bytes, key: bytes, mode: int) -> bytes:
    if mode == 1:
        decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
        return decryptor.update(ciphertext) + decryptor.finalize()
    out = b""
    for number, start in enumerate(range(0, len(ciphertext), CBC4K_BLOCK)):
        decryptor = Cipher(algorithms.AES(key), modes.CBC(_cbc4k_iv(key, number))).decryptor()
        out += decryptor.update(ciphertext[start:start + CBC4K_BLOCK]) + decryptor.finalize()
    return out


# --- a whole protected file ----------------------------------------------------------


def protected_file_views(data: bytes, *, keys: list[PrivateKey] | None = None
                         ) -> list[ByteView]:
    """``rmslab inspect --bytes``: the container, the enabling bits of every issued
    principal of its publishing license, and the encrypted content. With ``keys`` (a
    lab's cluster keys, say), bits sealed to one of them are opened and the content is
    shown decrypted."""
    import base64

    from rmslab.errors import SealError
    from rmslab.xrml.reader import read_chain
    parsed = read_protected_file(data)
    views = [container_view(data)]
    license_ = read_chain(data)[0]
    mode = license_.mode or 2
    content_key: bytes | None = None
    for principal_element in license_.element.iterfind("BODY/ISSUEDPRINCIPALS/PRINCIPAL"):
        principal = Principal.from_element(principal_element, license_.position)
        recipient = principal.public_key
        value = principal_element.find("ENABLINGBITS/VALUE")
        if recipient is None or value is None or not (value.text or "").strip():
            continue
        sealed = base64.b64decode(value.text or "")
        bits_type = principal_element.find("ENABLINGBITS").get("type", "")  # type: ignore[union-attr]
        opener = next((k for k in keys or [] if k.public == recipient), None)
        if opener is not None and content_key is None:
            try:
                opened = eb.open_enabling_bits(
                    sealed, opener, eb.EnablingBitsType.from_attribute(bits_type)).content_key
                if opened is not None:  # the cipher the KeyHeader names, not the mode's
                    content_key, mode = opened.key, opened.content_mode
            except (SealError, AttributeError):
                content_key = None
        view = enabling_bits_view(sealed, bits_type, recipient=recipient, key=opener)
        views.append(ByteView(f"{view.title}, sealed for {principal.label}", view.size,
                              view.fields, view.notes))
    views.append(content_view(parsed.content, mode=mode, key=content_key,
                              offset=parsed.content_offset))
    return views
