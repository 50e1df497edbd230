"""Cryptography in the XrML encoding — the only package that calls ``cryptography``'s
hazmat layer (docs/architecture.md).

Keys are RSA with the modulus written little-endian in base64 (docs/wire-format.md "Building
blocks"); signatures are RSA PKCS#1 v1.5 over the surface-coding digest (docs/wire-format.md
"Signature"). Deterministic keys come from :mod:`rmslab.crypto.keygen`.
"""

from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey, surface_digest

__all__ = ["DigestAlgorithm", "PrivateKey", "PublicKey", "surface_digest"]
