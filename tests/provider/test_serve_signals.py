"""``c2d serve``'s stop signals: the first one stops it, and nothing cuts that stop short."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from provider.commands import serve


@pytest.fixture
def serve_handlers() -> Iterator[None]:
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, serve.stop_signalled)
    signal.signal(signal.SIGINT, serve.stop_signalled)
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def _signal_self(number: int) -> None:
    os.kill(os.getpid(), number)
    signal.getsignal(number)  # a Python call: a pending handler runs here at the latest


def test_a_sigterm_after_ctrl_c_does_not_break_off_the_stop(serve_handlers: None) -> None:
    # The demo's Ctrl-C reaches its provider, then the demo stops it with SIGTERM: while the
    # provider still starts, both land in ``c2d serve``'s own code.
    with pytest.raises(KeyboardInterrupt):
        _signal_self(signal.SIGINT)
    _signal_self(signal.SIGTERM)  # ignored: it would have raised inside the wait for the helper
    _signal_self(signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def test_sigterm_stops_by_an_exception_no_broad_except_catches(serve_handlers: None) -> None:
    with pytest.raises(BaseException) as stopped:
        _signal_self(signal.SIGTERM)
    assert not isinstance(stopped.value, Exception)
    _signal_self(signal.SIGINT)  # ignored from then on
