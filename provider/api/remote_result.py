"""A result file from the result store, streamed through the provider with Range answered.

One ``bytes=`` range is honoured (206, or 416 when it starts past the end); anything else is
answered with the whole file (200), as RFC 9110 allows a server that ignores Range to do.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse

from provider.errors import NotFound, ServiceUnavailable
from workflows.engines.base import RemoteResult

__all__ = ["remote_result_response"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def remote_result_response(result: RemoteResult, range_header: str | None) -> Response:
    """Blocking (opens the object): call from a worker thread, as a plain def route is."""
    size = result.file.filesize
    headers = {
        "accept-ranges": "bytes",
        "content-disposition": f"attachment; filename*=utf-8''{quote(result.file.filename)}",
    }
    try:
        wanted = _parse(range_header, size)
    except _Unsatisfiable:
        headers["content-range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    start, end = wanted if wanted is not None else (0, size)
    try:
        chunks = result.open(start, end) if end > start else iter(())
    except FileNotFoundError:
        raise NotFound(
            f"job {result.job_id} has no result with index {result.file.index}"
        ) from None
    except OSError:
        raise ServiceUnavailable("the result store cannot be read now; try again later") from None
    headers["content-length"] = str(end - start)
    if wanted is None:
        return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)
    headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(
        chunks, status_code=206, media_type="application/octet-stream", headers=headers
    )


class _Unsatisfiable(Exception):
    """The range starts past the end of the file (416)."""


def _parse(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` of a single satisfiable range, or None (the whole file)."""
    found = _RANGE.match((header or "").strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        count = int(last)
        if count == 0:
            raise _Unsatisfiable
        return (max(0, size - count), size)
    start = int(first)
    if start >= size:
        raise _Unsatisfiable
    end = min(int(last) + 1, size) if last else size
    return (start, end) if end > start else None
