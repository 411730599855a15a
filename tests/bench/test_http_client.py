"""The bench clients' keep-alive HTTP client against a real HTTP/1.1 server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench.http_client import KeepAliveClient


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self) -> None:
        self._answer(200, {"path": self.path, "peer": self.client_address[1]})
        if self.path.startswith("/close"):
            self.close_connection = True  # as a server ending an idle keep-alive connection

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(201, {"got": body, "type": self.headers["Content-Type"]})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_requests_of_a_thread_share_one_kept_connection(server: str) -> None:
    client = KeepAliveClient(server, timeout=5)
    answers = [client.get("/api/services/compute", {"jobId": str(n), "a": "b c"}) for n in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert [a.json()["path"] for a in answers] == [
        f"/api/services/compute?jobId={n}&a=b+c" for n in range(3)
    ]
    assert len({a.json()["peer"] for a in answers}) == 1


def test_a_post_sends_its_body_as_json(server: str) -> None:
    answer = KeepAliveClient(server, timeout=5).post("/start", {"nonce": "1", "n": [1, 2]})
    assert answer.status_code == 201
    assert answer.json() == {"got": {"nonce": "1", "n": [1, 2]}, "type": "application/json"}
    assert json.loads(answer.text) == answer.json()


def test_a_connection_the_server_closed_is_opened_again(server: str) -> None:
    client = KeepAliveClient(server, timeout=5)
    first = client.get("/close", {})
    second = client.get("/again", {})
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["peer"] != second.json()["peer"]


def test_each_thread_has_its_own_connection(server: str) -> None:
    client = KeepAliveClient(server, timeout=5)
    peers: list[int] = []

    def ask() -> None:
        peers.append(client.get("/", {}).json()["peer"])

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(peers)) == 3


def test_no_server_is_an_error_not_a_retry_loop() -> None:
    client = KeepAliveClient("http://127.0.0.1:9", timeout=5)  # discard: nothing listens
    with pytest.raises(ConnectionRefusedError):
        client.get("/", {})


def test_only_an_http_host_and_port_is_taken() -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        KeepAliveClient("https://127.0.0.1:443", timeout=5)
    with pytest.raises(ValueError, match="http://host:port"):
        KeepAliveClient("http://127.0.0.1", timeout=5)
