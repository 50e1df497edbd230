"""Content encryption per cryptographic mode, streaming, and the CBC4K layout.

covers: P-6
"""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from rmslab.crypto.content import (CBC4K_BLOCK, ContentCipher, ContentDecryptionError,
                                   encrypted_size)

KEY = bytes(range(16))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3 * CBC4K_BLOCK + 50), mode=st.sampled_from([1, 2]))
def test_round_trip(data: bytes, mode: int) -> None:
    cipher = ContentCipher(KEY, mode)
    encrypted = cipher.encrypt(data)
    assert len(encrypted) == encrypted_size(len(data))
    assert cipher.decrypt(encrypted) == data


@pytest.mark.parametrize("size", [0, 16, CBC4K_BLOCK, 2 * CBC4K_BLOCK + 100, 300 * CBC4K_BLOCK])
def test_cbc4k_matches_its_definition(size: int) -> None:
    data = bytes(i % 251 for i in range(size))

    def iv(number: int) -> bytes:
        ecb = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()
        return ecb.update(number.to_bytes(4, "little") + bytes(12)) + ecb.finalize()

    expected = b""
    whole = size // CBC4K_BLOCK
    for number in range(whole):
        cbc = Cipher(algorithms.AES(KEY), modes.CBC(iv(number))).encryptor()
        expected += cbc.update(data[number * CBC4K_BLOCK:(number + 1) * CBC4K_BLOCK])
    padder = padding.PKCS7(128).padder()
    tail = padder.update(data[whole * CBC4K_BLOCK:]) + padder.finalize()
    cbc = Cipher(algorithms.AES(KEY), modes.CBC(iv(whole))).encryptor()
    expected += cbc.update(tail) + cbc.finalize()
    assert ContentCipher(KEY, 2).encrypt(data) == expected


def test_ecb_is_plain_aes_ecb() -> None:
    data = b"A" * 32
    encrypted = ContentCipher(KEY, 1).encrypt(data)
    assert encrypted[:16] == encrypted[16:32]  # why mode 1 is legacy: equal blocks show


def test_streams_report_sizes() -> None:
    cipher = ContentCipher(KEY, 2)
    sink = io.BytesIO()
    assert cipher.encrypt_stream(io.BytesIO(b"x" * 10_000), sink) == 10_000
    out = io.BytesIO()
    assert cipher.decrypt_stream(io.BytesIO(sink.getvalue()), out) == 10_000


@pytest.mark.parametrize("mode", [1, 2])
def test_wrong_key_or_truncation(mode: int) -> None:
    encrypted = ContentCipher(KEY, mode).encrypt(b"secret" * 1000)
    with pytest.raises(ContentDecryptionError):
        ContentCipher(bytes(16), mode).decrypt(encrypted)
    with pytest.raises(ContentDecryptionError):
        ContentCipher(KEY, mode).decrypt(encrypted[:-3])
