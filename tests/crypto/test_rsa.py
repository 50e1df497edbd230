"""RSA in the XrML encoding: little-endian modulus, signatures over digests."""

from __future__ import annotations

import base64

import pytest

from rmslab.crypto.keygen import derive_key
from rmslab.crypto.rsa import DigestAlgorithm, PublicKey, surface_digest
from rmslab.errors import BadSignatureError, KeyFormatError


def test_modulus_is_little_endian() -> None:
    key = derive_key(1, "t", 1024).public
    raw = base64.b64decode(key.modulus_base64)
    assert int.from_bytes(raw, "little") == key.modulus
    assert int.from_bytes(raw, "big") != key.modulus
    assert PublicKey.from_xrml(key.modulus_base64, "65537") == key
    assert key.size == 1024 and len(raw) == 128


def test_pem_round_trip() -> None:
    key = derive_key(1, "t", 1024)
    assert PublicKey.from_pem(key.public.to_pem()) == key.public


def test_sign_and_verify_digest() -> None:
    key = derive_key(1, "t", 2048)
    digest = surface_digest("<BODY/>", DigestAlgorithm.SHA256)
    signature = key.sign_digest(digest, DigestAlgorithm.SHA256)
    key.public.verify_digest(signature, digest, DigestAlgorithm.SHA256)
    with pytest.raises(BadSignatureError, match="2048-bit key"):
        key.public.verify_digest(signature, surface_digest("<BODY />", DigestAlgorithm.SHA256),
                                 DigestAlgorithm.SHA256)
    with pytest.raises(BadSignatureError, match="32 bytes long, not 20"):
        key.public.verify_digest(signature, digest, DigestAlgorithm.SHA1)


def test_surface_digest_is_utf16le() -> None:
    import hashlib
    assert surface_digest("<BODY>é</BODY>", DigestAlgorithm.SHA1) == hashlib.sha1(
        "<BODY>é</BODY>".encode("utf-16-le")).digest()


@pytest.mark.parametrize("modulus,exponent", [("!!!", "65537"), ("", "3"), ("AQAB", "x"),
                                              ("AAAA", "65537")])
def test_bad_keys(modulus: str, exponent: str) -> None:
    with pytest.raises(KeyFormatError):
        PublicKey.from_xrml(modulus, exponent)


def test_derivation_is_deterministic_and_exact_size() -> None:
    a, b = derive_key(9, "label", 1024), derive_key(9, "label", 1024)
    assert a.public == b.public and a.bits == 1024
    assert derive_key(9, "other", 1024).public != a.public
