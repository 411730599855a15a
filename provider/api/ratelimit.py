"""Rate limits per client IP and per proven consumer address: token buckets.

Each key has a bucket of ``burst`` requests refilled at ``rate`` per second. The per-IP limit
(``RateLimit``, ASGI middleware) counts every request, keyed on the TCP peer's IP, and answers
429 ``{"error": ...}`` with ``Retry-After`` (whole seconds) before any route runs. The peer
address is the socket's: ``X-Forwarded-For`` is not trusted (a proxy in front should limit by
itself). The per-address limit (``AddressLimit``) counts only requests whose address was proven
(a valid token, or a signature with a fresh nonce): the Authenticator charges it, so naming an
address without its key costs that address nothing. Buckets live in memory, per process, at
most ``max_keys`` per kind (least recently used dropped first), so random keys cannot exhaust
memory.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from provider.errors import TooManyRequests

__all__ = ["AddressLimit", "RateLimit", "RateLimiter", "RatePolicy"]


@dataclass(frozen=True)
class RatePolicy:
    """``rate`` requests per second sustained, ``burst`` at once; rate 0 disables the limit."""

    rate: float
    burst: int


class RateLimiter:
    """Token buckets keyed by strings; ``take`` answers the wait in seconds, or 0 when allowed.
    Thread-safe: the address limit is charged from the routes' worker threads."""

    def __init__(
        self, policy: RatePolicy, *, clock: Callable[[], float] = time.monotonic, max_keys: int
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        rate, burst = self._policy.rate, float(max(1, self._policy.burst))
        if rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.pop(key, (burst, now))
            tokens = min(burst, tokens + (now - updated) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


def _retry_message(who: str, wait: float) -> tuple[str, int]:
    seconds = max(1, math.ceil(wait))
    return f"too many requests from {who}; retry after {seconds} s", seconds


class AddressLimit:
    """The per-address bucket, charged with an address once it is proven; raises
    TooManyRequests (429 with Retry-After) when that address's bucket is empty."""

    def __init__(
        self,
        policy: RatePolicy,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = RateLimiter(policy, clock=clock, max_keys=max_keys)

    def __call__(self, address: str) -> None:
        wait = self._limiter.take(address.strip().lower())
        if wait:
            message, seconds = _retry_message("this consumer address", wait)
            raise TooManyRequests(message, retry_after=seconds)


class RateLimit:
    """ASGI middleware: the per-IP limit, for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_ip: RatePolicy,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._ips = RateLimiter(per_ip, clock=clock, max_keys=max_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self._ips.take(f"ip:{client[0] if client else '?'}")
        if wait:
            await _refuse(send, wait)
            return
        await self._app(scope, receive, send)


async def _refuse(send: Send, wait: float) -> None:
    message, seconds = _retry_message("this IP address", wait)
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
