"""Real ENABLINGBITS of the corpus, read as far as their public parts allow.

Without the recipients' private keys nothing inside the bits can be read, but their
sizes and their RSA blocks decide the open choices of MS-RMPR 2.2.9.1.13 that
:mod:`rmslab.crypto.enabling_bits` makes: the byte order of the RSA block, the fill of the
session-encrypted part, and the PRIVATEKEYBLOB as K.

covers: A-1 (the real documents decide)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from rmslab.crypto.enabling_bits import (
    CipherMode, EnablingBitsType, read_public_parts, seal_content_key, seal_private_key)
from rmslab.crypto.rsa import PublicKey
from rmslab.lab import Lab
from rmslab.xrml import XrmlDocument, read_file
from rmslab.xrml.model import read_public_key

pytestmark = pytest.mark.interop


@dataclass(frozen=True)
class RealBits:
    file: str
    kind: str
    bits_type: EnablingBitsType
    bits: bytes
    recipient: PublicKey | None   # when the document itself names the recipient's key
    issued_key: PublicKey | None  # the key the document issues (its ISSUEDPRINCIPALS)


def _issued_key(document: XrmlDocument) -> PublicKey | None:
    return read_public_key(document.element.find("BODY/ISSUEDPRINCIPALS/PRINCIPAL/PUBLICKEY"),
                           document.position)


def _real_bits(corpus: Path) -> list[RealBits]:
    found: list[RealBits] = []
    for entry in json.loads((corpus / "MANIFEST.json").read_text()):
        if not entry["file"].startswith("docs/"):
            continue
        for document in read_file(corpus / entry["file"]).documents:
            for element in document.element.iter("ENABLINGBITS"):
                value = element.find("VALUE")
                assert value is not None and value.text
                bits = base64.b64decode("".join(value.text.split()))
                principal = element.getparent()
                assert principal is not None
                recipient = None
                if document.kind == "Microsoft Rights Label":  # the server's key, beside them
                    recipient = read_public_key(principal.find("PUBLICKEY"), document.position)
                elif document.kind == "Content-License":  # the user's (RAC) key
                    recipient = _issued_key(document)
                found.append(RealBits(entry["file"], document.kind,
                                      EnablingBitsType.from_attribute(element.get("type", "")),
                                      bits, recipient, _issued_key(document)))
    return found


@pytest.fixture(scope="module")
def real_bits(corpus: Path) -> list[RealBits]:
    found = _real_bits(corpus)
    assert len(found) >= 20
    return found


def test_rsa_block_is_big_endian(real_bits: list[RealBits]) -> None:
    """Every real RSA block read big-endian is below its recipient's modulus; read
    little-endian, some are not, so they cannot be RSA outputs (choice 3)."""
    known = [b for b in real_bits if b.recipient is not None]
    assert len(known) >= 14
    parts = [read_public_parts(b.bits, b.bits_type, b.recipient) for b in known]
    assert all(p.below_modulus_big_endian for p in parts)
    assert not all(p.below_modulus_little_endian for p in parts)


def test_every_real_length_fits_the_layout(real_bits: list[RealBits]) -> None:
    """Licenses carry a content key; CLCs and RACs a PRIVATEKEYBLOB of the key they issue
    (choices 2 and 8): the layout accounts for every byte of every real pair of bits."""
    for real in real_bits:
        parts = read_public_parts(real.bits, real.bits_type, real.recipient)
        if real.kind in ("Microsoft Rights Label", "Content-License"):
            assert any("content key" in fit for fit in parts.fits), real.file
        else:
            assert real.issued_key is not None
            wanted = f"{real.issued_key.bits}-bit RSA private key"
            assert any(fit.startswith(wanted) for fit in parts.fits), (real.file, parts.fits)


def test_rmslab_writes_the_real_lengths(real_bits: list[RealBits]) -> None:
    """For the same version, recipient size and key, rmslab's bits are exactly as long as
    the real ones (AES-128 or AES-256 content keys; the CLC's own private key)."""
    lab = Lab()
    lengths: dict[tuple[str, EnablingBitsType, int], set[int]] = {}
    for real in real_bits:
        size = (real.recipient.size if real.recipient else 1024 if
                real.bits_type is EnablingBitsType.SEALED_KEY else 2048)
        lengths.setdefault((real.kind, real.bits_type, size), set()).add(len(real.bits))
    for (kind, bits_type, size), real_lengths in sorted(lengths.items(), key=str):
        to = lab.key("cluster:contoso", size).public
        if kind in ("Microsoft Rights Label", "Content-License"):
            ours = {len(seal_content_key(bytes(n), CipherMode.ECB, to=to, bound_to="",
                                         bits_type=bits_type, random=lab.random_bytes))
                    for n in (16, 32)}
            assert real_lengths <= ours, (kind, bits_type, real_lengths, ours)
        else:
            inside = lab.key("clc:alice@contoso.example", size)
            ours = {len(seal_private_key(inside, to=to, bound_to="", bits_type=bits_type,
                                         random=lab.random_bytes))}
            assert real_lengths == ours, (kind, bits_type, real_lengths, ours)


def test_mode_2_ecb_publishing_license_key_header_as_far_as_public(corpus: Path) -> None:
    """Issue 12, item 10: the corpus's mode-2 ECB publishing license (the RMS SDK's
    PL_0101right_ECB fixture). Its bits are sealed-key-v2 (mode 2) — and its content key's
    KeyHeader, whose Flags say ECB, lies under the session key: what its public parts
    show is a 2048-bit OAEP block and 80 bytes that fit an AES-128 key (KeyHeader BlobSize
    28, keySize 128, 4 fill bytes) or a DES key (BlobSize 20), nothing more."""
    entry = next(e for e in json.loads((corpus / "MANIFEST.json").read_text())
                 if "PL_0101right_ECB" in e["source"] and e["file"].startswith("docs/")
                 and e["documents"] and e["documents"][0]["descriptor"] is None)
    ours = [b for b in _real_bits(corpus) if b.file == entry["file"]]
    assert len(ours) == 1
    real = ours[0]
    assert real.kind == "Microsoft Rights Label" and real.bits_type is EnablingBitsType.SEALED_KEY_V2
    parts = read_public_parts(real.bits, real.bits_type, real.recipient)
    assert (parts.rsa_block_bytes, parts.session_part_bytes) == (256, 80)
    assert parts.fits == ("DES-56 content key (KeyHeader BlobSize 20, 12 fill bytes)",
                          "AES-128 content key (KeyHeader BlobSize 28, 4 fill bytes)")
    assert "ECB or CBC4K" in parts.describe()
