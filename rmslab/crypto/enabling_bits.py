"""ENABLINGBITS exactly as MS-RMPR 2.2.9.1.13: a key sealed to a principal's RSA key and
bound, by a hash, to the document it travels in.

The layout (MS-RMPR 2.2.9.1.13)::

    RawEnablingBits = KPublic(KeyHeader ‖ KSession)
                    ‖ KSession(UDEBHeader ‖ KeyHeader ‖ K ‖ Hash)

* ``KPublic(…)`` — one RSA block, as long as the recipient's modulus: PKCS#1 v1.5
  padding for ``type="sealed-key"``, OAEP for ``type="sealed-key-v2"``. It holds the
  session key behind its own 12-byte :class:`KeyHeader` (2.2.9.1.13.1).
* ``UDEBHeader`` — four little-endian DWORDs: dwVersion (1 for sealed-key, 2 for
  sealed-key-v2), dwcbSize (the bytes of ``KeyHeader ‖ K ‖ Hash``), two reserved zeros.
* ``KeyHeader ‖ K`` — the key being sent. Which key, under which public key, and which
  element of the document is hashed (the table of 2.2.9.1.13; :data:`BOUND_ELEMENT`):

  ====  ========================  ======================  ===============================
  doc   KPublic                   K                       Hash of
  ====  ========================  ======================  ===============================
  PL    licensor (server) key     content key             the PL's ISSUEDPRINCIPALS
  UL    RAC key                   content key             the UL's ISSUER
  CLC   RAC key                   CLC private key         the CLC's ISSUER
  RAC   security processor key    RAC private key         the RAC's ISSUER
  ====  ========================  ======================  ===============================

* ``Hash`` — SHA-1 (sealed-key) or SHA-256 (sealed-key-v2) of that element.

Choices where MS-RMPR leaves one open (made here and nowhere else):

1. **The session cipher** (2.2.9.1.13 names the session key but not its mode): AES in
   ECB mode. The session key's own KeyHeader says so — its C bit "MUST be set to 0 when
   the KeyHeader describes a session key" and E=1 means ECB (2.2.9.1.13.1). rmslab
   writes AES-128 session keys ("128 (the default)"), reads AES-128/192/256, and refuses
   DES session keys with :class:`UnsupportedSessionKeyError`, as an RMS server refuses
   them (3.5.4.1, ``CryptoUnsupportedSymKeyException``).
2. **Padding of the session-encrypted part**: zero bytes up to a whole AES block, and no
   block added when the data is already whole. The real documents show it: every
   mode-1 publishing and use license of the corpus with an AES-128 content key carries
   exactly 64 bytes there (16 + 12 + 16 + 20, no padding block), and every mode-2 one 80
   (76 filled to 80). dwcbSize tells a reader where the data ends; the fill is not
   checked (it always shares its block with hash bytes, so a change to it is seen).
3. **The RSA block's byte order**: big-endian (PKCS#1 I2OSP), as XrML's SIGNATURE
   values are. The corpus decides it: read big-endian, every real block is below its
   recipient's modulus; read little-endian, some are not (so they cannot be RSA
   outputs) — :func:`read_public_parts` shows it and the tests check it.
4. **OAEP's hash** (2.2.9.1.13 says only "OAEP padding"): SHA-256 with MGF1-SHA-256 and
   an empty label, the hash the same section gives sealed-key-v2. ``cryptography``
   draws its own OAEP seed, so the encoding (RFC 8017 7.1.1) is done here over raw RSA
   with the seed from the caller's byte source; opening uses ``cryptography``'s OAEP.
5. **Which bytes are hashed**: the element's exact characters as written in the
   document, from ``<`` of its start tag to ``>`` of its end tag, in UTF-16LE — the
   surface coding XrML signatures use (MS-RMPR 2.2.9.1.12, docs/wire-format.md "Signature"). For the
   PL the hashed ISSUEDPRINCIPALS contains the ENABLINGBITS themselves, which cannot be
   part of their own hash: the ENABLINGBITS element is cut out of the text first
   (:func:`publishing_license_binding`). This is also why a server "regenerates" the
   hash after validating it when it signs a PL (3.5.4.1, :func:`rebind`).
6. **Bit order of the KeyHeader Flags**: the diagram of 2.2.9.1.13.1 numbers bits from
   the most significant (bit 0), as Windows protocol documents draw 32-bit flags
   (MS-DTYP 2.4.3, ACCESS_MASK): A (bit 31) = 0x00000001, E (bit 19) = 0x00001000,
   C (bit 18) = 0x00002000 in the little-endian DWORD.
7. **KeyHeader fields**: keySizeInBytes holds the key size *in bits* (the field's text
   is a MUST, its name is not); blockSizeInBytes holds the cipher's block in bytes (16
   for AES, 8 for DES), as its name says (the text leaves it to the provider).
   Reserved is written as the cipher's value (0xFFFF ECB, 0xFFFD CBC4K with padding, …);
   Windows writes 0xFFFF whatever the cipher (note 5), so the reader takes ECB or CBC
   from the E and C flags and the CBC variant from Reserved.
8. **An RSA private key as K** (RAC and CLC): 2.2.9.1.13.1 describes only symmetric
   keys, so K is the CryptoAPI PRIVATEKEYBLOB (BLOBHEADER + RSAPUBKEY "RSA2" + the key's
   numbers, little-endian), whose own header names the algorithm and size, with no
   KeyHeader in front. The corpus lengths fit it exactly: a 1024-bit key with SHA-1 is
   16 + 596 + 20 = 632, filled to 640 (the real mode-1 CLCs carry 640); a 2048-bit key
   with SHA-256 is 16 + 1172 + 32 = 1220, filled to 1232 (the real mode-2 CLCs carry
   1232). A KeyHeader in front of a whole PRIVATEKEYBLOB would not fit mode 1 (656).

What the format detects and what it cannot. Opening checks the RSA padding, both
KeyHeaders, the UDEBHeader, dwcbSize against the length, the hash against the bound
element and, for an RSA private key, that its numbers agree (p·q = n, the CRT values, d).
ECB garbles exactly the 16-byte block a changed byte lies in, so a change anywhere is
detected unless its block holds nothing but symmetric key bytes: with an AES-192 or
AES-256 content key, bytes 32–47 of the session-encrypted part (the second block after
the UDEBHeader) are key only, and a change there opens to a different key, found out only
when the content fails to decrypt. The hash binds the key to an element of the document,
not to the key: it does not authenticate K.

Randomness (session key, padding, OAEP seed) comes from the caller's byte source (the
lab's deterministic stream), so sealed bits are byte-stable for a seed.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from typing import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rmslab.crypto.rsa import PrivateKey, PublicKey
from rmslab.errors import SealError

__all__ = [
    "RandomSource", "EnablingBitsType", "CipherMode", "KeyAlgorithm", "KeyHeader",
    "ContentKey", "OpenedBits", "PublicParts", "BOUND_ELEMENT",
    "EnablingBitsError", "NotSealedForThisKeyError", "MalformedEnablingBitsError",
    "EnablingBitsHashMismatchError", "UnsupportedSessionKeyError",
    "UnsupportedCipherError",
    "seal_content_key", "seal_private_key", "open_content_key", "open_private_key",
    "open_enabling_bits", "rebind", "binding_hash", "publishing_license_binding",
    "private_key_blob", "read_private_key_blob", "read_public_parts",
    "KEY_HEADER_SIZE", "UDEB_HEADER_SIZE",
]

RandomSource = Callable[[int], bytes]

KEY_HEADER_SIZE = 12
UDEB_HEADER_SIZE = 16
_AES_BLOCK = 16

#: The element of each document whose text the hash binds the key to (MS-RMPR
#: 2.2.9.1.13, table), as an ElementPath from ``XrML``. For the PL, the ENABLINGBITS
#: element is cut out of the text first (:func:`publishing_license_binding`).
BOUND_ELEMENT: dict[str, str] = {
    "publishing license": "BODY/ISSUEDPRINCIPALS",
    "use license": "BODY/ISSUER",
    "client licensor certificate": "BODY/ISSUER",
    "rights account certificate": "BODY/ISSUER",
}


# --- errors -------------------------------------------------------------------------------


class EnablingBitsError(SealError):
    """The enabling bits cannot be opened (MS-RMPR 2.2.9.1.13). A :class:`SealError`, so
    callers that catch sealed-key failures catch these too."""

    #: The exception name MS-RMPR gives this refusal, when it gives one.
    exception_name: str | None = None


class NotSealedForThisKeyError(EnablingBitsError):
    """The RSA block does not open with this private key: the bits were sealed to
    another principal, or the block was changed."""


class MalformedEnablingBitsError(EnablingBitsError):
    """The bits open but break the layout of 2.2.9.1.13: a header, a size or a key that
    is not what the section says (the bits were changed, or were never well formed)."""


class EnablingBitsHashMismatchError(EnablingBitsError):
    """The hash inside the bits is not the hash of the element they are bound to: they
    were moved from another document, or that element was changed (MS-RMPR 3.5.4.1)."""

    # 3.5.4.1 spells it with Microsoft.DigitalRightsManagement in its text and with
    # Microsoft.RightsManagementServices in its fault table; the text's form is used.
    exception_name = "Microsoft.DigitalRightsManagement.EnablingBitsHashDoesNotMatchException"


class UnsupportedSessionKeyError(EnablingBitsError):
    """The session key is a DES key, which an RMS server refuses (MS-RMPR 3.5.4.1)."""

    exception_name = ("Microsoft.DigitalRightsManagement.Cryptography."
                      "CryptoUnsupportedSymKeyException")


class UnsupportedCipherError(EnablingBitsError):
    """The KeyHeader names a content cipher rmslab cannot run (CBC4K without padding,
    CBC512, or DES)."""


# --- types, ciphers, key headers -------------------------------------------------------------


class EnablingBitsType(enum.Enum):
    """``ENABLINGBITS/@type``: the version of the bits (2.2.9.1.13; 3.1.4.7 ties them to
    the cryptographic modes)."""

    SEALED_KEY = "sealed-key"
    SEALED_KEY_V2 = "sealed-key-v2"

    @classmethod
    def for_mode(cls, mode: int) -> "EnablingBitsType":
        """The type of cryptographic mode 1 or 2 (MS-RMPR 3.1.4.7)."""
        if mode not in (1, 2):
            raise ValueError("the cryptographic mode is 1 or 2")
        return cls.SEALED_KEY if mode == 1 else cls.SEALED_KEY_V2

    @classmethod
    def from_attribute(cls, value: str) -> "EnablingBitsType":
        try:
            return cls(value)
        except ValueError:
            raise MalformedEnablingBitsError(
                f"ENABLINGBITS type {value!r} is neither 'sealed-key' nor 'sealed-key-v2' "
                "(MS-RMPR 2.2.9.1.13)") from None

    @property
    def version(self) -> int:
        """The UDEBHeader's dwVersion."""
        return 1 if self is EnablingBitsType.SEALED_KEY else 2

    @property
    def hash_size(self) -> int:
        return 20 if self is EnablingBitsType.SEALED_KEY else 32

    @property
    def hash_name(self) -> str:
        return "SHA-1" if self is EnablingBitsType.SEALED_KEY else "SHA-256"

    def digest(self, data: bytes) -> bytes:
        return (hashlib.sha1(data) if self is EnablingBitsType.SEALED_KEY
                else hashlib.sha256(data)).digest()

    def _padding(self) -> padding.AsymmetricPadding:
        if self is EnablingBitsType.SEALED_KEY:
            return padding.PKCS1v15()
        return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                            algorithm=hashes.SHA256(), label=None)


