"""The provider's listening socket, bound before anything else starts (so a clash fails first)."""

from __future__ import annotations

import errno
import os
import socket

from provider.errors import ConfigError

__all__ = ["listen", "listening_url"]

_BACKLOG = 2048  # uvicorn's default


def listening_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or ConfigError saying what to change."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
            0
        ][0]
    except socket.gaierror as error:
        raise ConfigError(f"cannot listen on {host}: {error.strerror}; check --host") from None
    try:
        return _bound(family, host, port)
    except OSError as error:
        hint = "stop what uses it or pick another --port"
        if error.errno != errno.EADDRINUSE:
            hint = "check --host and --port"
        raise ConfigError(
            f"cannot listen on {listening_url(host, port)}: {os.strerror(error.errno or 0)}; {hint}"
        ) from None


def _bound(family: int, host: str, port: int) -> socket.socket:
    # The protocol is named (not left 0, as socket.create_server leaves it): asyncio turns Nagle
    # off only on accepted sockets whose proto is TCP, and with Nagle on a keep-alive client
    # waited out its own delayed ACK (40 ms) on every response sent in two writes.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # A restart may bind while old connections linger.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
