"""Sealing a key for a principal: the ``ENABLINGBITS type="sealed-key"`` of docs/wire-format.md.

A sealed key can be opened only with the private key of the principal it was sealed
to: content key → server key (publishing license), content key → account key (use and
owner licenses), CLC private key → account key (CLC), account private key → machine key
(rights account certificate).

Short secrets (content keys) are RSA-encrypted directly with PKCS#1 v1.5 type-2
padding. Secrets longer than one RSA block (private keys) are sealed in two layers: a
fresh AES-256 key is RSA-encrypted, and the secret is AES-256-CBC encrypted under it.
All padding and IVs come from the caller's deterministic byte source (the lab), so a
sealed key is byte-stable for a given seed; opening uses ``cryptography``'s own
PKCS#1 v1.5 decryption.

Blob layout (rmslab's own, not the real one: MS-RMPR 2.2.9.1.13 specifies real
ENABLINGBITS, and :mod:`rmslab.crypto.enabling_bits` writes and reads them; the flows
still call this module until they are wired to that one)::

    b"RS1" + RSA-block(secret + check)                                    (direct)
    b"RS2" + RSA-block(aes key + check) + iv(16) + AES-CBC(secret, PKCS#7) (two layers)

``check`` is the first 8 bytes of SHA-256(secret): PKCS#1 v1.5 decryption with the
wrong key yields random bytes rather than an error (implicit rejection), so the check is
what tells "not for this key" apart from a key.
"""

from __future__ import annotations

import hashlib
from typing import Callable

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import RmslabError

__all__ = ["seal", "unseal", "SealError", "NOT_SEALED_FOR_THIS_KEY"]

RandomSource = Callable[[int], bytes]


class SealError(RmslabError):
    """A sealed key cannot be opened with this private key (it was sealed for another
    principal, or it was changed)."""


def _pkcs1_type2(message: bytes, size: int, random: RandomSource) -> bytes:
    pad_length = size - 3 - len(message)
    if pad_length < 8:
        raise ValueError("secret too long for one RSA block")
    pad = bytearray()
    while len(pad) < pad_length:
        pad.extend(b for b in random(pad_length - len(pad) + 8) if b)
    return b"\x00\x02" + bytes(pad[:pad_length]) + b"\x00" + message


def _rsa_block(key: PublicKey, message: bytes, random: RandomSource) -> bytes:
    size = key.size // 8
    encoded = int.from_bytes(_pkcs1_type2(message, size, random), "big")
    return pow(encoded, key.exponent, key.modulus).to_bytes(size, "big")


#: What :func:`unseal` says when a key cannot open a sealed key, however it finds out.
NOT_SEALED_FOR_THIS_KEY = "the sealed key was not sealed for this private key, or it was changed"


def _check(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()[:8]


def seal(secret: bytes, key: PublicKey, random: RandomSource) -> bytes:
    """Seal ``secret`` so that only the holder of ``key``'s private half can open it."""
    if len(secret) + 8 <= key.size // 8 - 11:
        return b"RS1" + _rsa_block(key, secret + _check(secret), random)
    aes_key, iv = random(32), random(16)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(secret) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padded) + encryptor.finalize()
    return b"RS2" + _rsa_block(key, aes_key + _check(secret), random) + iv + body


def unseal(blob: bytes, key: PrivateKey) -> bytes:
    """Open a sealed key with the principal's private key; :class:`SealError` if this
    key cannot open it."""
    size = key.public.size // 8
    tag, block = blob[:3], blob[3:3 + size]
    if tag not in (b"RS1", b"RS2") or len(block) != size:
        raise SealError(f"not a key sealed for a {key.bits}-bit key")
    # One failure, one message: whether the RSA padding or the check value gives it away
    # depends on the bytes, not on what went wrong (sealed for another key, or changed).
    not_ours = SealError(NOT_SEALED_FOR_THIS_KEY)
    try:
        opened = key._key.decrypt(block, padding.PKCS1v15())
    except ValueError:
        raise not_ours from None
    if tag == b"RS1":
        secret, check = opened[:-8], opened[-8:]
    else:
        rest = blob[3 + size:]
        if len(opened) != 40 or len(rest) < 32 or (len(rest) - 16) % 16:
            raise not_ours
        check = opened[32:]
        decryptor = Cipher(algorithms.AES(opened[:32]), modes.CBC(rest[:16])).decryptor()
        padded = decryptor.update(rest[16:]) + decryptor.finalize()
        unpadder = sym_padding.PKCS7(128).unpadder()
        try:
            secret = unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise not_ours from None
    if len(opened) < 8 or _check(secret) != check:
        raise not_ours
    return secret
