"""The bench clients' HTTP: one keep-alive ``http.client`` connection per thread.

The load generator shares the two cores with the provider it measures, so its own CPU is taken
from the jobs it waits for. httpx spends about three times what the standard library's client
does on a small JSON request (its transport, pool and models in Python); a marketplace runs on
a machine of its own, so the cheaper client is the honest one here. Requests and answers are
the same bytes either way.
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["Answer", "KeepAliveClient"]


class Answer:
    """A response: its status, body and that body read as JSON."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class KeepAliveClient:
    """``get``/``post`` on ``base_url`` (``http://host:port``), each thread on its own kept
    connection, opened again once when the server has closed it between requests."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"an http://host:port address is needed, not {base_url!r}")
        self._host, self._port = parts.hostname, parts.port
        self._timeout = timeout
        self._local = threading.local()

    def get(self, path: str, params: dict[str, str]) -> Answer:
        return self._request("GET", f"{path}?{urlencode(params)}", None)

    def post(self, path: str, body: dict[str, Any]) -> Answer:
        return self._request("POST", path, json.dumps(body).encode())

    def _request(self, method: str, target: str, body: bytes | None) -> Answer:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        reused = getattr(self._local, "connection", None) is not None
        connection = self._connection()
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.read())
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            connection.close()
            self._local.connection = None
            if not reused:
                raise
        # A kept connection the server closed while it was idle (so before reading this
        # request): the request is sent once more, on a new connection.
        return self._request(method, target, body)

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection
