"""Office documents protected with IRM: the data spaces of MS-OFFCRYPTO 2.1 and 2.2.

An IRM-protected Office document is an OLE compound file (read with olefile) holding:

* ``\\x06DataSpaces/Version`` — DataSpaceVersionInfo (2.1.5): the feature name
  ``Microsoft.Container.DataSpaces`` and reader/updater/writer versions 1.0;
* ``\\x06DataSpaces/DataSpaceMap`` — DataSpaceMap (2.1.6, 2.2.1): which protected
  content stream belongs to which data space. OOXML documents map ``EncryptedPackage``
  to ``DRMEncryptedDataSpace``; binary documents (and the storage inside a protected
  mail, MS-OXORMMS) map ``\\x09DRMContent`` to ``\\x09DRMDataSpace``;
* ``\\x06DataSpaces/DataSpaceInfo/<data space>`` — DataSpaceDefinition (2.1.7, 2.2.2):
  the transforms, ``DRMEncryptedTransform`` or ``\\x09DRMTransform``;
* ``\\x06DataSpaces/TransformInfo/<transform>/\\x06Primary`` — IRMDSTransformInfo
  (2.2.6): a TransformInfoHeader (2.1.8) naming the transform
  ``{C73DFACD-061F-43B0-8B64-0C620D2A8B50}`` ``Microsoft.Metadata.DRMTransform``, an
  ExtensibilityHeader (2.2.5) and the signed publishing license as a UTF-8-LP-P4 string;
* ``…/<transform>/EUL-<base32 GUID>`` — cached use licenses (2.2.7): an
  EndUserLicenseHeader, then a ``certificatechain`` whose ``certificate`` elements each
  hold one XrML document as base64 of its UTF-16LE text;
* the protected content stream (2.2.10): a 64-bit plaintext length, then the content
  encrypted with the content key, AES-128 in ECB mode.

MS-OFFCRYPTO 2.2.9 gives the EndUserLicenseHeader's length and an ID string; rmslab
writes the ID as base64 of the UTF-16LE text ``<user>:<type>`` and, reading, skips the
header by its length without relying on the ID.
"""

from __future__ import annotations

import base64
import struct
from rmslab.containers.cfb import CompoundFile, CompoundWriter
from rmslab.containers.model import (Artefact, LengthPrefixed, Payload, unicode_lp_p4,
                                     utf8_lp_p4)
from rmslab.errors import CompoundFileError, ContainerError, InputError, NotProtectedError
from rmslab.xrml.source import MAX_INPUT_BYTES, decode_text, parse_fragment

__all__ = ["DRM_TRANSFORM_ID", "DRM_TRANSFORM_NAME", "DataSpaces", "read_dataspaces",
           "add_dataspaces", "read_office", "write_office", "OOXML", "BINARY",
           "eul_stream_name", "encode_certificate_chain", "decode_certificate_chain",
           "content_payload", "protected_content_stream"]

DRM_TRANSFORM_ID = "{C73DFACD-061F-43B0-8B64-0C620D2A8B50}"
DRM_TRANSFORM_NAME = "Microsoft.Metadata.DRMTransform"
_FEATURE = "Microsoft.Container.DataSpaces"
_DS = "\x06DataSpaces"

#: The names of each form (2.2.1–2.2.4): (content stream, data space, transform).
OOXML = ("EncryptedPackage", "DRMEncryptedDataSpace", "DRMEncryptedTransform")
BINARY = ("\x09DRMContent", "\x09DRMDataSpace", "\x09DRMTransform")
_PASSWORD_SPACES = {"StrongEncryptionDataSpace"}


class DataSpaces:
    """What the data spaces of a compound file say: the form, the content stream, the
    publishing license chain, and the cached use licenses."""

    def __init__(self, form: tuple[str, str, str], license_text: str,
                 use_licenses: tuple[str, ...]) -> None:
        self.form = form
        self.license_text = license_text
        self.use_licenses = use_licenses

    @property
    def content_stream(self) -> str:
        return self.form[0]


# --- writing ------------------------------------------------------------------------


