"""RSA keys as XrML writes them, and the signature primitive of XrML 1.2.

docs/wire-format.md "Building blocks": ``PUBLICKEY`` has a decimal ``public-exponent`` and a base64
``modulus`` whose bytes are little-endian (CryptoAPI order). docs/wire-format.md "Signature": the
signature is RSA PKCS#1 v1.5 over SHA-1 or SHA-256 of the BODY text in UTF-16LE; the
signature bytes are big-endian.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from rmslab.errors import BadSignatureError, KeyFormatError

__all__ = ["DigestAlgorithm", "PublicKey", "PrivateKey", "surface_digest", "strict_b64decode"]

_PKCS1 = padding.PKCS1v15()
# OpenSSL key objects by (modulus, exponent): the same few issuer keys (CAs, clusters) sign
# most documents, and a reused key object verifies faster than a new one.
_KEY_OBJECTS: dict[tuple[int, int], rsa.RSAPublicKey] = {}
_KEY_OBJECTS_MAX = 1024
#: Signatures this process has verified, by (modulus, exponent, signature, digest,
#: algorithm): every license of one cluster carries the same certificates, whose
#: signatures are then checked once per process. Only successes are kept, and the key is
#: every input of the check, so nothing else can hit (bounded: emptied when full).
_VERIFIED: set[tuple[int, int, bytes, bytes, str]] = set()
_VERIFIED_MAX = 4096
_READ_KEYS: dict[tuple[str, str | int], "PublicKey"] = {}


class DigestAlgorithm(enum.Enum):
    """The two digest algorithms of XrML signatures: SHA1 (mode 1) and SHA256 (mode 2)."""

    SHA1 = "SHA1"
    SHA256 = "SHA256"

    @classmethod
    def from_name(cls, name: str) -> "DigestAlgorithm":
        known = _BY_NAME.get(name)
        if known is not None:
            return known
        normalised = name.strip().upper().replace("-", "")
        for member in cls:
            if member.value == normalised:
                return member
        raise KeyFormatError(f"unknown digest algorithm {name!r} (XrML uses SHA1 or SHA256)")

    @property
    def bits(self) -> int:
        return 160 if self is DigestAlgorithm.SHA1 else 256

    @property
    def mode(self) -> int:
        """The cryptographic mode this algorithm belongs to (1 or 2)."""
        return 1 if self is DigestAlgorithm.SHA1 else 2

    def _hash(self) -> hashes.HashAlgorithm:
        return hashes.SHA1() if self is DigestAlgorithm.SHA1 else hashes.SHA256()

    def _prehashed(self) -> utils.Prehashed:
        return _PREHASHED[self]


_PREHASHED = {alg: utils.Prehashed(alg._hash()) for alg in DigestAlgorithm}
_BY_NAME = {alg.value: alg for alg in DigestAlgorithm}  # as XrML writes them


def strict_b64decode(text: str) -> bytes:
    """Base64 as XrML writes it: only the base64 alphabet and padding, perhaps wrapped
    over several lines (whitespace is dropped). Raises ``binascii.Error``."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        stripped = "".join(text.split())
        if stripped == text:
            raise
        return binascii.a2b_base64(stripped, strict_mode=True)


