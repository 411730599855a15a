"""Open an ordered file for download: the whole file, or the one byte range asked for.

Origins that speak HTTP (url, ipfs, arweave, s3) get the ``Range`` forwarded. What comes back is
checked before it is passed on: a 206 must be the range asked for and is cut at its announced
length; a 200 (an origin without ranges) is sliced here when its length is known, and answered
whole (200, as RFC 9110 allows) when it is not. An ftp file is always answered whole. The
first bytes are read before any header is sent, so an origin that is down is a clear 503.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from provider.access.ranges import ByteRange, Placed, parse_content_range
from provider.errors import RangeNotSatisfiable, ServiceUnavailable
from steps.readers import FetchError, HttpFileReader, SourcePolicy, reader_for
from steps.readers.url import check_response
from workflows.spec import FileObject

__all__ = ["Opened", "open_file", "open_kept"]


@dataclass
class Opened:
    """What the route answers: its status (200 or 206), headers and the streamed body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterator[bytes] = field(default_factory=lambda: iter(()))


def open_file(
    file: FileObject,
    index: int,
    wanted: ByteRange | None,
    *,
    policy: SourcePolicy,
    timeout: float,
    max_bytes: int,
) -> Opened:
    opened = Opened()
    try:
        reader = reader_for(file.type, policy)
        if isinstance(reader, HttpFileReader):
            stream = _http(reader, file, wanted, opened, timeout=timeout, max_bytes=max_bytes)
        else:
            stream = _capped(reader.read(file, timeout=timeout, max_bytes=max_bytes), max_bytes)
        # Runs up to the first bytes: the origin's answer is judged before any header is sent.
        first = next(stream, b"")
    except FetchError as error:
        raise ServiceUnavailable(f"file {index} cannot be fetched: {error}") from None

    def rest() -> Iterator[bytes]:
        if first:
            yield first
        try:
            yield from stream
        except FetchError:
            return  # headers are sent: the short body is all the consumer can be told

    opened.chunks = rest()
    return opened


def _http(
    reader: HttpFileReader,
    file: FileObject,
    wanted: ByteRange | None,
    opened: Opened,
    *,
    timeout: float,
    max_bytes: int,
) -> Iterator[bytes]:
    """Fills ``opened``'s status and headers before its first chunk, then streams the body."""
    headers = {} if wanted is None else {"Range": wanted.header()}
    with reader.respond(file, timeout=timeout, headers=headers) as response:
        opened.headers["Accept-Ranges"] = "bytes"
        body = _capped(response.iter_raw(), max_bytes)
        if wanted is None:
            check_response(response, max_bytes)
            yield from body
            return
        placed = _placed(response, wanted, max_bytes)
        if placed is None:
            yield from body  # an origin without ranges, of unknown length: the whole file
            return
        opened.status = 206
        opened.headers["Content-Range"] = placed.content_range()
        opened.headers["Content-Length"] = str(placed.length)
        skip = 0 if response.status_code == 206 else placed.first
        yield from _slice(body, skip, placed.length)


def _placed(response: httpx.Response, wanted: ByteRange, max_bytes: int) -> Placed | None:
    """The bytes the answer will hold, judged from the origin's status and headers."""
    if response.status_code == 416:
        unsatisfied = response.headers.get("Content-Range", "").removeprefix("bytes */")
        total = int(unsatisfied) if unsatisfied.isdigit() else None
        raise RangeNotSatisfiable(f"Range {wanted.header()}: past the file's end", total)
    check_response(response, max_bytes)
    if response.status_code == 206:
        placed = parse_content_range(response.headers.get("Content-Range", ""))
        if placed is None or not wanted.agrees(placed):
            raise FetchError("the origin answered another byte range than the one asked for")
        return placed
    declared = response.headers.get("Content-Length", "")
    return wanted.place(int(declared)) if declared.isdigit() else None


def _slice(chunks: Iterator[bytes], skip: int, length: int) -> Iterator[bytes]:
    """``length`` bytes after the first ``skip``; an origin sending more is cut off."""
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        piece = chunk[skip : skip + length]
        skip = 0
        length -= len(piece)
        yield piece
        if length == 0:
            return


def _capped(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise FetchError(f"the file is larger than {max_bytes} bytes")
        yield chunk


def open_kept(path: Path, wanted: ByteRange | None) -> Opened:
    """A file this provider keeps itself (a published job's outputs), whole or one range."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ServiceUnavailable("the file is no longer kept by this provider") from None
    total = os.fstat(handle.fileno()).st_size
    opened = Opened(headers={"Accept-Ranges": "bytes", "Content-Length": str(total)})
    first, length = 0, total
    if wanted is not None:
        try:
            placed = wanted.place(total)
        except RangeNotSatisfiable:
            handle.close()
            raise
        opened.status = 206
        opened.headers["Content-Range"] = placed.content_range()
        opened.headers["Content-Length"] = str(placed.length)
        first, length = placed.first, placed.length

    def chunks() -> Iterator[bytes]:
        with handle:
            handle.seek(first)
            left = length
            while left > 0:
                chunk = handle.read(min(left, 1024 * 1024))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    opened.chunks = chunks()
    return opened
