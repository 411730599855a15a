from __future__ import annotations

from provider.chain.block_ranges import block_ranges


def test_ranges_cover_every_block_once_in_bounded_steps() -> None:
    assert list(block_ranges(5, 4)) == []
    assert list(block_ranges(7, 7)) == [(7, 7)]
    assert list(block_ranges(0, 4999, step=2000)) == [(0, 1999), (2000, 3999), (4000, 4999)]
