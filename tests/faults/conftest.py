"""Faults on purpose: providers with a config of their own, and hooks that hold a job in a phase.

A phase is held by something the test releases, never by a sleep: a data source that answers
only when released (configure), an algorithm that waits for a file the test drops into its
outputs folder (algorithm), a fifo where publish writes its first file (publish).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from provider.environments import default_config

__all__ = [
    "HELD_ALGORITHM",
    "READY",
    "HeldSource",
    "fifo",
    "held_source",
    "job_folder",
    "release_algorithm",
    "start_provider",
    "wait_algorithm_ready",
    "write_config",
]

# What a held algorithm prints once it runs, and the file that lets it finish.
READY = "algorithm ready"
RELEASE = "release"
# Appends one line per run to a marker in its outputs, waits for RELEASE, then ends.
HELD_ALGORITHM = f"""
import os, time
out = os.environ["OUTPUTS"]
with open(os.path.join(out, "runs"), "a") as marker:
    marker.write("ran\\n")
print({READY!r}, flush=True)
while not os.path.exists(os.path.join(out, {RELEASE!r})):
    time.sleep(0.05)
os.remove(os.path.join(out, {RELEASE!r}))
print("algorithm done", flush=True)
"""
BODY = b"a,b\n1,2\n"


def write_config(home: Path, **overrides: Any) -> Path:
    """The default environment with ``overrides`` (camelCase keys) as a C2D_CONFIG file."""
    home.mkdir(parents=True, exist_ok=True)
    env = default_config(home).environments[0].model_dump(by_alias=True, exclude_none=True)
    env.update(overrides)
    path = home / "environments.json"
    path.write_text(json.dumps({"environments": [env]}))
    return path


def start_provider(home: Path, **overrides: Any) -> ServerProcess:
    """``c2d serve`` on ``home`` with loopback sources opted in and the config overrides."""
    config = write_config(home, **overrides)
    return start_server(home, env={"C2D_CONFIG": str(config), "C2D_SOURCE_NETWORKS": "127.0.0.0/8"})


def job_folder(home: Path, job_id: str, *parts: str) -> Path:
    """A job's working folder on the host (what the tests, as root, reach into)."""
    return home.resolve() / "jobs" / job_id / "volume" / "data" / Path(*parts)


def wait_algorithm_ready(client: C2DClient, job_id: str) -> None:
    """The live log says the held algorithm runs (and has written its marker)."""
    seen = b""
    for chunk in client.logs(job_id):
        seen += chunk
        if READY.encode() in seen:
            return
    raise AssertionError(f"job {job_id}: the algorithm ended without {READY!r}: {seen!r}")


def release_algorithm(home: Path, job_id: str) -> None:
    (job_folder(home, job_id, "outputs") / RELEASE).touch()


class HeldSource:
    """Loopback HTTP: ``/held/<name>`` answers only once ``release(name)`` is called;
    ``/hang`` never answers; ``/stall`` sends half its body and stops. Counts every request."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._arrived = threading.Condition()
        self._released: dict[str, threading.Event] = {}
        self._closing = threading.Event()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    source._serve(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/{path}"

    def release(self, name: str) -> None:
        self._event(name).set()

    def wait_for_hits(self, path: str, count: int, timeout: float = 60) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.hits[path] >= count, timeout):
                raise AssertionError(f"{path}: {self.hits[path]} request(s), wanted {count}")

    def close(self) -> None:
        self._closing.set()
        for event in list(self._released.values()):
            event.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _event(self, name: str) -> threading.Event:
        with self._arrived:
            return self._released.setdefault(name, threading.Event())

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0].strip("/")
        with self._arrived:
            self.hits[path] += 1
            self._arrived.notify_all()
        kind, _, name = path.partition("/")
        if kind == "held":
            self._event(name).wait()
        elif kind == "hang":
            self._closing.wait()
            return
        elif kind == "stall":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(BODY) * 2))
            handler.end_headers()
            handler.wfile.write(BODY)
            handler.wfile.flush()
            self._closing.wait()
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(BODY)))
        handler.end_headers()
        handler.wfile.write(BODY)


@contextlib.contextmanager
def held_source() -> Iterator[HeldSource]:
    source = HeldSource()
    try:
        yield source
    finally:
        source.close()


def fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.mkfifo(path, 0o600)
