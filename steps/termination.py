"""SIGTERM ends a step at once, even when it lands just before a blocking read.

Python runs a signal's handler in the main thread, at its next chance: a blocking call that the
signal interrupts (EINTR) is such a chance. A signal that lands after the last check but before
the call blocks only sets a flag, and the call then waits out its own timeout (a download's,
minutes) with the handler pending. Configure was seen to sit out a stop that way (about one
SIGTERM in forty, at the moment it began to wait for a server's answer).

Python also writes each signal's number to a "wakeup" pipe, whichever the moment. A watcher
thread reads it and, until the handler has run, signals the main thread again: a blocking call
is interrupted by that, and the pending handler runs.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

__all__ = ["Terminated", "end_on_sigterm"]

_POKE_EVERY = 0.05  # seconds between reminders while the handler has not run


class Terminated(BaseException):
    """SIGTERM arrived: a stop, the pod's eviction or its deadline."""


class _Handler:
    def __init__(self) -> None:
        self.ran = False

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        if self.ran:  # a reminder, after the stop is under way
            return
        self.ran = True
        raise Terminated


def end_on_sigterm() -> None:
    """From the main thread: SIGTERM raises ``Terminated`` there, once."""
    handler = _Handler()
    signal.signal(signal.SIGTERM, handler)
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    os.set_blocking(read_end, True)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    main = threading.main_thread().ident
    assert main is not None
    threading.Thread(
        target=_remind, args=(read_end, handler, main), name="sigterm", daemon=True
    ).start()


def _remind(wakeups: int, handler: _Handler, main: int) -> None:
    while True:
        woken = os.read(wakeups, 64)
        if not woken:
            return
        if signal.SIGTERM in woken:
            break
    while not handler.ran:
        signal.pthread_kill(main, signal.SIGTERM)
        time.sleep(_POKE_EVERY)