def _version_info() -> bytes:
    return unicode_lp_p4(_FEATURE) + struct.pack("<6H", 1, 0, 1, 0, 1, 0)


def _data_space_map(stream: str, space: str) -> bytes:
    entry = struct.pack("<II", 1, 0) + unicode_lp_p4(stream) + unicode_lp_p4(space)
    return struct.pack("<III", 8, 1, 4 + len(entry)) + entry


def _data_space_definition(transform: str) -> bytes:
    return struct.pack("<II", 8, 1) + unicode_lp_p4(transform)


def _transform_info(license_text: str) -> bytes:
    identity = unicode_lp_p4(DRM_TRANSFORM_ID)
    header = (struct.pack("<II", 8 + len(identity), 1) + identity
              + unicode_lp_p4(DRM_TRANSFORM_NAME) + struct.pack("<6H", 1, 0, 1, 0, 1, 0))
    return header + struct.pack("<I", 4) + utf8_lp_p4(license_text.encode("utf-8"))


def eul_stream_name(guid_bytes: bytes) -> str:
    """``EUL-`` and the base-32 form of a 16-byte GUID (26 characters, no padding)."""
    return "EUL-" + base64.b32encode(guid_bytes).decode("ascii").rstrip("=")


def encode_certificate_chain(chain_text: str) -> bytes:
    """MS-OFFCRYPTO 2.2.7: each XrML document as base64 of its UTF-16LE text in a
    ``certificate`` element of a ``certificatechain``, after an XML declaration."""
    from rmslab.xrml.reader import parse
    certificates = "".join(
        "<certificate>" + base64.b64encode(d.text.encode("utf-16-le")).decode("ascii")
        + "</certificate>" for d in parse(chain_text))
    return f'<?xml version="1.0"?><certificatechain>{certificates}</certificatechain>'.encode()


def decode_certificate_chain(data: bytes, what: str) -> str:
    """The XrML chain text of an encoded ``certificatechain`` (the inverse of
    :func:`encode_certificate_chain`)."""
    wrapper = parse_fragment(decode_text(data))
    root = wrapper if wrapper.tag == "certificatechain" else wrapper.find("certificatechain")
    if root is None:
        raise ContainerError(f"{what}: the use license stream holds no certificatechain "
                             "(MS-OFFCRYPTO 2.2.7)")
    texts = []
    for element in root.findall("certificate"):
        try:
            raw = base64.b64decode((element.text or "").strip(), validate=True)
            texts.append(decode_text(raw))
        except (ValueError, InputError):
            raise ContainerError(f"{what}: a certificate is not base64 of XrML text") from None
    return "".join(texts)


def _eul_stream(user: str, chain_text: str) -> bytes:
    identity = utf8_lp_p4(base64.b64encode(f"{user}:Windows".encode("utf-16-le")))
    header = struct.pack("<I", 4 + len(identity)) + identity
    return header + utf8_lp_p4(encode_certificate_chain(chain_text))


def add_dataspaces(writer: CompoundWriter, form: tuple[str, str, str], license_text: str,
                   use_licenses: tuple[tuple[str, bytes, str], ...] = ()) -> None:
    """Add the ``\\x06DataSpaces`` storage for ``form`` (:data:`OOXML` or
    :data:`BINARY`), with cached use licenses given as (user, 16-byte GUID, chain)."""
    stream, space, transform = form
    writer.add_stream(f"{_DS}/Version", _version_info())
    writer.add_stream(f"{_DS}/DataSpaceMap", _data_space_map(stream, space))
    writer.add_stream(f"{_DS}/DataSpaceInfo/{space}", _data_space_definition(transform))
    writer.add_stream(f"{_DS}/TransformInfo/{transform}/\x06Primary",
                      _transform_info(license_text))
    for user, guid, chain in use_licenses:
        writer.add_stream(f"{_DS}/TransformInfo/{transform}/{eul_stream_name(guid)}",
                          _eul_stream(user, chain))


