"""A registry that wants bearer tokens, and the small token server that issues them.

Debian's docker-registry checks RS256 tokens whose ``x5c`` certificate chains to its
``rootcertbundle``; the server here signs with a fresh self-signed key (made by the openssl
program) and grants pull and push on every repository except those under ``private/`` (refused
with 401, as a real token server refuses an anonymous client; the tests' pusher is let in, and
so is a client whose Basic credentials are among ``users``).
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

SERVICE = "c2d-test-registry"
ISSUER = "c2d-test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(self, folder: Path) -> None:
        self._key = folder / "token-key.pem"
        self.bundle = folder / "token-ca.pem"
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={ISSUER}", "-keyout", str(self._key), "-out", str(self.bundle),
        )  # fmt: skip
        der = _openssl("x509", "-in", str(self.bundle), "-outform", "DER")
        self._x5c = base64.b64encode(der).decode()
        self.issued = 0

    def token(self, scope: str, pusher: bool = False) -> str | None:
        kind, _, rest = scope.partition(":")
        repository, _, _actions = rest.rpartition(":")
        if repository.startswith("private/") and not pusher:
            return None
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [self._x5c],
        }
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": str(now) + str(self.issued),
            "access": [{"type": kind, "name": repository, "actions": ["pull", "push"]}],
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = _openssl("dgst", "-sha256", "-sign", str(self._key), stdin=signing_input)
        self.issued += 1
        return f"{signing_input}.{_b64(signature)}"


@contextmanager
def token_server(issuer: TokenIssuer, users: dict[str, str] | None = None) -> Iterator[str]:
    """Yields the realm URL; ``users`` (name → password) may pull ``private/`` images."""
    known = {
        "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()
        for name, password in (users or {}).items()
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            user = self.headers.get("Authorization", "") in known
            token = issuer.token(query.get("scope", [""])[0], pusher=user)
            body = json.dumps({"token": token}).encode() if token else b"{}"
            self.send_response(200 if token else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()


def _openssl(*args: str, stdin: str = "") -> bytes:
    done = subprocess.run(["openssl", *args], input=stdin.encode(), capture_output=True, check=True)
    return done.stdout


def token_auth_config(realm: str, issuer: TokenIssuer) -> str:
    """The ``auth`` section of a registry config that wants this issuer's tokens."""
    return (
        f"auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n"
        f"    issuer: {ISSUER}\n    rootcertbundle: {issuer.bundle}\n"
    )
