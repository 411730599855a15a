"""The provider's HTTP protocol answers ASGI ``pathsend`` with sendfile: whole bodies, keep-alive
after them, HEAD, and a client leaving mid-body."""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provider.api.sendfile import PATHSEND, SendfileHttpProtocol
from tests.provider.api.served import served_on_loopback

_SIZE = 32 * 2**20 + 123  # several socket buffers, and not a multiple of any of them


def _app_for(path: Path) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if PATHSEND not in scope.get("extensions", {}):
            await send({"type": "http.response.start", "status": 501, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-length", str(path.stat().st_size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": PATHSEND, "path": str(path)})

    return app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    body = os.urandom(_SIZE)
    path = tmp_path / "outputs.tar"
    path.write_bytes(body)
    with served_on_loopback(_app_for(path), SendfileHttpProtocol) as port:
        yield port, body


def test_a_whole_body_arrives_and_the_connection_stays_usable(
    served: tuple[int, bytes],
) -> None:
    port, body = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(2):  # the second request reuses the kept-alive connection
        connection.request("GET", "/result")
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == body
    connection.close()


def test_head_answers_the_length_without_a_body(served: tuple[int, bytes]) -> None:
    port, body = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("HEAD", "/result")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("content-length") == str(len(body))
    assert response.read() == b""
    connection.request("GET", "/result")  # nothing of a body was left on the connection
    assert connection.getresponse().read() == body
    connection.close()


def test_a_client_leaving_mid_body_does_not_stop_the_server(served: tuple[int, bytes]) -> None:
    port, body = served
    for _ in range(3):
        leaving = socket.create_connection(("127.0.0.1", port), timeout=10)
        leaving.sendall(b"GET /result HTTP/1.1\r\nHost: x\r\n\r\n")
        assert leaving.recv(4096).startswith(b"HTTP/1.1 200")
        leaving.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        leaving.close()  # a reset while the server is still sending
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/result")
    assert connection.getresponse().read() == body
    connection.close()


def test_no_sendfile_call_is_asked_for_more_than_a_chunk(
    served: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One call asked for the whole file ran as long as the client kept up (on loopback, a
    GiB took the event loop for hundreds of ms); each call is now bounded, the body intact."""
    port, body = served
    asked: list[int] = []
    real_sendfile = os.sendfile

    def recording_sendfile(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        asked.append(count)
        return real_sendfile(out_fd, in_fd, offset, count)

    monkeypatch.setattr(os, "sendfile", recording_sendfile)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/result")
    assert connection.getresponse().read() == body
    connection.close()
    assert asked and max(asked) <= 8 * 2**20, asked[:5]
