"""A job's algorithm log as server-sent events for the page's script: each chunk one JSON
string (so no byte of the log can end an event or inject a field), capped for a browser."""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator

__all__ = ["END", "log_events"]

END = b"event: end\ndata: \n\n"


def _event(text: str) -> bytes:
    return f"data: {json.dumps(text)}\n\n".encode()


async def log_events(chunks: AsyncIterator[bytes], cap: int) -> AsyncIterator[bytes]:
    """The log's first ``cap`` bytes, decoded as UTF-8 (bad bytes replaced), then ``END``."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    sent = 0
    try:
        async for chunk in chunks:
            part = chunk[: cap - sent]
            sent += len(part)
            text = decoder.decode(part)
            if text:
                yield _event(text)
            if sent >= cap:
                yield _event(f"\n[the page shows the first {cap} bytes; log.txt has the rest]\n")
                break
        rest = decoder.decode(b"", final=True)
        if rest:
            yield _event(rest)
        yield END
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
