"""A job's file streamed to async code, each blocking read in a worker thread.

Apart from ``jobfiles.py`` so that what only opens and reads (the trusted steps among them) does
not import asyncio: 34 modules and 2.5 MB in the step server, whose page tables every forked
step copies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from workflows.jobfiles import (
    READ_CHUNK,
    JobFilePath,
    RefusedJobFile,
    refused_note,
    truncated_note,
)

__all__ = ["stream_job_file"]


async def stream_job_file(path: JobFilePath, cap: int) -> AsyncIterator[bytes]:
    """A finished log, chunk by chunk from a worker thread, at most ``cap`` bytes then a note;
    an unsafe file gives only a note saying why."""
    try:
        job_file = await asyncio.to_thread(path.open)
    except FileNotFoundError:
        return
    except RefusedJobFile as refused:
        yield refused_note(refused)
        return
    try:
        offset = 0
        while offset < cap:
            chunk = await asyncio.to_thread(job_file.read, offset, min(READ_CHUNK, cap - offset))
            if not chunk:
                return
            offset += len(chunk)
            yield chunk
        if await asyncio.to_thread(job_file.read, cap, 1):
            yield truncated_note(cap)
    finally:
        job_file.close()
