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
        # SO_REUSEADDR (set by create_server): a restart may bind while old connections linger.
        return socket.create_server((host, port), family=family, backlog=_BACKLOG)
    except OSError as error:
        hint = "stop what uses it or pick another --port"
        if error.errno != errno.EADDRINUSE:
            hint = "check --host and --port"
        raise ConfigError(
            f"cannot listen on {listening_url(host, port)}: {os.strerror(error.errno or 0)}; {hint}"
        ) from None