class CipherMode(enum.Enum):
    """The cipher a KeyHeader names, by the value of its Reserved field
    (MS-RMPR 2.2.9.1.13.1)."""

    ECB = 0xFFFF
    CBC4K_NO_PADDING = 0xFFFE
    CBC4K = 0xFFFD  # "CBC4K With Padding": rmslab's mode-2 content cipher
    CBC512_NO_PADDING = 0xFFFC

    @property
    def label(self) -> str:
        return {CipherMode.ECB: "ECB", CipherMode.CBC4K_NO_PADDING: "CBC4K (no padding)",
                CipherMode.CBC4K: "CBC4K (with padding)",
                CipherMode.CBC512_NO_PADDING: "CBC512 (no padding)"}[self]

    @property
    def content_mode(self) -> int:
        """The mode number :class:`rmslab.crypto.content.ContentCipher` takes for this
        cipher: 1 for AES-ECB, 2 for AES-CBC4K."""
        if self is CipherMode.ECB:
            return 1
        if self is CipherMode.CBC4K:
            return 2
        raise UnsupportedCipherError(f"rmslab cannot decrypt content in {self.label}")


class KeyAlgorithm(enum.Enum):
    AES = "AES"
    DES = "DES"


FLAG_AES = 0x00000001   # A, bit 31 of the diagram
FLAG_ECB = 0x00001000   # E, bit 19
FLAG_CBC = 0x00002000   # C, bit 18
_KNOWN_FLAGS = FLAG_AES | FLAG_ECB | FLAG_CBC
_AES_BITS = (128, 192, 256)
_DES_BITS = 56
_DES_KEY_BYTES = 8  # 56 key bits with their parity bits