def surface_digest(body_text: str, algorithm: DigestAlgorithm) -> bytes:
    """The surface-coding digest: the hash of the BODY characters as UTF-16LE, no BOM
    (docs/wire-format.md "Signature", steps 1–3)."""
    data = body_text.encode("utf-16-le")
    return (hashlib.sha1(data) if algorithm is DigestAlgorithm.SHA1
            else hashlib.sha256(data)).digest()


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key, comparable by value, convertible to and from the XrML form."""

    modulus: int
    exponent: int = 65537
    _cached: dict[str, object] = field(default_factory=dict, compare=False, repr=False,
                                       hash=False)

    @classmethod
    def from_xrml(cls, modulus_base64: str, exponent: str | int) -> "PublicKey":
        """Read the XrML encoding: base64 little-endian modulus, decimal exponent.

        A chain names each key twice (a certificate's principal, the next document's
        ISSUER): keys already read are reused (keys are values; this is a memo)."""
        memo = (modulus_base64, exponent)
        known = _READ_KEYS.get(memo)
        if known is not None:
            return known
        key = cls._read_xrml(modulus_base64, exponent)
        if len(_READ_KEYS) >= _KEY_OBJECTS_MAX:
            _READ_KEYS.clear()
        _READ_KEYS[memo] = key
        return key

    @classmethod
    def _read_xrml(cls, modulus_base64: str, exponent: str | int) -> "PublicKey":
        try:
            raw = strict_b64decode(modulus_base64)
        except (binascii.Error, ValueError) as exc:
            raise KeyFormatError(f"modulus is not valid base64: {exc}") from None
        if not raw:
            raise KeyFormatError("modulus is empty")
        try:
            e = int(str(exponent).strip())
        except ValueError:
            raise KeyFormatError(f"public exponent {exponent!r} is not a decimal integer") from None
        n = int.from_bytes(raw, "little")
        if n < 3 or e < 3 or e % 2 == 0:
            raise KeyFormatError("the RSA modulus or exponent is not usable")
        return cls(n, e)

    @classmethod
    def from_pem(cls, data: bytes) -> "PublicKey":
        """Read a PEM or DER public key (SubjectPublicKeyInfo or PKCS#1), e.g. an anchor
        key file."""
        loaders = (serialization.load_pem_public_key, serialization.load_der_public_key)
        for load in loaders:
            try:
                key = load(data)
            except (ValueError, TypeError):
                continue
            if isinstance(key, rsa.RSAPublicKey):
                numbers = key.public_numbers()
                return cls(numbers.n, numbers.e)
            raise KeyFormatError("the key file holds a key that is not RSA")
        raise KeyFormatError("the key file is neither a PEM nor a DER RSA public key")

    @property
    def bits(self) -> int:
        return self.modulus.bit_length()

    @property
    def size(self) -> int:
        """The size XrML states for this key: the modulus length in bits, rounded up to
        whole bytes."""
        return ((self.bits + 7) // 8) * 8

    @property
    def modulus_base64(self) -> str:
        """The modulus as XrML writes it: little-endian bytes, base64."""
        raw = self.modulus.to_bytes(self.size // 8, "little")
        return base64.b64encode(raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER SubjectPublicKeyInfo, hex — the key's stable name in
        rmslab's reports."""
        cached = self._cached.get("fingerprint")
        if cached is None:
            der = self._key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
            cached = hashlib.sha256(der).hexdigest()
            self._cached["fingerprint"] = cached
        return str(cached)

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:16]

    def to_pem(self) -> bytes:
        return self._key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)

    def to_pkcs1_der(self) -> bytes:
        """The RSA PKCS#1 DER encoding (RFC 8017) — what MS-RMPR's enrollment and
        template information carry, base64-encoded (3.4.4.2.3.1, 3.6.4.2.4.1)."""
        return self._key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.PKCS1)

    def _key(self) -> rsa.RSAPublicKey:
        key = self._cached.get("key")
        if key is None:
            numbers = (self.modulus, self.exponent)
            key = _KEY_OBJECTS.get(numbers)
            if key is None:
                try:
                    key = rsa.RSAPublicNumbers(self.exponent, self.modulus).public_key()
                except ValueError as exc:
                    raise KeyFormatError(f"not a usable RSA public key: {exc}") from None
                if len(_KEY_OBJECTS) >= _KEY_OBJECTS_MAX:
                    _KEY_OBJECTS.clear()
                _KEY_OBJECTS[numbers] = key
            self._cached["key"] = key
        assert isinstance(key, rsa.RSAPublicKey)
        return key

    def verify_digest(self, signature: bytes, digest: bytes,
                      algorithm: DigestAlgorithm) -> None:
        """Check an RSA PKCS#1 v1.5 signature over an already computed digest.

        Raises :class:`BadSignatureError`; returns nothing on success.
        """
        if len(digest) != algorithm.bits // 8:
            raise BadSignatureError(
                f"the stated {algorithm.value} digest is {len(digest)} bytes long, "
                f"not {algorithm.bits // 8}")
        checked = (self.modulus, self.exponent, bytes(signature), bytes(digest),
                   algorithm.value)
        if checked in _VERIFIED:
            return
        try:
            self._key().verify(signature, digest, _PKCS1, algorithm._prehashed())
        except InvalidSignature:
            raise BadSignatureError(
                f"the RSA signature does not match the stated digest under the issuer's "
                f"{self.bits}-bit key {self.short_fingerprint}") from None
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED.add(checked)

    def __repr__(self) -> str:
        return f"PublicKey(bits={self.bits}, fingerprint={self.short_fingerprint})"


class PrivateKey:
    """An RSA private key that signs XrML bodies. Built by :mod:`rmslab.crypto.keygen`
    (deterministic) or from numbers."""

    __slots__ = ("_key", "public")

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        numbers = key.public_key().public_numbers()
        self.public = PublicKey(numbers.n, numbers.e)

    @classmethod
    def from_primes(cls, p: int, q: int, e: int = 65537) -> "PrivateKey":
        n = p * q
        d = pow(e, -1, (p - 1) * (q - 1))
        numbers = rsa.RSAPrivateNumbers(
            p=p, q=q, d=d,
            dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q),
            iqmp=rsa.rsa_crt_iqmp(p, q),
            public_numbers=rsa.RSAPublicNumbers(e, n))
        return cls(numbers.private_key(unsafe_skip_rsa_key_validation=True))

    @classmethod
    def from_pem(cls, data: bytes) -> "PrivateKey":
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFormatError(f"not a PEM private key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFormatError("the private key is not RSA")
        return cls(key)

    @classmethod
    def from_der(cls, data: bytes, *, validate: bool = True) -> "PrivateKey":
        """Read a DER PKCS#8 private key. ``validate=False`` skips OpenSSL's slow
        consistency check — only for keys whose integrity is already established (a key
        unsealed from ENABLINGBITS, whose check value matched)."""
        try:
            key = serialization.load_der_private_key(
                data, password=None, unsafe_skip_rsa_key_validation=not validate)
        except (ValueError, TypeError) as exc:
            raise KeyFormatError(f"not a DER private key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFormatError("the private key is not RSA")
        return cls(key)

    def to_der(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.DER,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    @property
    def bits(self) -> int:
        return self.public.bits

    def sign_digest(self, digest: bytes, algorithm: DigestAlgorithm) -> bytes:
        """RSA PKCS#1 v1.5 signature of a digest (deterministic: no randomness)."""
        return self._key.sign(digest, _PKCS1, algorithm._prehashed())

    def to_pem(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    def __repr__(self) -> str:
        return f"PrivateKey(bits={self.bits}, fingerprint={self.public.short_fingerprint})"
