"""open_document: the flags' decryption and lzma decompression, and the decompression cap."""

from __future__ import annotations

import lzma

import pytest

from provider.assets.documents import MAX_DOCUMENT_BYTES, open_document
from provider.errors import BadRequest


def _reverse(data: bytes) -> bytes:
    return data[::-1]


def test_flags_choose_what_is_undone() -> None:
    assert open_document(0, b"plain", _reverse) == b"plain"
    assert open_document(2, b"nialp", _reverse) == b"plain"
    assert open_document(1, lzma.compress(b"plain"), _reverse) == b"plain"
    # Compressed first, then encrypted: decrypted first, then decompressed.
    assert open_document(3, _reverse(lzma.compress(b"plain")), _reverse) == b"plain"
    # The .lzma (alone) format, as some JavaScript publishers write it.
    alone = lzma.compress(b"plain", format=lzma.FORMAT_ALONE)
    assert open_document(1, alone, _reverse) == b"plain"


def test_data_that_is_not_lzma_or_is_cut_short_is_refused() -> None:
    with pytest.raises(BadRequest, match="not lzma data"):
        open_document(1, b"plain", _reverse)
    with pytest.raises(BadRequest, match="truncated"):
        open_document(1, lzma.compress(b"plain" * 100)[:-10], _reverse)


def test_a_document_expanding_past_the_cap_is_refused() -> None:
    bomb = lzma.compress(bytes(MAX_DOCUMENT_BYTES + 1))
    assert len(bomb) < 10_000
    with pytest.raises(BadRequest, match="expands beyond"):
        open_document(1, bomb, _reverse)


def test_a_header_asking_for_a_huge_dictionary_is_refused() -> None:
    filters = [{"id": lzma.FILTER_LZMA2, "dict_size": 1536 * 1024 * 1024}]
    greedy = lzma.compress(b"plain", format=lzma.FORMAT_XZ, filters=filters)
    with pytest.raises(BadRequest, match="Memory usage limit"):
        open_document(1, greedy, _reverse)
