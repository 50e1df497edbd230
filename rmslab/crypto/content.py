"""Content encryption of protected files, per cryptographic mode (XRML.md "Protected
files"; SPEC P-6).

* Mode 1 — AES-128 in ECB mode, PKCS#7 padding on the last block: the legacy format.
* Mode 2 — "CBC4K", as the public RMS SDK reads it: the content is cut into 4096-byte
  blocks, each encrypted with AES-128-CBC under an IV of its own — the AES-ECB
  encryption of the block's number (32-bit little-endian, zero-padded to 16 bytes) —
  without padding, except the final (possibly empty) piece, which carries PKCS#7
  padding.

Both work as streams: memory stays constant whatever the size of the content.
"""

from __future__ import annotations

from typing import BinaryIO

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from rmslab.errors import RmslabError

__all__ = ["ContentCipher", "CBC4K_BLOCK", "ContentDecryptionError", "encrypted_size"]

CBC4K_BLOCK = 4096
_CHUNK = 256 * CBC4K_BLOCK  # 1 MiB of content per read


class ContentDecryptionError(RmslabError):
    """The content cannot be decrypted with this key (wrong key, or changed content)."""


def encrypted_size(size: int) -> int:
    """Bytes of ciphertext for ``size`` bytes of content (both modes pad the last piece
    to a whole AES block, adding a block when it is already whole)."""
    return (size // 16 + 1) * 16


class ContentCipher:
    """Encrypts and decrypts content with a content key in a cryptographic mode."""

    def __init__(self, key: bytes, mode: int) -> None:
        if len(key) != 16:
            raise ValueError("content keys are 16 bytes (AES-128)")
        if mode not in (1, 2):
            raise ValueError("mode is 1 (AES-128-ECB) or 2 (AES-128-CBC4K)")
        self.key = key
        self.mode = mode
        self._ecb = Cipher(algorithms.AES(key), modes.ECB())

    def _iv(self, block_number: int) -> bytes:
        encryptor = self._ecb.encryptor()
        return encryptor.update(block_number.to_bytes(4, "little") + bytes(12)) + encryptor.finalize()

    # --- streaming ------------------------------------------------------------------------
    def encrypt_stream(self, source: BinaryIO, sink: BinaryIO) -> int:
        """Encrypt everything from ``source`` into ``sink``; returns the plaintext size."""
        total = 0
        if self.mode == 1:
            encryptor = self._ecb.encryptor()
            padder = sym_padding.PKCS7(128).padder()
            while chunk := source.read(_CHUNK):
                total += len(chunk)
                sink.write(encryptor.update(padder.update(chunk)))
            sink.write(encryptor.update(padder.finalize()) + encryptor.finalize())
            return total
        block_number = 0
        pending = b""
        while chunk := source.read(_CHUNK):
            total += len(chunk)
            pending += chunk
            whole = len(pending) - len(pending) % CBC4K_BLOCK
            # keep at least the last piece back: it is the final block (with padding)
            if whole == len(pending):
                whole -= CBC4K_BLOCK
            for offset in range(0, whole, CBC4K_BLOCK):
                sink.write(self._cbc_block(pending[offset:offset + CBC4K_BLOCK], block_number))
                block_number += 1
            pending = pending[whole:]
        # the final piece: 1..4096 bytes of content, or nothing at all — padded
        if len(pending) == CBC4K_BLOCK:
            sink.write(self._cbc_block(pending, block_number))
            block_number += 1
            pending = b""
        sink.write(self._cbc_final(pending, block_number))
        return total

    def decrypt_stream(self, source: BinaryIO, sink: BinaryIO) -> int:
        """Decrypt everything from ``source`` into ``sink``; returns the plaintext size.
        Raises :class:`ContentDecryptionError` when the padding shows a wrong key."""
        total = 0
        if self.mode == 1:
            decryptor = self._ecb.decryptor()
            unpadder = sym_padding.PKCS7(128).unpadder()
            try:
                while chunk := source.read(_CHUNK):
                    if len(chunk) % 16:
                        more = source.read(16 - len(chunk) % 16)
                        chunk += more
                    out = unpadder.update(decryptor.update(chunk))
                    total += len(out)
                    sink.write(out)
                out = unpadder.update(decryptor.finalize()) + unpadder.finalize()
            except ValueError:
                raise ContentDecryptionError("the content does not decrypt with this key "
                                             "(bad padding)") from None
            sink.write(out)
            return total + len(out)
        block_number = 0
        pending = b""
        while chunk := source.read(_CHUNK):
            pending += chunk
            whole = len(pending) - len(pending) % CBC4K_BLOCK
            if whole == len(pending):
                whole -= CBC4K_BLOCK  # the last piece may be the padded final block
            for offset in range(0, max(whole, 0), CBC4K_BLOCK):
                out = self._cbc_block(pending[offset:offset + CBC4K_BLOCK], block_number,
                                      decrypt=True)
                total += len(out)
                sink.write(out)
                block_number += 1
            pending = pending[max(whole, 0):]
        if not pending or len(pending) % 16:
            raise ContentDecryptionError("the encrypted content is truncated")
        out = self._cbc_final(pending, block_number, decrypt=True)
        sink.write(out)
        return total + len(out)

    def _cbc_block(self, data: bytes, block_number: int, *, decrypt: bool = False) -> bytes:
        cipher = Cipher(algorithms.AES(self.key), modes.CBC(self._iv(block_number)))
        engine = cipher.decryptor() if decrypt else cipher.encryptor()
        return engine.update(data) + engine.finalize()

    def _cbc_final(self, data: bytes, block_number: int, *, decrypt: bool = False) -> bytes:
        if not decrypt:
            padder = sym_padding.PKCS7(128).padder()
            return self._cbc_block(padder.update(data) + padder.finalize(), block_number)
        plain = self._cbc_block(data, block_number, decrypt=True)
        unpadder = sym_padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(plain) + unpadder.finalize()
        except ValueError:
            raise ContentDecryptionError("the content does not decrypt with this key "
                                         "(bad padding)") from None

    # --- whole buffers ----------------------------------------------------------------------
    def encrypt(self, data: bytes) -> bytes:
        import io
        out = io.BytesIO()
        self.encrypt_stream(io.BytesIO(data), out)
        return out.getvalue()

    def decrypt(self, data: bytes) -> bytes:
        import io
        out = io.BytesIO()
        self.decrypt_stream(io.BytesIO(data), out)
        return out.getvalue()

