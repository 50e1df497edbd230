"""The lab: the one source of time, keys, GUIDs and random bytes (docs/architecture.md rule 2).

``Lab(seed=…, at=…)`` is deterministic: the same seed and time give byte-identical
documents on every machine. Keys are derived from the seed and a label
(:func:`rmslab.crypto.keygen.derive_key`); derivation takes tenths of a second per
2048-bit key in pure Python, so derived keys are kept in a cache — the package ships
those of the default seed, and a user cache (``$RMSLAB_CACHE`` or
``~/.cache/rmslab``) keeps the others. A cached key is checked against its label and
size before use.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from rmslab.crypto.keygen import Stream, derive_key
from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey

__all__ = ["Lab", "DEFAULT_SEED", "DEFAULT_TIME", "ship_keys"]

DEFAULT_SEED = 0
DEFAULT_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

_MEMORY: dict[tuple[str, str, int], PrivateKey] = {}


def _parse_at(at: datetime | str) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).replace(second=0, microsecond=0)


def _cache_dirs() -> list[Path]:
    dirs = []
    shipped = resources.files("rmslab") / "data" / "keys"
    dirs.append(Path(str(shipped)))
    user = os.environ.get("RMSLAB_CACHE")
    dirs.append(Path(user) if user else Path.home() / ".cache" / "rmslab" / "keys")
    return dirs


def _cache_name(seed: str, label: str, bits: int) -> str:
    return hashlib.sha256(f"{seed}\x00{label}\x00{bits}".encode()).hexdigest()[:32] + ".key"


def _load_cached(seed: str, label: str, bits: int) -> PrivateKey | None:
    name = _cache_name(seed, label, bits)
    for directory in _cache_dirs():
        path = directory / name
        try:
            lines = path.read_text(encoding="ascii").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        if len(lines) != 5 or lines[:3] != [seed, label, str(bits)]:
            continue
        try:
            p, q = int(lines[3], 16), int(lines[4], 16)
        except ValueError:
            continue
        if (p * q).bit_length() == bits:
            return PrivateKey.from_primes(p, q)
    return None


def _store_cached(seed: str, label: str, bits: int, key: PrivateKey, directory: Path) -> None:
    numbers = key._key.private_numbers()
    text = f"{seed}\n{label}\n{bits}\n{numbers.p:x}\n{numbers.q:x}\n"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        os.replace(tmp, directory / _cache_name(seed, label, bits))
    except OSError:
        pass  # a cache that cannot be written only costs time


class Lab:
    """Deterministic time, keys, GUIDs and randomness for everything built in it.

    ``mode`` is the cryptographic mode of new documents: 1 (RSA-1024, SHA-1) or 2
    (RSA-2048, SHA-256).
    """

    def __init__(self, seed: int = DEFAULT_SEED, at: datetime | str = DEFAULT_TIME,
                 mode: int = 2) -> None:
        if mode not in (1, 2):
            raise ValueError("mode must be 1 (RSA-1024/SHA-1) or 2 (RSA-2048/SHA-256)")
        self.seed = seed
        self.mode = mode
        self._start = _parse_at(at)
        self._now = self._start
        self._streams: dict[str, Stream] = {}

    def __repr__(self) -> str:
        return f"Lab(seed={self.seed}, at='{self._now:%Y-%m-%dT%H:%M}Z', mode={self.mode})"

    # --- saving and resuming --------------------------------------------------------------
    def state(self) -> dict[str, object]:
        """Everything needed to resume this lab exactly (clock and random streams)."""
        return {"seed": self.seed, "mode": self.mode,
                "start": self._start.strftime("%Y-%m-%dT%H:%M"),
                "now": self._now.strftime("%Y-%m-%dT%H:%M"),
                "streams": {name: list(stream.position())
                            for name, stream in sorted(self._streams.items())}}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> "Lab":
        lab = cls(seed=int(str(state["seed"])), at=str(state["start"]),
                  mode=int(str(state["mode"])))
        lab._now = _parse_at(str(state["now"]))
        streams = state.get("streams", {})
        assert isinstance(streams, dict)
        for name, (counter, buffer_hex) in streams.items():
            lab._stream(str(name)).resume(int(counter), str(buffer_hex))
        return lab

    # --- time -----------------------------------------------------------------------
    def now(self) -> datetime:
        """The lab's clock (UTC, whole minutes). It moves only when told to."""
        return self._now

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        self._now = self._now + timedelta(days=days, hours=hours, minutes=minutes)
        return self._now

    # --- cryptographic mode -----------------------------------------------------------
    @property
    def key_bits(self) -> int:
        return 2048 if self.mode == 2 else 1024

    @property
    def digest_algorithm(self) -> DigestAlgorithm:
        return DigestAlgorithm.SHA256 if self.mode == 2 else DigestAlgorithm.SHA1

    # --- keys and randomness ------------------------------------------------------------
    def key(self, label: str, bits: int | None = None) -> PrivateKey:
        """The RSA key that this lab's seed gives ``label`` (the same on every machine)."""
        size = bits or self.key_bits
        seed = str(self.seed)
        memo = (seed, label, size)
        key = _MEMORY.get(memo)
        if key is None:
            key = _load_cached(seed, label, size)
            if key is None:
                key = derive_key(self.seed, label, size)
                _store_cached(seed, label, size, key, _cache_dirs()[-1])
            _MEMORY[memo] = key
        return key

    def _stream(self, purpose: str) -> Stream:
        stream = self._streams.get(purpose)
        if stream is None:
            stream = self._streams[purpose] = Stream(self.seed, f"lab:{purpose}")
        return stream

    def random_bytes(self, n: int, purpose: str = "random") -> bytes:
        """``n`` bytes from the lab's stream for ``purpose`` (content keys, pads, …)."""
        return self._stream(purpose).read(n)

    def secret(self, label: str) -> bytes:
        """A 32-byte secret that this lab's seed gives ``label`` (the key of the users'
        passwords, …). Reading it moves no random stream, so documents do not change."""
        return hashlib.sha256(f"rmslab secret\x00{self.seed}\x00{label}".encode()).digest()

    def guid(self, purpose: str = "guid") -> str:
        """The next GUID of the lab, written as XrML writes them: ``{8-4-4-4-12}``."""
        return "{" + str(uuid.UUID(bytes=self.random_bytes(16, f"guid:{purpose}"), version=4)) + "}"


def ship_keys(seed: int, labels: list[str], bits: list[int], directory: Path) -> list[Path]:
    """Derive keys and write them as cache entries into ``directory`` — how the package's
    ``rmslab/data/keys`` was made for the default seed."""
    written = []
    for size in bits:
        for label in labels:
            key = derive_key(seed, label, size)
            _store_cached(str(seed), label, size, key, directory)
            written.append(directory / _cache_name(str(seed), label, size))
    return written