@dataclass(frozen=True)
class KeyHeader:
    """The 12-byte KeyHeader of MS-RMPR 2.2.9.1.13.1, in front of a symmetric key."""

    blob_size: int
    reserved: int
    key_bits: int
    block_size: int
    flags: int

    # --- building ---------------------------------------------------------------------
    @classmethod
    def for_key(cls, key: bytes, cipher: CipherMode,
                algorithm: KeyAlgorithm = KeyAlgorithm.AES) -> "KeyHeader":
        """The header of ``key`` used with ``cipher``."""
        if algorithm is KeyAlgorithm.AES:
            if len(key) * 8 not in _AES_BITS:
                raise ValueError("AES keys are 16, 24 or 32 bytes")
            bits, block, flags = len(key) * 8, 16, FLAG_AES
        else:
            if len(key) != _DES_KEY_BYTES:
                raise ValueError("DES keys are 8 bytes")
            bits, block, flags = _DES_BITS, 8, 0
        flags |= FLAG_ECB if cipher is CipherMode.ECB else FLAG_CBC
        return cls(KEY_HEADER_SIZE + len(key), cipher.value, bits, block, flags)

    @classmethod
    def for_session_key(cls, key: bytes) -> "KeyHeader":
        """The header of a session key: AES, ECB (C MUST be 0 for a session key)."""
        return cls.for_key(key, CipherMode.ECB)

    def to_bytes(self) -> bytes:
        return struct.pack("<HHHHI", self.blob_size, self.reserved, self.key_bits,
                           self.block_size, self.flags)

    # --- reading ------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> "KeyHeader":
        """Read and check a KeyHeader; :class:`MalformedEnablingBitsError` names the field
        that breaks 2.2.9.1.13.1."""
        if len(data) < KEY_HEADER_SIZE:
            raise MalformedEnablingBitsError("a KeyHeader is 12 bytes (MS-RMPR 2.2.9.1.13.1)")
        header = cls(*struct.unpack("<HHHHI", data[:KEY_HEADER_SIZE]))
        header._check()
        return header

    def _check(self) -> None:
        def bad(what: str) -> MalformedEnablingBitsError:
            return MalformedEnablingBitsError(f"KeyHeader: {what} (MS-RMPR 2.2.9.1.13.1)")
        if self.reserved not in {c.value for c in CipherMode}:
            raise bad(f"Reserved is 0x{self.reserved:04X}, not a cipher mode value")
        if self.flags & ~_KNOWN_FLAGS:
            raise bad(f"Flags 0x{self.flags:08X} set bits the section defines as 0")
        ecb, cbc = bool(self.flags & FLAG_ECB), bool(self.flags & FLAG_CBC)
        if ecb == cbc:
            raise bad("Flags must set exactly one of E (ECB) and C (CBC)")
        if ecb and self.reserved != CipherMode.ECB.value:
            raise bad("Flags say ECB but Reserved names a CBC mode")
        if self.algorithm is KeyAlgorithm.AES:
            if self.key_bits not in _AES_BITS or self.block_size != 16:
                raise bad(f"an AES key of {self.key_bits} bits, block {self.block_size}")
        elif self.key_bits != _DES_BITS or self.block_size != 8:
            raise bad(f"a DES key of {self.key_bits} bits, block {self.block_size}")
        if self.blob_size != KEY_HEADER_SIZE + self.key_bytes:
            raise bad(f"BlobSize {self.blob_size} is not 12 + {self.key_bytes}")

    @property
    def algorithm(self) -> KeyAlgorithm:
        """Flag A: AES when set, DES when clear."""
        return KeyAlgorithm.AES if self.flags & FLAG_AES else KeyAlgorithm.DES

    @property
    def key_bytes(self) -> int:
        return _DES_KEY_BYTES if self.algorithm is KeyAlgorithm.DES else self.key_bits // 8

    @property
    def cipher(self) -> CipherMode:
        """The cipher this header names: ECB when flag E is set; with flag C, the CBC
        variant Reserved names — and CBC4K with padding when Reserved is 0xFFFF, which
        Windows writes whatever the cipher (MS-RMPR 2.2.9.1.13.1, note 5)."""
        if self.flags & FLAG_ECB:
            return CipherMode.ECB
        if self.reserved == CipherMode.ECB.value:
            return CipherMode.CBC4K
        return CipherMode(self.reserved)

    def describe(self) -> str:
        return (f"BlobSize {self.blob_size}, Reserved 0x{self.reserved:04X}, "
                f"keySize {self.key_bits}, blockSize {self.block_size}, "
                f"Flags 0x{self.flags:08X} ({self.algorithm.value}, {self.cipher.label})")


