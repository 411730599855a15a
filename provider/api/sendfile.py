"""The HTTP protocol the provider serves with: uvicorn's httptools protocol plus the ASGI
``http.response.pathsend`` extension, and each response's head written with its first body
bytes (``joined_head.py``).

Starlette's ``FileResponse`` sends ``pathsend`` when the server offers it; the body then goes
from the page cache to the socket by ``sendfile(2)`` instead of through Python (read into
bytes, write to the transport), which delivers about a third of what the disk gives. Result
files are the provider's largest responses (an ``outputs.tar`` can be gigabytes).

The file goes out ``_CHUNK`` bytes per ``sendfile`` call. Asked for the whole file at once,
one call on a non-blocking socket ran for as long as the client kept up, reading from the disk
inside the call when the file was not in the page cache: with a client on loopback (a reverse
proxy on the same host is one) a GiB held the event loop, and every other request, for 150-380
ms from the page cache, up to 500 ms from the disk, and came from the disk at a third of the
disk's speed. In 8 MiB calls the loop is held at most 12-17 ms from the page cache and 22-26
ms from the disk (measured here with a 1 ms ticker on the loop), and a file on the disk goes
out two to three times as fast. Smaller calls hold it less and cost throughput at loopback
speed: the loop's turn between two calls lets the socket run dry (4 MiB calls lost a quarter
of it from the page cache; 8 MiB calls are within the runs' own spread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from provider.api.joined_head import joining_head

__all__ = ["PATHSEND", "SendfileHttpProtocol"]

PATHSEND = "http.response.pathsend"
_CHUNK = 8 * 1024 * 1024  # per sendfile call (see above)

_Send = Callable[[Any], Coroutine[Any, Any, None]]


class SendfileHttpProtocol(HttpToolsProtocol):
    """Offers ``pathsend`` in every HTTP scope and answers it with ``loop.sendfile``."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {PATHSEND: {}}

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.send = _with_pathsend(cycle, self.loop)  # type: ignore[method-assign,assignment]
        super()._start_asgi_task(cycle, app)


def _with_pathsend(cycle: RequestResponseCycle, loop: asyncio.AbstractEventLoop) -> _Send:
    send, flush_head = joining_head(cycle)

    async def send_or_sendfile(message: Any) -> None:
        if message["type"] != PATHSEND:
            await send(message)
            return
        flush_head()
        await _send_file(cycle, loop, str(message["path"]))
        # The ordinary end of body: uvicorn checks the length, keeps the connection alive or
        # closes it, and starts the next pipelined request.
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return send_or_sendfile


async def _send_file(
    cycle: RequestResponseCycle, loop: asyncio.AbstractEventLoop, path: str
) -> None:
    if not cycle.response_started or cycle.response_complete or cycle.chunked_encoding:
        raise RuntimeError("pathsend needs a started response with a Content-Length")
    if cycle.scope["method"] == "HEAD" or cycle.expected_content_length == 0:
        return
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected or cycle.transport.is_closing():
        return
    size = cycle.expected_content_length
    sent = 0
    with open(path, "rb") as file:
        try:
            while sent < size:
                length = min(_CHUNK, size - sent)
                done = await loop.sendfile(cycle.transport, file, sent, length)
                sent += done
                if done < length:  # the file ended early: uvicorn sees the short body
                    break
        except (ConnectionError, RuntimeError):
            # The client went away mid-body (RuntimeError: the transport closed under us).
            cycle.transport.close()
            cycle.disconnected = True
            return
    cycle.expected_content_length -= sent
