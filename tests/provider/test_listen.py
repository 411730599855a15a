"""The provider's listening socket: what each accepted connection inherits from it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from provider.errors import ConfigError
from provider.listen import listen


async def _accepted_nodelay(sock: socket.socket) -> int:
    """Serve ``sock`` as uvicorn does (``create_server(sock=...)``) and report TCP_NODELAY of
    the connection it accepts."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    host, port = sock.getsockname()[:2]
    _, writer = await asyncio.open_connection(host, port)
    try:
        return await asyncio.wait_for(seen, 10)
    finally:
        writer.close()
        server.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accepted_connections_have_nagle_off(host: str) -> None:
    # With Nagle on, a keep-alive client's status poll waited for its own delayed ACK (40 ms)
    # on every response uvicorn writes in two pieces; asyncio turns it off only for sockets
    # whose protocol is TCP, which socket.create_server leaves unnamed.
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    sock = listen(host, 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_accepted_nodelay(sock)) != 0


def test_a_port_in_use_is_a_config_error() -> None:
    first = listen("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match="stop what uses it or pick another --port"):
            listen("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()
