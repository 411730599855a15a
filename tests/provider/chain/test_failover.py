"""RPC failover against real HTTP servers on loopback: dead URLs skipped, errors answered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from web3.exceptions import Web3RPCError

from devkit.launch import free_port
from provider.chain.client import ChainClient, ChainUnavailable


def _rpc_server(answer: dict[str, Any]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], **answer}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def answering() -> Iterator[str]:
    server = _rpc_server({"result": hex(31337)})
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_dead_first_rpc_is_skipped_and_the_answering_one_kept(answering: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = ChainClient([dead, answering], chain_id=31337, timeout=5)
    assert client.answering_chain_id() == 31337
    assert client.provider.current_url == answering


def test_none_answering_names_the_chain_and_each_url() -> None:
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    client = ChainClient(dead, chain_id=31337, timeout=5)
    with pytest.raises(ChainUnavailable) as error:
        client.answering_chain_id()
    message = str(error.value)
    assert message.startswith("chain 31337: no RPC answers")
    assert all(url in message for url in dead)


def test_a_json_rpc_error_is_an_answer_not_a_failover(answering: str) -> None:
    reverting = _rpc_server({"error": {"code": -32000, "message": "execution reverted"}})
    first = f"http://127.0.0.1:{reverting.server_address[1]}"
    try:
        client = ChainClient([first, answering], chain_id=31337, timeout=5)
        with pytest.raises(Web3RPCError, match="execution reverted"):
            client.answering_chain_id()
        assert client.provider.current_url == first
    finally:
        reverting.shutdown()


def test_a_rate_limited_rpc_is_skipped(answering: str) -> None:
    limited = _rpc_server({"error": {"code": -32005, "message": "limit exceeded"}})
    first = f"http://127.0.0.1:{limited.server_address[1]}"
    try:
        client = ChainClient([first, answering], chain_id=31337, timeout=5)
        assert client.answering_chain_id() == 31337
        assert client.provider.current_url == answering
    finally:
        limited.shutdown()
