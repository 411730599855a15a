"""Reader for ``type: url`` files: a streamed HTTP(S) GET or POST with httpx."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager

import httpx

from steps.readers.base import FetchError, HttpFileReader
from steps.readers.guard import SourcePolicy, guarded_transport, refusal_reason
from workflows.contract import SOURCE_NETWORKS_ENV
from workflows.spec import FileObject

__all__ = [
    "MAX_REDIRECTS",
    "UrlReader",
    "check_response",
    "describe_http_error",
    "stream_body",
]

MAX_REDIRECTS = 5


class UrlReader:
    """Streams one URL; every failure becomes a ``FetchError`` worded without the URL.

    Every connection, redirects included, goes to an address ``policy`` permits (see guard.py).
    """

    def __init__(self, policy: SourcePolicy | None = None) -> None:
        self._policy = policy or SourcePolicy()

    def read(
        self, file: FileObject, *, timeout: float, max_bytes: int
    ) -> Generator[bytes, None, None]:
        return stream_body(self, file, timeout=timeout, max_bytes=max_bytes)

    @contextmanager
    def respond(
        self, file: FileObject, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """The origin's streamed response, whatever its status; ``headers`` are added to the
        file's own (a download's ``Range``). Failures inside the block become FetchErrors."""
        sent = httpx.Headers(file.headers)
        sent.update(headers or {})
        # Raw bytes, exactly as served: the checksum is over what the publisher hashed, and no
        # decompression can turn a small chunk into a memory spike.
        sent.setdefault("Accept-Encoding", "identity")
        try:
            if httpx.URL(file.url).scheme not in ("http", "https"):
                raise FetchError("only http and https URLs are fetched")
            # trust_env=False: no ~/.netrc credentials or proxy settings leak into a
            # request whose URL the consumer or publisher chose.
            with (
                httpx.Client(
                    timeout=httpx.Timeout(timeout),
                    follow_redirects=True,
                    max_redirects=MAX_REDIRECTS,
                    trust_env=False,
                    transport=guarded_transport(self._policy),
                ) as client,
                client.stream(file.method, file.url, headers=sent) as response,
            ):
                yield response
        except httpx.InvalidURL:
            raise FetchError("invalid URL") from None
        except (httpx.HTTPError, httpx.StreamError) as error:
            raise FetchError(describe_http_error(error, timeout)) from None


def stream_body(
    reader: HttpFileReader, file: FileObject, *, timeout: float, max_bytes: int
) -> Generator[bytes, None, None]:
    """A FileReader's ``read`` for an HTTP-backed reader: its response's body, checked."""
    with reader.respond(file, timeout=timeout) as response:
        check_response(response, max_bytes)
        # No chunk_size: each network read (at most 64 KiB in httpcore) is passed on as it
        # arrives, so the caller's size and deadline checks run between reads.
        yield from response.iter_raw()


def check_response(response: httpx.Response, max_bytes: int) -> None:
    if not response.is_success:
        raise FetchError(f"HTTP status {response.status_code}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"size cap exceeded: the server announced {declared} bytes, {max_bytes} bytes left"
        )


def describe_http_error(error: Exception, timeout: float) -> str:
    """Fixed words per failure kind: httpx messages may quote the URL, so none is passed on."""
    if isinstance(error, httpx.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(error, httpx.ConnectTimeout):
        return f"connect timeout after {timeout:g} s"
    if isinstance(error, httpx.TimeoutException):
        return f"timeout after {timeout:g} s without progress"
    if isinstance(error, httpx.ConnectError):
        refused = refusal_reason(error)
        if refused:
            # How to fix it, for the operator testing with a file server on their own machine.
            return f"{refused}; an operator may allow its network with {SOURCE_NETWORKS_ENV}"
        return _connect_reason(error)
    if isinstance(error, httpx.UnsupportedProtocol):
        return "redirected to an unsupported URL scheme"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the server closed the connection before the body was complete"
    return f"transfer failed ({type(error).__name__})"


def _connect_reason(error: BaseException) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name could not be resolved"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text:
        return "host name could not be resolved"
    return "connection failed"
