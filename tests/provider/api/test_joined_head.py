"""A response's head leaves in the same write as its first body bytes (one send per small
answer), over a real uvicorn server with the provider's protocol: JSON, HEAD, a streamed body,
a connection the server closes, and a file by pathsend after its head."""

from __future__ import annotations

import asyncio.selector_events
import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provider.api.http_protocol import ProviderHttpProtocol
from provider.api.sendfile import PATHSEND
from tests.provider.api.served import served_on_loopback

_BODY = b'[{"status": 70}]'


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    headers = [(b"content-type", b"application/json")]
    if path == "/file":
        file = Path(scope["query_string"].decode())
        headers = [(b"content-length", str(file.stat().st_size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": PATHSEND, "path": str(file)})
        return
    headers.append((b"content-length", str(len(_BODY)).encode()))
    if path == "/close":
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _BODY})


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What the server's socket transports were asked to write, one item per write."""
    written: list[bytes] = []
    transport = asyncio.selector_events._SelectorSocketTransport
    write = transport.write

    def recorded(self: Any, data: bytes) -> None:
        written.append(bytes(data))
        write(self, data)

    monkeypatch.setattr(transport, "write", recorded)
    return written


@pytest.fixture
def port(writes: list[bytes]) -> Iterator[int]:
    with served_on_loopback(_app, ProviderHttpProtocol) as served:
        yield served


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_json_answer_is_one_write(port: int, writes: list[bytes]) -> None:
    assert _get(port, "/poll") == (200, _BODY)
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n" + _BODY)


def test_a_head_request_gets_its_head_alone(port: int, writes: list[bytes]) -> None:
    assert _get(port, "/poll", "HEAD") == (200, b"")
    assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\n")


def test_a_streamed_body_joins_only_its_first_part(port: int, writes: list[bytes]) -> None:
    assert _get(port, "/stream") == (200, b"onetwo")
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n3\r\none\r\n")
    assert writes[1:] == [b"3\r\ntwo\r\n", b"0\r\n\r\n"]


def test_a_connection_the_server_closes_still_gets_head_and_body(
    port: int, writes: list[bytes]
) -> None:
    assert _get(port, "/close") == (200, _BODY)
    assert len(writes) == 1 and b"connection: close" in writes[0]


def test_a_file_by_pathsend_follows_its_head(
    port: int, writes: list[bytes], tmp_path: Path
) -> None:
    file = tmp_path / "result.bin"
    file.write_bytes(b"x" * 100_000)
    assert _get(port, f"/file?{file}") == (200, b"x" * 100_000)
    # The head alone, then the body by sendfile, then uvicorn's empty end of body: written
    # after the client has the whole file, so the test may look before or after it.
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")
    assert writes[1:] in ([], [b""])
