"""Rate limits per client IP and per consumer address: token buckets, 429 with Retry-After.

Each key (the TCP peer's IP; the ``consumerAddress``/``userAddress``/``address`` a request names
in its query or JSON body) has a bucket of ``burst`` requests refilled at ``rate`` per second.
An empty bucket answers 429 ``{"error": ...}`` with ``Retry-After`` (whole seconds) before any
route runs. The peer address is the socket's: ``X-Forwarded-For`` is not trusted (a proxy in
front should limit by itself). Buckets live in memory, per process, at most ``max_keys`` per
kind (least recently used dropped first), so random addresses cannot exhaust memory.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RateLimit", "RateLimiter", "RatePolicy"]

_ADDRESS_FIELDS = ("consumerAddress", "userAddress", "address")


@dataclass(frozen=True)
class RatePolicy:
    """``rate`` requests per second sustained, ``burst`` at once; rate 0 disables the limit."""

    rate: float
    burst: int


class RateLimiter:
    """Token buckets keyed by strings; ``take`` answers the wait in seconds, or 0 when allowed."""

    def __init__(
        self, policy: RatePolicy, *, clock: Callable[[], float] = time.monotonic, max_keys: int
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        rate, burst = self._policy.rate, float(max(1, self._policy.burst))
        if rate <= 0:
            return 0.0
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


class RateLimit:
    """ASGI middleware: the per-IP limit first, then the per-address one."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_ip: RatePolicy,
        per_address: RatePolicy,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._ips = RateLimiter(per_ip, clock=clock, max_keys=max_keys)
        self._addresses = RateLimiter(per_address, clock=clock, max_keys=max_keys)
        self._address_limited = per_address.rate > 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self._ips.take(f"ip:{client[0] if client else '?'}")
        if wait:
            await _refuse(send, "this IP address", wait)
            return
        if self._address_limited:
            body, receive = await _buffered(receive)
            address = _address(scope.get("query_string", b""), body, _content_type(scope))
            if address:
                wait = self._addresses.take(address)
                if wait:
                    await _refuse(send, "this consumer address", wait)
                    return
        await self._app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (already capped by BodySizeLimit outside), and a receive that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _content_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).split(b";")[0].strip().lower()
    return b""


def _address(query: bytes, body: bytes, content_type: bytes) -> str:
    """The consumer address a request names, lower-cased; empty when it names none."""
    try:
        fields = parse_qs(query.decode("latin-1"), max_num_fields=100)
    except ValueError:
        fields = {}
    for name in _ADDRESS_FIELDS:
        if fields.get(name):
            return "address:" + fields[name][0].strip().lower()[:100]
    if body and content_type in (b"application/json", b""):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return ""
        if isinstance(document, dict):
            for name in _ADDRESS_FIELDS:
                value = document.get(name)
                if isinstance(value, str) and value:
                    return "address:" + value.strip().lower()[:100]
    return ""


async def _refuse(send: Send, who: str, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    body = json.dumps({"error": f"too many requests from {who}; retry after {seconds} s"}).encode()
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
