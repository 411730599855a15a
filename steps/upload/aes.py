"""Ocean Node's archive encryption, streamed: AES-256-CBC with PKCS#7 padding.

Key: the first 32 bytes of the consumer's key; IV: the first 16 bytes of the provider's compressed
public key (Ocean Node ``KeyManager`` ``encryptStream``). No header is written, so one tool
(``openssl enc -d -aes-256-cbc -K <key> -iv <iv>``) decrypts either provider's archive.
"""

from __future__ import annotations

from Crypto.Cipher import AES

from steps.upload.base import Readable
from workflows.output_spec import OutputEncryption

__all__ = ["Encrypting"]

_BLOCK = 16


class Encrypting:
    """A reader yielding the ciphertext of ``plain``; memory stays at one read's worth."""

    def __init__(self, plain: Readable, encryption: OutputEncryption) -> None:
        key = bytes.fromhex(encryption.key)[:32]
        self._cipher = AES.new(key, AES.MODE_CBC, iv=bytes.fromhex(encryption.iv))
        self._plain = plain
        self._pending = b""
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        if self._done:
            return b""
        want = max(size, _BLOCK) if size > 0 else 1024 * 1024
        chunk = self._pending + self._plain.read(want)
        if len(chunk) == len(self._pending):
            # End of the archive: pad the tail (a full block of padding when it is aligned).
            self._done = True
            pad = _BLOCK - len(chunk) % _BLOCK
            return bytes(self._cipher.encrypt(chunk + bytes([pad]) * pad))
        whole = len(chunk) - len(chunk) % _BLOCK
        self._pending = chunk[whole:]
        return bytes(self._cipher.encrypt(chunk[:whole])) if whole else self.read(size)
