"""A DDO as a metadata event's flags and data carry it → its plain bytes. Pure (decrypt injected).

Flags bit 1: encrypted for the decryptor (ECIES, this provider's key); bit 0: lzma-compressed
(after decryption, as Ocean's publishers compress first and then encrypt).
"""

from __future__ import annotations

import lzma
from collections.abc import Callable

from provider.errors import BadRequest

__all__ = [
    "COMPRESSED",
    "ENCRYPTED",
    "MAX_DOCUMENT_BYTES",
    "LzmaRefused",
    "inflate",
    "open_document",
]

COMPRESSED = 1
ENCRYPTED = 2
# A DDO is a few KiB; the cap stops a small compressed body from expanding without bound.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# A header may ask for a dictionary of up to 4 GiB; a publisher's DDO never needs this much.
_MAX_DECOMPRESSOR_MEMORY = 128 * 1024 * 1024


def open_document(flags: int, data: bytes, decrypt: Callable[[bytes], bytes]) -> bytes:
    """The plain document; BadRequest when it cannot be decrypted or decompressed."""
    plain = decrypt(data) if flags & ENCRYPTED else data
    return _decompress(plain) if flags & COMPRESSED else plain


class LzmaRefused(Exception):
    """Data that is not lzma (``truncated`` False, the decoder's message), or that ends early
    or would inflate past the cap (``truncated`` True when it ended early)."""

    def __init__(self, reason: str, *, not_lzma: bool = False, truncated: bool = False) -> None:
        super().__init__(reason)
        self.not_lzma = not_lzma
        self.truncated = truncated


def inflate(data: bytes, cap: int) -> bytes:
    """``data`` (.xz or .lzma, as a publisher wrote it) inflated to at most ``cap`` bytes, with
    the decoder's memory bounded too; LzmaRefused otherwise. Every lzma body from a chain or a
    request is read through this one bounded decoder."""
    decompressor = lzma.LZMADecompressor(memlimit=_MAX_DECOMPRESSOR_MEMORY)
    try:
        # One byte past the cap: a document of exactly ``cap`` bytes still reaches its end.
        plain = decompressor.decompress(data, max_length=cap + 1)
    except lzma.LZMAError as error:
        raise LzmaRefused(str(error), not_lzma=True) from None
    if len(plain) > cap:
        raise LzmaRefused("too large")
    if not decompressor.eof:
        truncated = decompressor.needs_input
        raise LzmaRefused("truncated" if truncated else "too large", truncated=truncated)
    return plain


def _decompress(data: bytes) -> bytes:
    try:
        return inflate(data, MAX_DOCUMENT_BYTES)
    except LzmaRefused as refused:
        if refused.not_lzma:
            raise BadRequest(
                f"the document is flagged lzma-compressed but is not lzma data ({refused})"
            ) from None
        if refused.truncated:
            raise BadRequest("the lzma-compressed document is truncated") from None
        raise BadRequest(f"the document expands beyond {MAX_DOCUMENT_BYTES} bytes") from None
