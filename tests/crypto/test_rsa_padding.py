"""The RSA block of enabling bits opened raw (rmslab.crypto.rsa_padding; MS-RMPR
2.2.9.1.13, RFC 8017 7.1 and 7.2): the parts named are the parts there, and the message
they end with is the one cryptography's own padding checks return.

covers: A-1
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from rmslab.crypto import enabling_bits as eb
from rmslab.crypto.rsa_padding import OAEP, PKCS1_V15, padded_block, raw_rsa_open
from rmslab.lab import Lab

KINDS = [(eb.EnablingBitsType.SEALED_KEY, 1), (eb.EnablingBitsType.SEALED_KEY_V2, 2)]


@pytest.mark.parametrize("kind,mode", KINDS, ids=["sealed-key", "sealed-key-v2"])
def test_the_raw_block_ends_with_what_the_padding_check_returns(
        kind: eb.EnablingBitsType, mode: int) -> None:
    key = Lab(mode=mode).key("cluster:contoso")
    bits = eb.seal_content_key(bytes(range(16)), eb.CipherMode.ECB, to=key.public,
                               bound_to="<ISSUER/>", bits_type=kind,
                               random=Lab().random_bytes)
    block = bits[:key.public.size // 8]
    pad = (padding.PKCS1v15() if mode == 1 else
           padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                        label=None))
    message = key._key.decrypt(block, pad)
    assert len(message) == eb.KEY_HEADER_SIZE + 16
    raw = raw_rsa_open(block, key)
    assert len(raw) == key.public.size // 8 and raw[0] == 0
    if mode == 1:
        assert raw.endswith(b"\x00" + message) and raw[1] == 2


@pytest.mark.parametrize("kind,mode", KINDS, ids=["sealed-key", "sealed-key-v2"])
def test_the_segments_tile_the_block(kind: eb.EnablingBitsType, mode: int) -> None:
    lab = Lab()
    block = padded_block(kind, Lab(mode=mode).key("cluster:contoso"), lab.random_bytes)
    assert block.padding == (PKCS1_V15 if mode == 1 else OAEP)
    assert block.key_bits == (1024 if mode == 1 else 2048)
    at = 0
    for segment in block.segments:
        assert segment.start == at and block.block[segment.start:segment.end] == segment.data
        at = segment.end
    assert at == len(block.block)
    text = "\n".join(block.describe())
    assert f"{block.predictable_bytes} of them predictable" in text


def test_pkcs1_v15_shows_its_layout_and_oaep_only_its_first_byte() -> None:
    lab = Lab()
    v15 = padded_block(eb.EnablingBitsType.SEALED_KEY, Lab(mode=1).key("cluster:contoso"),
                       lab.random_bytes)
    oaep = padded_block(eb.EnablingBitsType.SEALED_KEY_V2, Lab().key("cluster:contoso"),
                        lab.random_bytes)
    names = [s.name for s in v15.segments]
    assert names == ["leading 00", "block type 02", "PS", "separator 00", "session KeyHeader",
                     "session key"]
    ps = v15.segments[2].data
    assert len(ps) >= 8 and 0 not in ps
    assert v15.predictable_bytes == 3 + eb.KEY_HEADER_SIZE
    assert [s.name for s in oaep.segments] == ["leading 00", "maskedSeed", "maskedDB"]
    assert oaep.predictable_bytes == 1
    inner = {s.name: s for s in oaep.unmasked}
    assert inner["lHash"].data == hashlib.sha256(b"").digest()
    assert set(inner["PS"].data) == {0} and inner["01"].data == b"\x01"
    assert inner["session KeyHeader"].data == eb.KeyHeader.for_session_key(bytes(16)).to_bytes()
    # the masked block shows none of it
    assert inner["lHash"].data not in oaep.block and b"\x00" * 16 not in oaep.block[1:]
