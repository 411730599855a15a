"""BackgroundWriter: small files inline, large ones from a thread, in order; errors surface."""

from __future__ import annotations

import errno
import io
import threading

import pytest

from steps.background_writer import BackgroundWriter


class _Recorded(io.BytesIO):
    """Remembers which thread made each write."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.threads.append(threading.current_thread().name)
        return super().write(data)


def _chunks(count: int) -> list[bytes]:
    return [bytes([n % 256]) * (1000 + n) for n in range(count)]


def test_past_the_inline_bytes_chunks_are_written_in_order_by_the_writer() -> None:
    out = _Recorded()
    chunks = _chunks(200)
    with BackgroundWriter(out, inline_bytes=5000) as writer:
        for chunk in chunks:
            writer.write(chunk)
    assert out.getvalue() == b"".join(chunks)
    assert out.threads[:4] == ["MainThread"] * 4  # 1000 + 1001 + 1002 + 1003 bytes
    assert set(out.threads[4:]) == {"writer"}


def test_a_small_file_never_starts_the_thread() -> None:
    out = _Recorded()
    with BackgroundWriter(out) as writer:
        for chunk in _chunks(50):
            writer.write(chunk)
    assert set(out.threads) == {"MainThread"}


def test_a_write_error_in_the_thread_reaches_the_caller() -> None:
    with (
        open("/dev/full", "wb", buffering=0) as full,  # every write: ENOSPC
        pytest.raises(OSError) as raised,
        BackgroundWriter(full, inline_bytes=0) as writer,
    ):
        for chunk in _chunks(100):
            writer.write(chunk)
    assert raised.value.errno == errno.ENOSPC
    assert not [t for t in threading.enumerate() if t.name == "writer"]


def test_a_failing_caller_leaves_no_thread_behind() -> None:
    out = _Recorded()
    with pytest.raises(RuntimeError), BackgroundWriter(out, inline_bytes=0) as writer:
        for chunk in _chunks(100):
            writer.write(chunk)
        raise RuntimeError("the download failed")
    assert not [t for t in threading.enumerate() if t.name == "writer"]
