"""Result files (streamed, with Range) and the algorithm's live log."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.datastructures import MutableHeaders
from starlette.types import Receive, Scope, Send

from provider.api.deps import AuthToken, ServicesDep
from provider.api.remote_result import remote_result_response
from provider.api.schemas import ADDRESS_PATTERN
from provider.jobs.requests import Credentials
from workflows.engines.base import RemoteResult
from workflows.jobfiles import JobFile

__all__ = ["ResultFileResponse", "router"]

router = APIRouter(prefix="/api/services")

Address = Annotated[str, Query(alias="consumerAddress", pattern=ADDRESS_PATTERN)]
JobId = Annotated[str, Query(alias="jobId", max_length=64)]
Nonce = Annotated[str | None, Query(max_length=40)]
Signature = Annotated[str | None, Query(max_length=200)]
_CHUNK = 4 * 1024 * 1024


class ResultFileResponse(FileResponse):
    """FileResponse of a file already opened and checked (``workflows.jobfiles``), named by its
    descriptor (``/proc/self/fd/N`` reopens that very file), whose body is read ahead: 4 MiB
    ``os.pread`` calls in a worker thread, the next one running while the event loop writes the
    current one to the socket (Starlette reads, then sends, 64 KiB at a time). Range requests
    (206/416) keep FileResponse's handling; a single range is streamed the same way."""

    chunk_size = _CHUNK

    def __init__(
        self, job_file: JobFile, *, filename: str, media_type: str, status_code: int = 200
    ) -> None:
        # status_code: FastAPI reads its default from this signature for the OpenAPI document.
        super().__init__(
            f"/proc/self/fd/{job_file.fd}",
            status_code=status_code,
            filename=filename,
            media_type=media_type,
            stat_result=job_file.info,
        )
        self._job_file = job_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._job_file.close()

    async def _handle_simple(self, send: Send, send_header_only: bool, send_pathsend: bool) -> None:
        if send_header_only or send_pathsend:
            await super()._handle_simple(send, send_header_only, send_pathsend)
            return
        status = self.status_code
        await send({"type": "http.response.start", "status": status, "headers": self.raw_headers})
        await _stream(self.path, 0, None, send)

    async def _handle_single_range(
        self, send: Send, start: int, end: int, file_size: int, send_header_only: bool
    ) -> None:
        if send_header_only:
            await super()._handle_single_range(send, start, end, file_size, send_header_only)
            return
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-range"] = f"bytes {start}-{end - 1}/{file_size}"
        headers["content-length"] = str(end - start)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        await _stream(self.path, start, end, send)


async def _stream(path: str | os.PathLike[str], start: int, end: int | None, send: Send) -> None:
    """Send ``[start, end)`` of the file (to its end when ``end`` is None), reading ahead."""
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, os.open, path, os.O_RDONLY | os.O_CLOEXEC)
    limit = end if end is not None else os.fstat(fd).st_size

    def read(offset: int) -> bytes:
        return os.pread(fd, min(_CHUNK, limit - offset), offset) if offset < limit else b""

    pending: asyncio.Future[bytes] = loop.run_in_executor(None, read, start)
    try:
        position = start
        while True:
            chunk = await pending
            position += len(chunk)
            more = bool(chunk) and position < limit
            if more:
                pending = loop.run_in_executor(None, read, position)  # read while we send
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return
    finally:
        # Never close the descriptor under a read still running in the worker thread.
        if pending.done():
            os.close(fd)
        else:
            pending.add_done_callback(lambda _: os.close(fd))


@router.get("/computeResult", response_class=ResultFileResponse)
def compute_result(
    services: ServicesDep,
    token: AuthToken,
    consumer_address: Address,
    job_id: JobId,
    index: Annotated[int, Query(ge=0, le=1000)],
    nonce: Nonce = None,
    signature: Signature = None,
    byte_range: Annotated[str | None, Header(alias="range", include_in_schema=False)] = None,
) -> Response:
    credentials = Credentials(nonce=nonce, signature=signature, token=token)
    # A plain def route: the open runs in Starlette's thread pool, not on the event loop.
    file, job_file = services.jobs.result(consumer_address, job_id, index, credentials)
    if isinstance(job_file, RemoteResult):
        return remote_result_response(job_file, byte_range)
    # FileResponse streams from disk in chunks and answers Range requests (206/416) itself.
    return ResultFileResponse(
        job_file, filename=file.filename, media_type="application/octet-stream"
    )


@router.get("/computeStreamableLogs", response_class=StreamingResponse)
def compute_streamable_logs(
    services: ServicesDep,
    token: AuthToken,
    consumer_address: Address,
    job_id: JobId,
    nonce: Nonce = None,
    signature: Signature = None,
) -> StreamingResponse:
    credentials = Credentials(nonce=nonce, signature=signature, token=token)
    chunks = services.jobs.logs(consumer_address, job_id, credentials)
    return StreamingResponse(chunks, media_type="text/plain; charset=utf-8")
