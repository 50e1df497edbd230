"""What is inside the RSA block of a pair of enabling bits, under each padding (issue 15,
attacks notebook; MS-RMPR 2.2.9.1.13; RFC 8017 7.1 and 7.2).

``ENABLINGBITS type="sealed-key"`` (cryptographic mode 1) puts the session key under the
recipient's RSA key with PKCS#1 v1.5 padding; ``type="sealed-key-v2"`` (mode 2) with OAEP.
:func:`padded_block` seals a session key with :mod:`rmslab.crypto.enabling_bits` itself —
the module's own encoders, with the lab's random bytes — and opens the RSA block with raw
RSA (``c^d mod n``, no padding check), so that the encoded block is seen exactly as the
holder of the private key sees it before any check runs. :class:`PaddedBlock` names its
parts and says which bytes anyone can predict without the key.

Why that matters (what a padding oracle learns, in principle):

* **PKCS#1 v1.5**: a conforming block starts ``00 02``, then at least eight nonzero random
  bytes, a ``00``, the message. Whoever can ask "does this ciphertext open to a
  conforming block?" learns, per answer, that a chosen multiple of the secret number lies
  in a known interval, and narrows it down to the message (Bleichenbacher, 1998) — an
  answer per ciphertext is all it takes, no key.
* **OAEP**: the block is ``00 ‖ maskedSeed ‖ maskedDB``; everything after the first byte
  is masked by MGF1 of a random seed, and opening checks the whole structure at once
  (lHash, the zero run, ``01``). An opener that gives one answer for every failure
  leaves nothing to narrow; an attack of the same kind (Manger, 2001) needs the opener
  to tell "the first byte is not 00" apart from the other failures.

Nothing here attacks anything: the blocks are built and read with their own keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rmslab.crypto import enabling_bits as eb
from rmslab.crypto.rsa import PrivateKey

__all__ = ["Segment", "PaddedBlock", "padded_block", "raw_rsa_open", "PKCS1_V15", "OAEP"]

PKCS1_V15 = "PKCS#1 v1.5"
OAEP = "OAEP (SHA-256, MGF1-SHA-256, empty label)"


@dataclass(frozen=True)
class Segment:
    """Part of an encoded block: where it lies, what it is, and whether anyone can
    predict its bytes without the private key."""

    start: int
    data: bytes
    name: str
    meaning: str
    predictable: bool

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def __str__(self) -> str:
        shown = self.data[:8].hex(" ") + (" …" if len(self.data) > 8 else "")
        mark = "known " if self.predictable else "hidden"
        return (f"{self.start:>4}–{self.end - 1:<4} {mark} {len(self.data):>3} bytes  "
                f"{self.name}: {self.meaning}  [{shown}]")


@dataclass(frozen=True)
class PaddedBlock:
    """The encoded block inside the RSA block of one pair of enabling bits."""

    bits_type: eb.EnablingBitsType
    padding: str
    key_bits: int
    block: bytes
    #: the parts of the block as it is after raw RSA
    segments: tuple[Segment, ...]
    #: for OAEP, the parts of DB once the masks are removed (which needs the block
    #: opened first, i.e. the private key); empty for PKCS#1 v1.5
    unmasked: tuple[Segment, ...] = ()

    @property
    def predictable_bytes(self) -> int:
        """How many bytes of the block, as the private key's holder first sees it, anyone
        could write down in advance."""
        return sum(len(s.data) for s in self.segments if s.predictable)

    def describe(self) -> list[str]:
        lines = [f"{self.bits_type.value}: {self.padding} in a {self.key_bits}-bit RSA block "
                 f"({len(self.block)} bytes); {self.predictable_bytes} of them predictable "
                 "without the key"]
        lines += [f"  {segment}" for segment in self.segments]
        if self.unmasked:
            lines.append("  inside maskedDB, once unmasked (needs the opened block):")
            lines += [f"    {segment}" for segment in self.unmasked]
        return lines


def raw_rsa_open(block: bytes, key: PrivateKey) -> bytes:
    """``block^d mod n`` as big-endian bytes of the modulus's length: the encoded block,
    before any padding is checked (MS-RMPR 2.2.9.1.13 choice 3: big-endian)."""
    numbers = key._key.private_numbers()
    size = key.public.size // 8
    return pow(int.from_bytes(block, "big"), numbers.d,
               numbers.public_numbers.n).to_bytes(size, "big")


def _mgf1_sha256(seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def _message_segments(start: int, message: bytes) -> list[Segment]:
    header = eb.KeyHeader.from_bytes(message)
    return [Segment(start, message[:eb.KEY_HEADER_SIZE], "session KeyHeader",
                    f"{header.algorithm.value}-{header.key_bits}, {header.cipher.label}: the same "
                    "12 bytes in every pair of bits", True),
            Segment(start + eb.KEY_HEADER_SIZE, message[eb.KEY_HEADER_SIZE:], "session key",
                    "the secret", False)]


def _pkcs1_segments(encoded: bytes) -> tuple[Segment, ...]:
    separator = encoded.index(0, 2)
    return (Segment(0, encoded[:1], "leading 00", "keeps the number below the modulus", True),
            Segment(1, encoded[1:2], "block type 02", "encryption, random padding", True),
            Segment(2, encoded[2:separator], "PS", f"{separator - 2} nonzero random bytes "
                    "(their length is fixed by the message's)", False),
            Segment(separator, encoded[separator:separator + 1], "separator 00",
                    "ends the padding", True),
            *_message_segments(separator + 1, encoded[separator + 1:]))


def _oaep_segments(encoded: bytes) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    h = hashlib.sha256().digest_size
    masked_seed, masked_db = encoded[1:1 + h], encoded[1 + h:]
    seed = _xor(masked_seed, _mgf1_sha256(masked_db, h))
    db = _xor(masked_db, _mgf1_sha256(seed, len(masked_db)))
    one = db.index(1, h)
    base = 1 + h
    outer = (Segment(0, encoded[:1], "leading 00", "keeps the number below the modulus", True),
             Segment(1, masked_seed, "maskedSeed", "a random seed under a mask drawn from DB",
                     False),
             Segment(base, masked_db, "maskedDB", "DB under a mask drawn from the seed: looks "
                     "random throughout", False))
    inner = (Segment(base, db[:h], "lHash", "SHA-256 of the empty label", True),
             Segment(base + h, db[h:one], "PS", f"{one - h} zero bytes", True),
             Segment(base + one, db[one:one + 1], "01", "ends the zeros", True),
             *_message_segments(base + one + 1, db[one + 1:]))
    return outer, inner


def padded_block(bits_type: eb.EnablingBitsType, key: PrivateKey,
                 random: eb.RandomSource) -> PaddedBlock:
    """Seal a content key to ``key`` with :mod:`rmslab.crypto.enabling_bits` (``bits_type``
    chooses the padding), open the RSA block raw, and name its parts."""
    bits = eb.seal_content_key(random(16), eb.CipherMode.ECB if bits_type.version == 1
                               else eb.CipherMode.CBC4K, to=key.public, bound_to="<ISSUER/>",
                               bits_type=bits_type, random=random)
    size = key.public.size // 8
    encoded = raw_rsa_open(bits[:size], key)
    if bits_type is eb.EnablingBitsType.SEALED_KEY:
        return PaddedBlock(bits_type, PKCS1_V15, key.public.size, encoded,
                           _pkcs1_segments(encoded))
    outer, inner = _oaep_segments(encoded)
    return PaddedBlock(bits_type, OAEP, key.public.size, encoded, outer, inner)
