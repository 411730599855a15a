"""A DDO as a metadata event's flags and data carry it → its plain bytes. Pure (decrypt injected).

Flags bit 1: encrypted for the decryptor (ECIES, this provider's key); bit 0: lzma-compressed
(after decryption, as Ocean's publishers compress first and then encrypt).
"""

from __future__ import annotations

import lzma
from collections.abc import Callable

from provider.errors import BadRequest

__all__ = ["COMPRESSED", "ENCRYPTED", "MAX_DOCUMENT_BYTES", "open_document"]

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


def _decompress(data: bytes) -> bytes:
    # .xz or .lzma, as the publisher wrote it.
    decompressor = lzma.LZMADecompressor(memlimit=_MAX_DECOMPRESSOR_MEMORY)
    try:
        plain = decompressor.decompress(data, max_length=MAX_DOCUMENT_BYTES)
    except lzma.LZMAError as error:
        raise BadRequest(
            f"the document is flagged lzma-compressed but is not lzma data ({error})"
        ) from None
    if not decompressor.eof:
        if decompressor.needs_input:
            raise BadRequest("the lzma-compressed document is truncated")
        raise BadRequest(f"the document expands beyond {MAX_DOCUMENT_BYTES} bytes")
    return plain
