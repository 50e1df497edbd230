"""Bytes explained (issue 15): the protected-file container, the enabling bits and the
CBC4K content, field by field, each field's bytes the artefact's own; and the same view
from ``rmslab inspect --bytes``.

covers: A-1, P-4, P-6
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from rmslab.byteview import container_view, content_view, enabling_bits_view, protected_file_views
from rmslab.crypto import enabling_bits as eb
from rmslab.crypto.content import ContentCipher
from rmslab.deployment import Deployment
from rmslab.errors import ContainerError, InputError
from rmslab.flows.publishing import publish_offline
from rmslab.rights import Grant, RightsPolicy
from rmslab.xrml.pfile import read_protected_file
from tests.clirun import run


def _protected(deployment: Deployment, content: bytes = b"The minutes\n") -> bytes:
    sink = io.BytesIO()
    publish_offline(deployment.clients["ALICE-PC"], deployment.user("alice"),
                    RightsPolicy((Grant("bob@contoso.example", ("VIEW",)),)), content, sink)
    return sink.getvalue()


def test_every_container_field_is_the_files_own_bytes_and_the_fields_tile_the_file(
        deployment: Deployment) -> None:
    data = _protected(deployment)
    view = container_view(data)
    parsed = read_protected_file(data)
    for f in view.fields:
        assert data[f.offset:f.end] == f.data
    covered = sorted((f.offset, f.end) for f in view.fields)
    assert covered[0][0] == 0 and covered[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:])), "no gap, no overlap"
    by_name = {f.name: f for f in view.fields}
    assert struct.unpack("<I", by_name["content offset"].data)[0] == parsed.content_offset
    assert by_name["encrypted content"].offset == parsed.content_offset
    assert by_name["magic"].data == b".pfile"
    assert "[docs/wire-format.md#protected-files]" in view.to_text()


def test_a_damaged_container_is_refused_by_the_header_reader(deployment: Deployment) -> None:
    data = _protected(deployment)
    with pytest.raises(ContainerError):
        container_view(data[:300])


def test_enabling_bits_are_annotated_through_the_enabling_bits_module(
        deployment: Deployment) -> None:
    """The MS-RMPR 2.2.9.1.13 layout: public parts without the key; with it, each field
    inside, the content key and cipher being the ones sealed."""
    server = deployment.root_cluster.key
    key = bytes(range(16))
    bits = eb.seal_content_key(key, eb.CipherMode.CBC4K, to=server.public,
                               bound_to="<ISSUEDPRINCIPALS/>",
                               bits_type=eb.EnablingBitsType.SEALED_KEY_V2,
                               random=deployment.lab.random_bytes)
    public = enabling_bits_view(bits, "sealed-key-v2", recipient=server.public)
    assert [f.name for f in public.fields] == ["KPublic(KeyHeader ‖ KSession)",
                                               "KSession(UDEBHeader ‖ KeyHeader ‖ K ‖ Hash)"]
    assert "AES-128 content key" in public.fields[1].meaning
    opened = {f.name: f for f in enabling_bits_view(bits, "sealed-key-v2", key=server).fields}
    assert opened["K"].data == key
    assert opened["content KeyHeader.Reserved"].data == b"\xfd\xff"  # CBC4K with padding
    assert opened["UDEBHeader.dwVersion"].data == b"\x02\x00\x00\x00"
    assert len(opened["Hash"].data) == 32
    assert all(f.decrypted for name, f in opened.items() if not name.startswith("K") or name == "K")
    # sealed to another key: the view says so, as the module does
    with pytest.raises(eb.NotSealedForThisKeyError):
        enabling_bits_view(bits, "sealed-key-v2", key=deployment.clusters["contoso-licensing"].key)


def test_a_publishing_license_holds_one_copy_in_the_ms_rmpr_layout(
        deployment: Deployment) -> None:
    # MS-RMPR 2.2.9.1.11, 2.2.9.1.13: one principal, the server, and its bits as specified;
    # with the server's key the content cipher comes from the KeyHeader (CBC4K here)
    data = _protected(deployment)
    views = protected_file_views(data, keys=[deployment.root_cluster.key])
    bits = [v for v in views if v.title.startswith("ENABLINGBITS")]
    assert len(bits) == 1 and "interim" not in bits[0].title
    assert any("KeyHeader" in f.name for f in bits[0].fields)
    assert views[-1].fields and "interim" not in views[-1].title


def test_cbc4k_blocks_each_with_its_iv_and_the_plaintext_with_the_key() -> None:
    key = bytes(range(16))
    content = b"A" * 5000
    cipher = ContentCipher(key, 2)
    encrypted = cipher.encrypt(content)
    view = content_view(encrypted, key=key)
    names = [f.name for f in view.fields]
    assert names.count("block 0") == 1 and names.count("block 1") == 1
    ivs = [f for f in view.fields if f.name.endswith(" IV")]
    assert len(ivs) == 2 and ivs[0].data != ivs[1].data
    plaintexts = b"".join(f.data for f in view.fields if f.name.startswith("plaintext")
                          and f.offset < 4096)
    assert plaintexts == content[:64]
    padding = next(f for f in view.fields if f.name == "padding")
    assert padding.data == bytes([padding.data[0]]) * padding.data[0]
    assert "opaque" in content_view(encrypted).notes[0]
    with pytest.raises(InputError, match="not whole AES blocks"):
        content_view(encrypted[:-1])


def test_inspect_bytes_on_the_command_line(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    assert run("lab", "create", str(lab))[0] == 0
    source, protected = tmp_path / "in.txt", tmp_path / "out.ptxt"
    source.write_bytes(b"Secret minutes\n")
    assert run("protect", str(source), str(protected), "--lab", str(lab), "--as", "alice",
               "--grant", "bob:VIEW")[0] == 0
    status, out, _ = run("inspect", "--bytes", str(protected))
    assert status == 0
    assert "content offset" in out and "ENABLINGBITS" in out and "CBC4K block 0" in out
    assert "Secret minutes" not in out
    status, out, _ = run("inspect", "--bytes", str(protected), "--lab", str(lab))
    assert status == 0 and "plaintext 0–16: 'Secret minutes\\n\\x01'" in out
    status, _, err = run("inspect", "--bytes", str(source))
    assert status == 2 and "not a protected file" in err and "Traceback" not in err
    status, _, err = run("inspect", "--bytes", "--json", str(protected))
    assert status == 2 and "no JSON form" in err
