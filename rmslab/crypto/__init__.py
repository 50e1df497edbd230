"""Cryptography in the XrML encoding — the only package that calls ``cryptography``'s
hazmat layer (DESIGN.md).

Keys are RSA with the modulus written little-endian in base64 (XRML.md "Building
blocks"); signatures are RSA PKCS#1 v1.5 over the surface-coding digest (XRML.md
"Signature"). Deterministic keys come from :mod:`rmslab.crypto.keygen`.
"""

from rmslab.crypto.rsa import DigestAlgorithm, PrivateKey, PublicKey, surface_digest

__all__ = ["DigestAlgorithm", "PrivateKey", "PublicKey", "surface_digest"]