def protected_content_stream(sealed: bytes, plaintext_size: int) -> bytes:
    """MS-OFFCRYPTO 2.2.10: the plaintext length (64-bit), then the sealed content."""
    return struct.pack("<Q", plaintext_size) + sealed


def write_office(license_text: str, sealed: bytes, plaintext_size: int, *,
                 binary: bool = False,
                 use_licenses: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    """An IRM-protected Office document: OOXML form (``EncryptedPackage``) or binary
    form (``\\x09DRMContent``) around content already sealed with the content key."""
    form = BINARY if binary else OOXML
    writer = CompoundWriter()
    add_dataspaces(writer, form, license_text, use_licenses)
    writer.add_stream(form[0], protected_content_stream(sealed, plaintext_size))
    return writer.to_bytes()


# --- reading ------------------------------------------------------------------------


def _check_version(cf: CompoundFile, source: str) -> None:
    reader = LengthPrefixed(cf.read(f"{_DS}/Version", limit=4096),
                            f"{source}: DataSpaceVersionInfo")
    feature = reader.unicode("FeatureIdentifier")
    if feature != _FEATURE:
        raise ContainerError(f"{source}: the data spaces name the feature {feature!r}, "
                             f"not {_FEATURE!r} (MS-OFFCRYPTO 2.1.5)")
    major = reader.version("ReaderVersion")[0]
    if major != 1:
        raise ContainerError(f"{source}: data spaces reader version {major} (1 is read)")


def _map_entries(cf: CompoundFile, source: str) -> list[tuple[list[str], str]]:
    reader = LengthPrefixed(cf.read(f"{_DS}/DataSpaceMap", limit=1 << 20),
                            f"{source}: DataSpaceMap")
    if reader.u32("HeaderLength") != 8:
        raise ContainerError(f"{source}: the DataSpaceMap's HeaderLength is not 8 "
                             "(MS-OFFCRYPTO 2.1.6)")
    count = reader.u32("EntryCount")
    if count > 256:
        raise ContainerError(f"{source}: the DataSpaceMap claims {count} entries")
    entries = []
    for _ in range(count):
        start = reader.at
        length = reader.u32("entry Length")
        references = reader.u32("ReferenceComponentCount")
        if references > 64:
            raise ContainerError(f"{source}: a DataSpaceMap entry claims {references} "
                                 "reference components")
        names = []
        for _ in range(references):
            reader.u32("ReferenceComponentType")
            names.append(reader.unicode("ReferenceComponent"))
        space = reader.unicode("DataSpaceName")
        if reader.at - start != length:
            raise ContainerError(f"{source}: a DataSpaceMap entry says it has {length} "
                                 f"bytes but holds {reader.at - start}")
        entries.append((names, space))
    return entries


def _transform_license(cf: CompoundFile, source: str, transform: str, limit: int) -> str:
    path = f"{_DS}/TransformInfo/{transform}/\x06Primary"
    reader = LengthPrefixed(cf.read(path, limit=limit + 4096),
                            f"{source}: IRMDSTransformInfo")
    header_length = reader.u32("TransformLength")
    reader.u32("TransformType")
    identity = reader.unicode("TransformID")
    if reader.at != header_length:
        raise ContainerError(f"{source}: the TransformInfoHeader's length {header_length} "
                             f"does not end at its TransformID (MS-OFFCRYPTO 2.1.8)")
    name = reader.unicode("TransformName")
    if identity.upper() != DRM_TRANSFORM_ID or name != DRM_TRANSFORM_NAME:
        raise ContainerError(f"{source}: the transform is {name!r} {identity}, not the "
                             f"DRM transform (MS-OFFCRYPTO 2.2.3)")
    for part in ("ReaderVersion", "UpdaterVersion", "WriterVersion"):
        reader.version(part)
    if reader.u32("ExtensibilityHeader") != 4:
        raise ContainerError(f"{source}: the ExtensibilityHeader is not 4 "
                             "(MS-OFFCRYPTO 2.2.5)")
    raw = reader.utf8("XrMLLicense")
    if not raw:
        raise ContainerError(f"{source}: the DRM transform holds an empty license")
    return decode_text(raw, limit=limit)


def _use_licenses(cf: CompoundFile, source: str, transform: str, limit: int) -> tuple[str, ...]:
    storage = f"{_DS}/TransformInfo/{transform}"
    found = []
    for name in cf.list(storage):
        if not name.startswith("EUL-") or cf.kind(f"{storage}/{name}") != "stream":
            continue
        what = f"{source}: use license stream {name}"
        reader = LengthPrefixed(cf.read(f"{storage}/{name}", limit=limit), what)
        header = reader.u32("EndUserLicenseHeader length")
        if header < 4:
            raise ContainerError(f"{what}: impossible header length {header}")
        reader.take(header - 4, "EndUserLicenseHeader")
        found.append(decode_certificate_chain(reader.utf8("certificate chain"), what))
    return tuple(found)


def read_dataspaces(cf: CompoundFile, source: str, *,
                    limit: int = MAX_INPUT_BYTES) -> DataSpaces:
    """The data spaces of an opened compound file. Raises :class:`NotProtectedError`
    for a file without them or protected by a password (not by rights management)."""
    if cf.kind(_DS) != "storage":
        raise NotProtectedError(f"{source}: a compound file without data spaces: not "
                                "protected by rights management")
    _check_version(cf, source)
    entries = _map_entries(cf, source)
    spaces = {space for _, space in entries}
    if spaces & _PASSWORD_SPACES and not spaces & {OOXML[1], BINARY[1]}:
        raise NotProtectedError(f"{source}: encrypted with a password (ECMA-376 agile or "
                                "standard encryption), not protected by rights management")
    for form in (OOXML, BINARY):
        stream, space, transform = form
        if any(space == s and stream in names for names, s in entries):
            definition = LengthPrefixed(cf.read(f"{_DS}/DataSpaceInfo/{space}", limit=4096),
                                        f"{source}: DataSpaceDefinition {space!r}")
            definition.u32("HeaderLength")
            count = definition.u32("TransformReferenceCount")
            references = [definition.unicode("TransformReference")
                          for _ in range(min(count, 16))]
            if not references or references[0] != transform:
                raise ContainerError(f"{source}: the data space {space!r} does not apply "
                                     f"the transform {transform!r} (MS-OFFCRYPTO 2.2.2)")
            text = _transform_license(cf, source, transform, limit)
            return DataSpaces(form, text, _use_licenses(cf, source, transform, limit))
    raise NotProtectedError(f"{source}: the data spaces name no rights-management "
                            f"transform ({', '.join(sorted(spaces)) or 'none'})")


def content_payload(cf: CompoundFile, source: str, stream: str, *, cipher: str) -> Payload:
    """The protected content stream's description (MS-OFFCRYPTO 2.2.10)."""
    if cf.kind(stream) != "stream":
        raise CompoundFileError(f"{source}: the data spaces protect {stream!r}, but the "
                                "file has no such stream")
    size = cf.size(stream)
    head = cf.head(stream, 8)
    if len(head) < 8:
        raise ContainerError(f"{source}: the protected content stream is truncated "
                             "before its length")
    declared = int(struct.unpack("<Q", head)[0])
    sealed = size - 8
    if sealed < declared or sealed - declared > 4096:
        raise ContainerError(f"{source}: the protected content declares {declared} bytes "
                             f"of plaintext but holds {sealed} sealed bytes")
    return Payload(stream, declared, sealed, cipher)


def read_office(cf: CompoundFile, source: str, *, limit: int = MAX_INPUT_BYTES) -> Artefact:
    """An IRM-protected Office document from an opened compound file."""
    spaces = read_dataspaces(cf, source, limit=limit)
    binary = spaces.form is BINARY
    payload = content_payload(cf, source, spaces.content_stream, cipher="AES-128-ECB")
    details = (("form", "binary" if binary else "OOXML"),
               ("transform", spaces.form[2]))
    return Artefact("office-binary" if binary else "office-ooxml", source,
                    spaces.license_text, payload, spaces.use_licenses, details)