@dataclass(frozen=True)
class ContentKey:
    """A symmetric content key and its KeyHeader: the header says the cipher, so take it
    from here, never from the cryptographic mode (MS-RMPR 2.2.9.1.13.1)."""

    key: bytes
    header: KeyHeader

    @property
    def cipher(self) -> CipherMode:
        return self.header.cipher

    @property
    def content_mode(self) -> int:
        """1 (AES-ECB) or 2 (AES-CBC4K), for :class:`rmslab.crypto.content.ContentCipher`."""
        if self.header.algorithm is not KeyAlgorithm.AES or self.header.key_bits != 128:
            raise UnsupportedCipherError(
                f"rmslab decrypts content with AES-128 keys, not "
                f"{self.header.algorithm.value}-{self.header.key_bits}")
        return self.cipher.content_mode


# --- RSA private keys as PRIVATEKEYBLOB ------------------------------------------------------

_PRIVATEKEYBLOB = 0x07
_CUR_BLOB_VERSION = 0x02
_CALG_RSA_KEYX = 0x0000A400
_RSA2 = 0x32415352  # "RSA2"


def private_key_blob(key: PrivateKey) -> bytes:
    """``key`` as a CryptoAPI PRIVATEKEYBLOB: BLOBHEADER, RSAPUBKEY, then modulus, p, q,
    dp, dq, q⁻¹ mod p and d, little-endian (choice 8 of the module docstring)."""
    numbers = key._key.private_numbers()
    public = numbers.public_numbers
    bits = public.n.bit_length()
    size = (bits + 7) // 8
    half = (size + 1) // 2
    header = struct.pack("<BBHI", _PRIVATEKEYBLOB, _CUR_BLOB_VERSION, 0, _CALG_RSA_KEYX)
    rsapubkey = struct.pack("<III", _RSA2, size * 8, public.e)
    try:
        parts = [public.n.to_bytes(size, "little")]
        parts += [value.to_bytes(half, "little") for value in
                  (numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp)]
        parts.append(numbers.d.to_bytes(size, "little"))
    except OverflowError:
        raise ValueError("the key's primes are not of half its size") from None
    return header + rsapubkey + b"".join(parts)


