"""A file origin on 127.0.0.1 whose handling of ``Range`` each test picks, and which records the
requests it got (path with query, and the Range header)."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

__all__ = ["Mode", "Origin"]

# ranges: answers 206 as RFC 9110 says; ignores: 200 with the whole file and its length;
# unsized: 200 without a length (chunked); lies: 206 with bytes other than those asked for.
Mode = Literal["ranges", "ignores", "unsized", "lies"]
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Origin:
    def __init__(self, files: dict[str, bytes], mode: Mode = "ranges") -> None:
        self.files = files
        self.mode: Mode = mode
        self.requests: list[tuple[str, str | None]] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                origin.requests.append((self.path, self.headers.get("Range")))
                body = origin.files.get(self.path.split("?", 1)[0].lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                origin.answer(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        wanted = _RANGE.fullmatch(handler.headers.get("Range") or "")
        if self.mode == "unsized":
            handler.send_response(200)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            return
        if wanted is None or self.mode == "ignores":
            self._send(handler, 200, body, {})
            return
        first, last = _place(wanted.group(1), wanted.group(2), len(body))
        if first > last:
            self._send(handler, 416, b"", {"Content-Range": f"bytes */{len(body)}"})
            return
        if self.mode == "lies":
            first, last = first + 1, min(last + 1, len(body) - 1)
        part = body[first : last + 1]
        self._send(handler, 206, part, {"Content-Range": f"bytes {first}-{last}/{len(body)}"})

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _place(first: str, last: str, total: int) -> tuple[int, int]:
    """Bytes first..last of a file of ``total``; first > last when none can be sent."""
    if not first:
        return max(0, total - int(last or 0)), total - 1 if last and int(last) else -1
    return int(first), min(int(last), total - 1) if last else total - 1
