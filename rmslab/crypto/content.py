"""Content encryption of protected files, per cryptographic mode (docs/wire-format.md "Protected
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

__all__ = ["ContentCipher", "CBC4K_BLOCK", "ContentDecryptionError", "encrypted_size",
           "rights_data_cipher"]

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
        self._aes = algorithms.AES(key)
        self._ecb = Cipher(self._aes, modes.ECB())

    def _ivs(self, first: int, count: int) -> list[bytes]:
        """The IVs of ``count`` CBC4K blocks from block ``first``: one ECB call for all."""
        numbers = b"".join((first + i).to_bytes(4, "little") + bytes(12) for i in range(count))
        encrypted = self._ecb.encryptor().update(numbers)
        return [encrypted[i * 16:(i + 1) * 16] for i in range(count)]

    def _blocks(self, data: memoryview, first: int, *, decrypt: bool) -> memoryview:
        """Whole 4096-byte blocks of ``data`` (a multiple of 4096 bytes), each under its IV.

        One CBC context runs through all the blocks; the seam between two blocks is
        mended with a 16-byte XOR. Running on, the first AES block of block k would chain
        from the last ciphertext block ``c`` of block k-1 instead of from its IV: so when
        encrypting, its first plaintext block is fed as ``p ⊕ IV_k ⊕ c``; when decrypting,
        its first plaintext block comes out as ``p ⊕ c ⊕ IV_k`` and is corrected the same
        way. The result is exactly CBC4K, without a new context per block."""
        count = len(data) // CBC4K_BLOCK
        ivs = self._ivs(first, count)
        out = bytearray(len(data) + 16)
        view = memoryview(out)
        cipher = Cipher(self._aes, modes.CBC(ivs[0]))
        if decrypt:
            cipher.decryptor().update_into(data, view)
            for index in range(1, count):
                at = index * CBC4K_BLOCK
                seam = int.from_bytes(data[at - 16:at], "little") ^ int.from_bytes(ivs[index], "little")
                fixed = int.from_bytes(view[at:at + 16], "little") ^ seam
                view[at:at + 16] = fixed.to_bytes(16, "little")
            return view[:len(data)]
        engine = cipher.encryptor()
        engine.update_into(data[:CBC4K_BLOCK], view[:CBC4K_BLOCK + 16])
        for index in range(1, count):
            at = index * CBC4K_BLOCK
            seam = int.from_bytes(view[at - 16:at], "little") ^ int.from_bytes(ivs[index], "little")
            head = (int.from_bytes(data[at:at + 16], "little") ^ seam).to_bytes(16, "little")
            engine.update_into(head, view[at:at + 32])
            engine.update_into(data[at + 16:at + CBC4K_BLOCK], view[at + 16:at + CBC4K_BLOCK + 16])
        return view[:len(data)]

    # --- streaming ------------------------------------------------------------------------
    def encrypt_stream(self, source: BinaryIO, sink: BinaryIO) -> int:
        """Encrypt everything from ``source`` into ``sink``; returns the plaintext size."""
        if self.mode == 1:
            total = 0
            encryptor = self._ecb.encryptor()
            padder = sym_padding.PKCS7(128).padder()
            while chunk := source.read(_CHUNK):
                total += len(chunk)
                sink.write(encryptor.update(padder.update(chunk)))
            sink.write(encryptor.update(padder.finalize()) + encryptor.finalize())
            return total
        return self._cbc4k_stream(source, sink, decrypt=False)

    def decrypt_stream(self, source: BinaryIO, sink: BinaryIO) -> int:
        """Decrypt everything from ``source`` into ``sink``; returns the plaintext size.
        Raises :class:`ContentDecryptionError` when the padding shows a wrong key."""
        if self.mode == 1:
            total = 0
            decryptor = self._ecb.decryptor()
            unpadder = sym_padding.PKCS7(128).unpadder()
            try:
                while chunk := source.read(_CHUNK):
                    out = unpadder.update(decryptor.update(chunk))
                    total += len(out)
                    sink.write(out)
                out = unpadder.update(decryptor.finalize()) + unpadder.finalize()
            except ValueError:
                raise ContentDecryptionError("the content does not decrypt with this key "
                                             "(bad padding, or truncated)") from None
            sink.write(out)
            return total + len(out)
        return self._cbc4k_stream(source, sink, decrypt=True)

    def _cbc4k_stream(self, source: BinaryIO, sink: BinaryIO, *, decrypt: bool) -> int:
        total = 0
        block_number = 0
        carry = b""
        chunk = source.read(_CHUNK)
        while chunk:
            following = source.read(_CHUNK)
            data = carry + chunk if carry else chunk
            if following:
                whole = len(data) - len(data) % CBC4K_BLOCK
            else:
                # the last piece (up to one whole block) is the final, padded block
                whole = ((len(data) - 1) // CBC4K_BLOCK) * CBC4K_BLOCK
            if whole:
                out = self._blocks(memoryview(data)[:whole], block_number, decrypt=decrypt)
                block_number += whole // CBC4K_BLOCK
                total += whole
                sink.write(out)
            carry = data[whole:]
            chunk = following
        pending = carry
        if decrypt and (not pending or len(pending) % 16):
            raise ContentDecryptionError("the encrypted content is truncated")
        if not decrypt and len(pending) == CBC4K_BLOCK:
            # a whole last block is written as is; the padding goes into an empty final block
            sink.write(self._blocks(memoryview(pending), block_number, decrypt=False))
            total += CBC4K_BLOCK
            block_number += 1
            pending = b""
        final = self._cbc_final(pending, block_number, decrypt=decrypt)
        sink.write(final)
        return total + (len(final) if decrypt else len(pending))

    def _cbc_final(self, data: bytes, block_number: int, *, decrypt: bool) -> bytes:
        cipher = Cipher(self._aes, modes.CBC(self._ivs(block_number, 1)[0]))
        if not decrypt:
            padder = sym_padding.PKCS7(128).padder()
            encryptor = cipher.encryptor()
            return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
        decryptor = cipher.decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
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



def rights_data_cipher(key: bytes) -> ContentCipher:
    """The cipher of a publishing license's encrypted rights data: AES-ECB under the content
    key, PKCS#7 padding, whatever cipher the content uses (MS-RMPR 2.2.9.7.6 says only
    "encrypted"; the real publishing licenses show repeated 16-byte ciphertext blocks in
    their Encrypted-Rights-Data, an ECB trait, also beside CBC4K content — rmslab's
    choice, made here once)."""
    return ContentCipher(key, 1)
