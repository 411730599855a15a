"""The HTTP protocol ``c2d serve`` runs: results sent by sendfile (``sendfile.py``), and a request
that cannot be parsed answered in JSON like every other error.

uvicorn answers a request line or header it cannot parse (a control character, a bad method)
itself, before any application code, with a plain-text 400 ("Invalid HTTP request
received."); clients and the API's schema expect ``{"error": ...}`` from every 4xx.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from provider.api.sendfile import SendfileHttpProtocol

__all__ = ["ProviderHttpProtocol"]


class ProviderHttpProtocol(SendfileHttpProtocol):
    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": msg}).encode()
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
