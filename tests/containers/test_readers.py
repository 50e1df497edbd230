"""Every container rmslab writes is read back — by rmslab, and by olefile or pypdf —
and recognised by its content, never its name.

covers: A-1, P-6, P-8
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import olefile
import pypdf
import pytest

from rmslab.containers import open_artefact, read_store, write_store
from rmslab.containers.convert import WRITABLE, kind_for_extension, rewrap
from rmslab.containers.office import decode_certificate_chain, encode_certificate_chain
from rmslab.containers.rpmsg import PREFIX, inflate_storage
from rmslab.crypto.content import ContentCipher
from rmslab.errors import NotProtectedError
from rmslab.xrml.reader import parse, read_file

from tests.containers.conftest import Published


@pytest.mark.parametrize("kind", WRITABLE)
def test_every_container_reads_back_with_its_license_and_sealed_content(
        published: Published, kind: str) -> None:
    data = rewrap(published.pfile, kind)
    artefact = open_artefact(data, name=f"sample of {kind}")
    assert artefact.kind == kind
    assert artefact.license_text == published.chain
    assert artefact.payload is not None
    assert artefact.payload.sealed_size >= len(published.content)
    assert published.content not in data          # the content stays sealed
    leaf = parse(artefact.license_text)[0]
    assert leaf.kind == "Microsoft Rights Label"


@pytest.mark.parametrize("kind", ["office-ooxml", "office-binary", "outlook-msg"])
def test_compound_files_are_accepted_by_olefile(published: Published, kind: str) -> None:
    data = rewrap(published.pfile, kind)
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    streams = ["/".join(e) for e in ole.listdir()]
    if kind == "outlook-msg":
        assert "__attach_version1.0_#00000000/__substg1.0_37010102" in streams
    else:
        assert "\x06DataSpaces/DataSpaceMap" in streams
        content = "EncryptedPackage" if kind == "office-ooxml" else "\x09DRMContent"
        raw = ole.openstream(content).read()
        size = struct.unpack("<Q", raw[:8])[0]
        assert size == len(published.content)


def test_office_content_is_the_published_ciphertext(published: Published) -> None:
    """The EncryptedPackage holds the very bytes publishing sealed: the content key the
    publishing license seals to the server opens them, in the cipher its KeyHeader names."""
    from rmslab.xrml.licenses import license_content_key
    deployment = published.deployment
    data = rewrap(published.pfile, "office-ooxml")
    ole = olefile.OleFileIO(io.BytesIO(data))
    sealed = ole.openstream("EncryptedPackage").read()[8:]
    pl = parse(published.chain)[0]
    key = license_content_key(pl, deployment.root_cluster.key)
    plain = io.BytesIO()
    ContentCipher(key.key, key.content_mode).decrypt_stream(io.BytesIO(sealed), plain)
    assert plain.getvalue() == published.content


def test_rpmsg_inflates_to_a_compound_file_olefile_reads(published: Published) -> None:
    data = rewrap(published.pfile, "rpmsg")
    assert data.startswith(PREFIX)
    storage = inflate_storage(io.BytesIO(data), "mail").read()
    ole = olefile.OleFileIO(io.BytesIO(storage), raise_defects=olefile.DEFECT_INCORRECT)
    assert ole.exists("\x09DRMContent")
    assert ole.exists("\x06DataSpaces/TransformInfo/\x09DRMTransform/\x06Primary")


def test_pdf_wrapper_is_an_ordinary_pdf_to_pypdf(published: Published) -> None:
    data = rewrap(published.pfile, "pdf-irm-v2-wrapper")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert not reader.is_encrypted
    assert len(reader.pages) == 1
    assert "protected" in reader.pages[0].extract_text()
    files = reader.attachments
    assert list(files) == ["MicrosoftIRMServices Protected PDF.pdf"]
    payload = files["MicrosoftIRMServices Protected PDF.pdf"][0]
    assert open_artefact(payload).kind == "pdf-irm-v2"


@pytest.mark.parametrize("version", [1, 2])
def test_encrypted_pdf_is_seen_by_pypdf_as_encrypted(published: Published, version: int) -> None:
    data = rewrap(published.pfile, f"pdf-irm-v{version}")
    with pytest.raises(NotImplementedError, match="Standard"):
        pypdf.PdfReader(io.BytesIO(data))          # pypdf parses it, and declines the handler


def test_recognised_by_content_not_by_name(published: Published, tmp_path: Path) -> None:
    misnamed = tmp_path / "holiday.jpg"
    misnamed.write_bytes(rewrap(published.pfile, "office-ooxml"))
    assert open_artefact(misnamed).kind == "office-ooxml"
    chain = read_file(misnamed)
    assert chain.artefact.kind == "office-ooxml"
    assert chain.leaf.content_id == parse(published.chain)[0].content_id


def test_use_licenses_cached_in_the_document_are_read(published: Published) -> None:
    cached = (("alice@contoso.com", bytes(range(16)), published.use_license),)
    for kind in ("office-ooxml", "office-binary", "rpmsg"):
        artefact = open_artefact(rewrap(published.pfile, kind, use_licenses=cached))
        assert artefact.use_licenses == (published.use_license,)


def test_certificate_chain_encoding_round_trips(published: Published) -> None:
    encoded = encode_certificate_chain(published.use_license)
    assert encoded.startswith(b'<?xml version="1.0"?><certificatechain><certificate>')
    assert decode_certificate_chain(encoded, "eul") == published.use_license


def test_extension_decides_what_protect_writes() -> None:
    assert kind_for_extension("Report.DOCX") == "office-ooxml"
    assert kind_for_extension("old.xls") == "office-binary"
    assert kind_for_extension("note.msg") == "outlook-msg"
    assert kind_for_extension("scan.pdf") == "pdf-irm-v2-wrapper"
    assert kind_for_extension("a.txt") == "protected-file"


def _plain_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _password_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip() -> bytes:
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _plain_compound() -> bytes:
    from rmslab.containers.cfb import CompoundWriter
    writer = CompoundWriter()
    writer.add_stream("WordDocument", b"\xec\xa5" + bytes(500))
    return writer.to_bytes()


@pytest.mark.parametrize("make", [_plain_pdf, _password_pdf, _zip, _plain_compound,
                                  lambda: b"", lambda: b"just some notes\n" * 10,
                                  lambda: bytes(range(256)) * 4])
def test_unprotected_files_are_told_apart(make: object) -> None:
    with pytest.raises(NotProtectedError):
        open_artefact(make())  # type: ignore[operator]


def test_msg_without_protected_attachment_is_not_protected(published: Published) -> None:
    from rmslab.containers.msg import write_msg
    data = write_msg(b"not an rpmsg at all")
    with pytest.raises(NotProtectedError, match="without a protected-mail"):
        open_artefact(data)


def test_license_stores_in_the_layouts_and_encodings_of_real_clients(
        published: Published, tmp_path: Path) -> None:
    deployment = published.deployment
    client = next(c for c in deployment.clients.values() if "alice" in c.accounts)
    account = client.account("alice")
    chains = [("GIC", "alice@contoso.com", account.rac_text),
              ("EUL", "", published.use_license)]
    msdrm = write_store(tmp_path / "Users/alice/AppData/Local/Microsoft/DRM", "msdrm", chains)
    server = write_store(tmp_path / "ProgramData/Microsoft/MSIPC/Server/S-1-5-20", "msipc",
                         chains)
    first = read_store(msdrm)
    assert first.kind == "msdrm" and first.sid is None
    assert {e.role for e in first.entries} == {"GIC", "EUL"}
    assert {e.encoding for e in first.entries} == {"UTF-16LE"}
    gic = first.role("GIC")[0]
    assert gic.name.startswith("GIC-{") and gic.name.endswith("}.drm")
    second = read_store(server)
    assert second.kind == "msipc-server" and second.sid == "S-1-5-20"
    assert {e.encoding for e in second.entries} == {"UTF-8"}
    (server / "CLC-alice@contoso.com.drm").write_text(account.rac_text)
    (server / "GIC-broken.drm").write_bytes(b"<XrML")
    again = read_store(server)
    clc = [e for e in again.entries if e.role == "CLC"][0]
    assert clc.note and "holds a" in clc.note
    assert [name for name, _ in again.unreadable] == ["GIC-broken.drm"]
