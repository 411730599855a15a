"""The loopback ceiling for result downloads: a bare server answering every GET with one file by
blocking ``sendfile(2)``, no HTTP parsing, no framework (what no provider can beat here)."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

__all__ = ["BareSendfile"]


class BareSendfile:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._listener.close()  # the accept in the thread fails; the thread ends

    def _serve(self) -> None:
        size = self._path.stat().st_size
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with client, self._path.open("rb") as file:
                client.recv(65536)
                client.sendall(head)
                offset = 0
                while offset < size:
                    offset += os.sendfile(client.fileno(), file.fileno(), offset, size - offset)
