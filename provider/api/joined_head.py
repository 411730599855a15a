"""A response's head written together with its first body bytes: one write, one segment.

uvicorn writes the status line and headers when the application sends
``http.response.start``, and the body when it sends ``http.response.body``: two writes, each a
``send`` system call, and on loopback each runs the receiver's side of TCP and wakes the client
again. For the provider's typical answer (a status poll: a few hundred bytes of JSON) the
second send was a tenth of the HTTP process's CPU per poll. Here the head is kept until the
first body message and goes out with it; a response that sends anything else first (a file by
``pathsend``) has its head written before it (``flush``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

__all__ = ["joining_head"]

_Send = Callable[[Any], Coroutine[Any, Any, None]]


class _Collected:
    """Stands in for the cycle's transport while uvicorn writes a response's head."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _Prefixed:
    """Stands in while uvicorn writes the first body bytes: they go out after ``head``, in the
    same write; a close writes the head first (uvicorn closes a connection not kept alive)."""

    def __init__(self, transport: Any, head: bytes) -> None:
        self.transport = transport
        self.head = head

    def write(self, data: bytes) -> None:
        head, self.head = self.head, b""
        self.transport.write(head + data)

    def flush(self) -> None:
        if self.head:
            self.write(b"")

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def joining_head(cycle: RequestResponseCycle) -> tuple[_Send, Callable[[], None]]:
    """``cycle.send`` with the head held for the first body message; and ``flush``, which
    writes a held head now."""
    send = cycle.send
    held = b""

    async def send_joined(message: Any) -> None:
        nonlocal held
        kind = message["type"]
        transport = cycle.transport
        if kind == "http.response.start":
            collected = _Collected(transport)
            cycle.transport = collected  # type: ignore[assignment]
            try:
                await send(message)
            finally:
                cycle.transport = transport
            held = collected.data
            return
        if held and kind == "http.response.body":
            prefixed = _Prefixed(transport, held)
            held = b""
            cycle.transport = prefixed  # type: ignore[assignment]
            try:
                await send(message)
            finally:
                cycle.transport = transport
            # Nothing written (a HEAD request, an empty body): the head goes alone.
            if not cycle.disconnected:
                prefixed.flush()
            return
        flush()
        await send(message)

    def flush() -> None:
        nonlocal held
        if held and not cycle.disconnected:
            cycle.transport.write(held)
        held = b""

    return send_joined, flush
