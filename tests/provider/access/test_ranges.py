"""Range headers as RFC 9110 reads them: one range served, the rest ignored, 416 past the end."""

from __future__ import annotations

import pytest

from provider.access.ranges import ByteRange, Placed, parse_content_range, parse_range
from provider.errors import RangeNotSatisfiable


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, None)),
        ("bytes=-5", ByteRange(None, 5)),
        (" bytes = 3 - 3 ", ByteRange(3, 3)),
        (None, None),
        ("bytes=0-1,4-5", None),  # several ranges: the whole file
        ("bytes=5-3", None),  # invalid: ignored
        ("bytes=-", None),
        ("lines=0-3", None),
        ("bytes=" + "9" * 20 + "-", None),
    ],
)
def test_parse(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header) == expected


@pytest.mark.parametrize(
    ("wanted", "total", "placed"),
    [
        (ByteRange(0, 99), 50, Placed(0, 49, 50)),
        (ByteRange(10, None), 50, Placed(10, 49, 50)),
        (ByteRange(None, 80), 50, Placed(0, 49, 50)),
        (ByteRange(None, 5), 50, Placed(45, 49, 50)),
    ],
)
def test_place(wanted: ByteRange, total: int, placed: Placed) -> None:
    assert wanted.place(total) == placed


@pytest.mark.parametrize(
    ("wanted", "total"),
    [(ByteRange(50, None), 50), (ByteRange(None, 0), 50), (ByteRange(None, 3), 0)],
)
def test_unsatisfiable(wanted: ByteRange, total: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        wanted.place(total)
    assert refused.value.status_code == 416
    assert refused.value.headers() == {"Content-Range": f"bytes */{total}"}


def test_what_an_origin_answers_must_be_what_was_asked() -> None:
    wanted = ByteRange(10, 19)
    assert wanted.agrees(Placed(10, 19, 100))
    assert wanted.agrees(Placed(10, 14, None))  # a shorter file of unknown length
    assert not wanted.agrees(Placed(11, 20, 100))
    assert not wanted.agrees(Placed(10, 19, 15))  # past the length it announces
    assert not wanted.agrees(Placed(10, 20, None))
    assert ByteRange(None, 5).agrees(Placed(95, 99, 100))
    assert not ByteRange(None, 5).agrees(Placed(0, 99, 100))
    assert not ByteRange(200, None).agrees(Placed(0, 9, 100))


def test_content_range() -> None:
    assert parse_content_range("bytes 0-9/100") == Placed(0, 9, 100)
    assert parse_content_range("bytes 0-9/*") == Placed(0, 9, None)
    assert parse_content_range("bytes */100") is None
    assert Placed(0, 9, None).content_range() == "bytes 0-9/*"
