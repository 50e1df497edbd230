"""Deterministic randomness and RSA keys for the lab (docs/architecture.md rule 2).

A :class:`Stream` is an HMAC-SHA256 counter-mode byte stream keyed by a seed and a
label: the same (seed, label) gives the same bytes on every machine and Python version.
:func:`derive_key` turns a stream into an RSA key by the textbook method — random odd
candidates with the top two bits set, trial division by small primes, then
Miller–Rabin with bases drawn from the same stream — so that a lab seed fixes every key.
The process does not depend on OpenSSL, so keys are identical everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from rmslab.crypto.rsa import PrivateKey

__all__ = ["Stream", "derive_key"]

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]
_SMALL_PRODUCT = 1
for _p in _SMALL_PRIMES:
    _SMALL_PRODUCT *= _p


class Stream:
    """A deterministic byte stream: HMAC-SHA256(seed, label ‖ counter) blocks."""

    __slots__ = ("_key", "_label", "_counter", "_buffer")

    def __init__(self, seed: int | bytes, label: str) -> None:
        seed_bytes = seed if isinstance(seed, bytes) else str(seed).encode("ascii")
        self._key = hashlib.sha256(b"rmslab-seed:" + seed_bytes).digest()
        self._label = label.encode("utf-8")
        self._counter = 0
        self._buffer = b""

    def position(self) -> tuple[int, str]:
        """Where the stream stands (to save a lab and resume it exactly)."""
        return self._counter, self._buffer.hex()

    def resume(self, counter: int, buffer_hex: str) -> None:
        self._counter = counter
        self._buffer = bytes.fromhex(buffer_hex)

    def read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            block = hmac.new(self._key, self._label + b"\x00" + self._counter.to_bytes(8, "big"),
                             hashlib.sha256).digest()
            self._counter += 1
            self._buffer += block
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def randbits(self, k: int) -> int:
        value = int.from_bytes(self.read((k + 7) // 8), "big")
        return value >> (-k % 8)

    def below(self, upper: int) -> int:
        """A uniform integer in [0, upper)."""
        k = upper.bit_length()
        while True:
            value = self.randbits(k)
            if value < upper:
                return value


def _is_probable_prime(n: int, stream: Stream, rounds: int) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = 2 + stream.below(n - 3)
        x = pow(a, d, n)
        if x == 1 or x == n - 1:
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, stream: Stream, e: int) -> int:
    # Rounds for an error below 2^-100 on random candidates (FIPS 186-5, table B.1).
    rounds = 5 if bits >= 1024 else 8
    while True:
        candidate = stream.randbits(bits) | (3 << (bits - 2)) | 1
        # step over small-prime multiples cheaply: search the next few odd numbers
        for offset in range(0, 2 * 512, 2):
            n = candidate + offset
            if n.bit_length() != bits:
                break
            if math.gcd(n, _SMALL_PRODUCT) != 1 or (n - 1) % e == 0:
                continue
            if _is_probable_prime(n, stream, rounds):
                return n


def derive_key(seed: int | bytes, label: str, bits: int) -> PrivateKey:
    """The RSA key (e = 65537) that ``seed`` and ``label`` fix, of exactly ``bits`` bits."""
    if bits % 2 or bits < 512:
        raise ValueError(f"key size {bits} is not supported")
    stream = Stream(seed, f"rsa-{bits}:{label}")
    e = 65537
    while True:
        p = _prime(bits // 2, stream, e)
        q = _prime(bits // 2, stream, e)
        if p != q and (p * q).bit_length() == bits:
            p, q = max(p, q), min(p, q)
            return PrivateKey.from_primes(p, q, e)