def _blob_size(bits: int) -> int:
    size = bits // 8
    return 20 + size + 5 * ((size + 1) // 2) + size


def read_private_key_blob(data: bytes) -> PrivateKey:
    """Read a PRIVATEKEYBLOB, checking every field and that the numbers agree (so that a
    changed byte anywhere in it is found)."""
    def bad(what: str) -> MalformedEnablingBitsError:
        return MalformedEnablingBitsError(f"the sealed RSA private key: {what}")
    if len(data) < 20:
        raise bad("too short for a PRIVATEKEYBLOB")
    b_type, version, reserved, alg = struct.unpack("<BBHI", data[:8])
    magic, bits, e = struct.unpack("<III", data[8:20])
    if (b_type, version, reserved, alg, magic) != (_PRIVATEKEYBLOB, _CUR_BLOB_VERSION, 0,
                                                   _CALG_RSA_KEYX, _RSA2):
        raise bad("the BLOBHEADER or RSAPUBKEY is not that of an RSA key-exchange key")
    if bits % 8 or not 512 <= bits <= 16384 or len(data) != _blob_size(bits):
        raise bad(f"{len(data)} bytes do not hold a {bits}-bit key")
    size, half = bits // 8, (bits // 8 + 1) // 2
    at = 20
    values = []
    for length in (size, half, half, half, half, half, size):
        values.append(int.from_bytes(data[at:at + length], "little"))
        at += length
    n, p, q, dp, dq, qinv, d = values
    consistent = (
        n.bit_length() == bits and p > 1 and q > 1 and p * q == n
        and e >= 3 and e % 2 == 1
        and dp == d % (p - 1) and dq == d % (q - 1) and (qinv * q) % p == 1
        and (e * d) % (p - 1) == 1 and (e * d) % (q - 1) == 1)
    if not consistent:
        raise bad("its numbers do not agree (modulus, primes, exponents)")
    private = rsa.RSAPrivateNumbers(p=p, q=q, d=d, dmp1=dp, dmq1=dq, iqmp=qinv,
                                    public_numbers=rsa.RSAPublicNumbers(e, n))
    return PrivateKey(private.private_key(unsafe_skip_rsa_key_validation=True))


# --- RSA encryption with the caller's randomness -------------------------------------------


def _mgf1_sha256(seed: bytes, length: int) -> bytes:
    out = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
                   for i in range((length + 31) // 32))
    return out[:length]


def _oaep_encode(message: bytes, size: int, random: RandomSource) -> bytes:
    """EME-OAEP encoding, SHA-256 and MGF1-SHA-256, empty label (RFC 8017 7.1.1)."""
    h = 32
    if len(message) > size - 2 * h - 2:
        raise ValueError("the session key does not fit one OAEP block of this key")
    db = (hashlib.sha256(b"").digest() + bytes(size - len(message) - 2 * h - 2) + b"\x01"
          + message)
    seed = random(h)
    masked_db = bytes(a ^ b for a, b in zip(db, _mgf1_sha256(seed, size - h - 1)))
    masked_seed = bytes(a ^ b for a, b in zip(seed, _mgf1_sha256(masked_db, h)))
    return b"\x00" + masked_seed + masked_db


def _pkcs1_v15_encode(message: bytes, size: int, random: RandomSource) -> bytes:
    """EME-PKCS1-v1_5 encoding (RFC 8017 7.2.1): nonzero random padding."""
    pad_length = size - 3 - len(message)
    if pad_length < 8:
        raise ValueError("the session key does not fit one PKCS#1 block of this key")
    pad = bytearray()
    while len(pad) < pad_length:
        pad.extend(b for b in random(pad_length - len(pad)) if b)
    return b"\x00\x02" + bytes(pad) + b"\x00" + message


def _rsa_encrypt(message: bytes, key: PublicKey, bits_type: EnablingBitsType,
                 random: RandomSource) -> bytes:
    size = key.size // 8
    encode = _pkcs1_v15_encode if bits_type is EnablingBitsType.SEALED_KEY else _oaep_encode
    encoded = int.from_bytes(encode(message, size, random), "big")
    return pow(encoded, key.exponent, key.modulus).to_bytes(size, "big")


# --- sealing -----------------------------------------------------------------------------


def binding_hash(bound_text: str, bits_type: EnablingBitsType) -> bytes:
    """The hash that binds bits to their document: SHA-1 or SHA-256 of the bound
    element's exact text in UTF-16LE (choice 5 of the module docstring)."""
    return bits_type.digest(bound_text.encode("utf-16-le"))


_ENABLINGBITS_ELEMENT = re.compile(r"<ENABLINGBITS[\s>].*?</ENABLINGBITS\s*>", re.DOTALL)


def publishing_license_binding(issued_principals_text: str) -> str:
    """The text a PL's hash covers: its ISSUEDPRINCIPALS element exactly as written, with
    the one ENABLINGBITS element inside it cut out (choice 5). Text without ENABLINGBITS
    (the element before the bits are written into it) is returned as it is."""
    found = _ENABLINGBITS_ELEMENT.findall(issued_principals_text)
    if len(found) > 1:
        raise MalformedEnablingBitsError(
            "the ISSUEDPRINCIPALS of a publishing license holds one ENABLINGBITS element, "
            f"not {len(found)} (MS-RMPR 2.2.9.7.4)")
    return _ENABLINGBITS_ELEMENT.sub("", issued_principals_text)


def _round_up(length: int) -> int:
    return -(-length // _AES_BLOCK) * _AES_BLOCK


def _whole_blocks(data: bytes) -> bytes:
    return data + bytes(-len(data) % _AES_BLOCK)


def _ecb(key: bytes) -> Cipher[modes.ECB]:
    return Cipher(algorithms.AES(key), modes.ECB())


def _seal(payload: bytes, to: PublicKey, bound_to: str, bits_type: EnablingBitsType,
          random: RandomSource) -> bytes:
    session_key = random(16)
    session_header = KeyHeader.for_session_key(session_key)
    block = _rsa_encrypt(session_header.to_bytes() + session_key, to, bits_type, random)
    return block + _session_part(session_key, payload, bound_to, bits_type)


def _session_part(session_key: bytes, payload: bytes, bound_to: str,
                  bits_type: EnablingBitsType) -> bytes:
    hashed = payload + binding_hash(bound_to, bits_type)
    udeb = struct.pack("<IIII", bits_type.version, len(hashed), 0, 0)
    encryptor = _ecb(session_key).encryptor()
    return encryptor.update(_whole_blocks(udeb + hashed)) + encryptor.finalize()


def seal_content_key(key: bytes, cipher: CipherMode, *, to: PublicKey, bound_to: str,
                     bits_type: EnablingBitsType, random: RandomSource) -> bytes:
    """Raw ENABLINGBITS carrying an AES content key for the holder of ``to``'s private
    key, bound to ``bound_to`` (the exact text of the element of :data:`BOUND_ELEMENT`;
    for a PL, :func:`publishing_license_binding` of it). MS-RMPR 2.2.9.1.13."""
    return _seal(KeyHeader.for_key(key, cipher).to_bytes() + key, to, bound_to, bits_type,
                 random)


def seal_private_key(key: PrivateKey, *, to: PublicKey, bound_to: str,
                     bits_type: EnablingBitsType, random: RandomSource) -> bytes:
    """Raw ENABLINGBITS carrying an RSA private key (a CLC's or a RAC's) for the holder of
    ``to``'s private key, bound to the document's ISSUER text. MS-RMPR 2.2.9.1.13."""
    return _seal(private_key_blob(key), to, bound_to, bits_type, random)


# --- opening ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedBits:
    """Everything inside a pair of enabling bits, for reading and teaching."""

    bits_type: EnablingBitsType
    session_header: KeyHeader
    session_key: bytes
    payload: bytes          # KeyHeader ‖ K, or a PRIVATEKEYBLOB
    hash: bytes

    @property
    def content_key(self) -> ContentKey | None:
        """The content key, when the payload is a KeyHeader and a symmetric key."""
        if self.payload[:2] == bytes((_PRIVATEKEYBLOB, _CUR_BLOB_VERSION)):
            return None
        header = KeyHeader.from_bytes(self.payload)
        key = self.payload[KEY_HEADER_SIZE:]
        if len(key) != header.key_bytes:
            raise MalformedEnablingBitsError(
                f"the KeyHeader announces {header.key_bytes} key bytes, {len(key)} follow")
        return ContentKey(key, header)

    def matches(self, bound_text: str) -> bool:
        return hmac.compare_digest(self.hash, binding_hash(bound_text, self.bits_type))


def open_enabling_bits(bits: bytes, key: PrivateKey,
                       bits_type: EnablingBitsType) -> OpenedBits:
    """Open the bits with the recipient's private key and check their layout, without
    checking the binding hash (see :func:`open_content_key`, :func:`open_private_key`)."""
    size = key.public.size // 8
    block, rest = bits[:size], bits[size:]
    if len(block) != size or not rest or len(rest) % _AES_BLOCK:
        raise MalformedEnablingBitsError(
            f"{len(bits)} bytes are not one {size * 8}-bit RSA block followed by whole "
            "AES blocks: not sealed to a key of this size, or cut (MS-RMPR 2.2.9.1.13)")
    not_ours = NotSealedForThisKeyError(
        f"the enabling bits were not sealed to this {key.bits}-bit key, or were changed")
    try:
        opened = key._key.decrypt(block, bits_type._padding())
    except ValueError:
        raise not_ours from None
    try:  # PKCS#1 v1.5 with the wrong key yields random bytes (implicit rejection)
        session_header = KeyHeader.from_bytes(opened)
    except MalformedEnablingBitsError:
        raise not_ours from None
    if len(opened) != session_header.blob_size:
        raise not_ours
    if session_header.algorithm is KeyAlgorithm.DES:
        raise UnsupportedSessionKeyError(
            "the session key is a DES key; RMS refuses DES session keys "
            f"(MS-RMPR 3.5.4.1, {UnsupportedSessionKeyError.exception_name})")
    if session_header.cipher is not CipherMode.ECB:
        raise MalformedEnablingBitsError(
            "the session key's KeyHeader sets C; it MUST be 0 for a session key "
            "(MS-RMPR 2.2.9.1.13.1)")
    session_key = opened[KEY_HEADER_SIZE:]
    decryptor = _ecb(session_key).decryptor()
    plain = decryptor.update(rest) + decryptor.finalize()
    version, size_field, reserved1, reserved2 = struct.unpack("<IIII", plain[:UDEB_HEADER_SIZE])
    if version != bits_type.version:
        raise MalformedEnablingBitsError(
            f"UDEBHeader dwVersion is {version}, not {bits_type.version} as "
            f"type '{bits_type.value}' requires (MS-RMPR 2.2.9.1.13)")
    if reserved1 or reserved2:
        raise MalformedEnablingBitsError("UDEBHeader dwReserved1 and dwReserved2 MUST be 0 "
                                         "(MS-RMPR 2.2.9.1.13)")
    if (size_field <= bits_type.hash_size
            or _round_up(UDEB_HEADER_SIZE + size_field) != len(plain)):
        raise MalformedEnablingBitsError(
            f"UDEBHeader dwcbSize {size_field} does not fit the {len(plain)} bytes that "
            "follow the RSA block (MS-RMPR 2.2.9.1.13)")
    data = plain[UDEB_HEADER_SIZE:UDEB_HEADER_SIZE + size_field]
    return OpenedBits(bits_type, session_header, session_key,
                      data[:-bits_type.hash_size], data[-bits_type.hash_size:])


def _check_binding(opened: OpenedBits, bound_to: str) -> None:
    if not opened.matches(bound_to):
        raise EnablingBitsHashMismatchError(
            f"the {opened.bits_type.hash_name} hash in the enabling bits is not the hash of "
            "the element they are bound to: they were moved from another document, or the "
            f"element was changed (MS-RMPR 2.2.9.1.13, 3.5.4.1: "
            f"{EnablingBitsHashMismatchError.exception_name})")


def open_content_key(bits: bytes, key: PrivateKey, *, bound_to: str,
                     bits_type: EnablingBitsType) -> ContentKey:
    """The content key in ``bits`` (a PL's or a UL's), after checking layout and binding.
    ``bound_to`` is the bound element's exact text (:data:`BOUND_ELEMENT`; for a PL,
    :func:`publishing_license_binding` of it)."""
    opened = open_enabling_bits(bits, key, bits_type)
    content = opened.content_key
    if content is None:
        raise MalformedEnablingBitsError("the enabling bits hold an RSA private key, not a "
                                         "content key")
    _check_binding(opened, bound_to)
    return content


def open_private_key(bits: bytes, key: PrivateKey, *, bound_to: str,
                     bits_type: EnablingBitsType,
                     expected: PublicKey | None = None) -> PrivateKey:
    """The RSA private key in ``bits`` (a CLC's or a RAC's), after checking layout,
    binding and — when ``expected`` is given — that it is the private half of the key
    the certificate issues."""
    opened = open_enabling_bits(bits, key, bits_type)
    if opened.content_key is not None:
        raise MalformedEnablingBitsError("the enabling bits hold a content key, not an RSA "
                                         "private key")
    private = read_private_key_blob(opened.payload)
    _check_binding(opened, bound_to)
    if expected is not None and private.public != expected:
        raise MalformedEnablingBitsError("the sealed private key is not the private half of "
                                         "the key the certificate issues")
    return private


def rebind(bits: bytes, key: PrivateKey, *, bound_to: str, now_bound_to: str,
           bits_type: EnablingBitsType) -> bytes:
    """What an RMS server does to a PL it signs (MS-RMPR 3.5.4.1): validate the hash
    against the element as the client wrote it, then regenerate it for the element as
    the server writes it. The RSA block and session key are kept."""
    opened = open_enabling_bits(bits, key, bits_type)
    _check_binding(opened, bound_to)
    size = key.public.size // 8
    return bits[:size] + _session_part(opened.session_key, opened.payload, now_bound_to,
                                       bits_type)


# --- what anyone can read --------------------------------------------------------------------


@dataclass(frozen=True)
class PublicParts:
    """What a pair of enabling bits shows without the recipient's private key: sizes, and
    which payloads those sizes fit. The KeyHeader's Reserved and Flags (the content
    cipher), the key and the hash are under the session key, which only the private key
    opens."""

    bits_type: EnablingBitsType
    total_bytes: int
    rsa_block_bytes: int
    session_part_bytes: int
    #: whether the RSA block, read big-endian / little-endian, is below the recipient's
    #: modulus (an RSA output must be); None without the recipient's key
    below_modulus_big_endian: bool | None
    below_modulus_little_endian: bool | None
    #: the payloads whose layout gives exactly this length
    fits: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"type {self.bits_type.value}: {self.total_bytes} bytes = "
                 f"{self.rsa_block_bytes}-byte RSA block "
                 f"({'PKCS#1 v1.5' if self.bits_type is EnablingBitsType.SEALED_KEY else 'OAEP'}"
                 f") + {self.session_part_bytes} bytes under the session key"]
        if self.below_modulus_big_endian is not None:
            lines.append(f"RSA block below the modulus read big-endian: "
                         f"{self.below_modulus_big_endian}; little-endian: "
                         f"{self.below_modulus_little_endian}")
        lines.append("fits: " + ("; ".join(self.fits) if self.fits else "nothing known"))
        lines.append("hidden without the private key: the content KeyHeader's Reserved and "
                     "Flags (ECB or CBC4K), the key, the hash")
        return "\n".join(lines)


_CONTENT_KEYS = ((KeyAlgorithm.DES, _DES_KEY_BYTES), (KeyAlgorithm.AES, 16),
                 (KeyAlgorithm.AES, 24), (KeyAlgorithm.AES, 32))
_RSA_SIZES = (1024, 2048, 3072, 4096)


def _fits(session_part: int, bits_type: EnablingBitsType) -> tuple[str, ...]:
    fits = []
    for algorithm, key_bytes in _CONTENT_KEYS:
        used = UDEB_HEADER_SIZE + KEY_HEADER_SIZE + key_bytes + bits_type.hash_size
        if _round_up(used) == session_part:
            name = "DES-56" if algorithm is KeyAlgorithm.DES else f"AES-{key_bytes * 8}"
            fits.append(f"{name} content key (KeyHeader BlobSize {KEY_HEADER_SIZE + key_bytes}"
                        f", {session_part - used} fill bytes)")
    for rsa_bits in _RSA_SIZES:
        used = UDEB_HEADER_SIZE + _blob_size(rsa_bits) + bits_type.hash_size
        if _round_up(used) == session_part:
            fits.append(f"{rsa_bits}-bit RSA private key (PRIVATEKEYBLOB, "
                        f"{session_part - used} fill bytes)")
    return tuple(fits)


def read_public_parts(bits: bytes, bits_type: EnablingBitsType,
                      recipient: PublicKey | None = None) -> PublicParts:
    """Read what the bits show to anyone (MS-RMPR 2.2.9.1.13): the RSA block's size
    (the recipient's modulus size, or the first size that leaves whole AES blocks with a
    known fit), the session part's size and the payloads it fits."""
    sizes = ([recipient.size // 8] if recipient is not None
             else [s // 8 for s in _RSA_SIZES])
    for size in sizes:
        rest = len(bits) - size
        if rest > 0 and rest % _AES_BLOCK == 0 and (recipient is not None
                                                     or _fits(rest, bits_type)):
            break
    else:
        raise MalformedEnablingBitsError(
            f"{len(bits)} bytes are not an RSA block followed by whole AES blocks")
    big = little = None
    if recipient is not None:
        block = bits[:size]
        big = int.from_bytes(block, "big") < recipient.modulus
        little = int.from_bytes(block, "little") < recipient.modulus
    return PublicParts(bits_type, len(bits), size, rest, big, little, _fits(rest, bits_type))
