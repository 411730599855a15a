"""Constants and a settable clock shared by the auth tests."""

from __future__ import annotations

SECRET = b"s" * 32
LIFETIME = 3600
START = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
