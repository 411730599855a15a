"""A loopback HTTP server with misbehaving endpoints, a mapped job folder, and a step runner."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.support import make_spec as workflow_spec
from workflows import contract
from workflows.engines.local.stepserver import StepServer
from workflows.spec import JobSpec

ROOT = Path(__file__).resolve().parents[2]
BODY = bytes(range(256)) * 12  # 3072 bytes
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()
# Past the size configure writes in its own thread (steps/background_writer.py).
LARGE = bytes(range(256)) * 4096 * 20  # 20 MiB
LARGE_SHA256 = hashlib.sha256(LARGE).hexdigest()
ALGORITHM_CODE = b"print('hello')\n"
TIMEOUT = 0.5


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        # The client hanging up mid-body is what several tests provoke.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            getattr(self, "_" + path.strip("/").replace("-", "_"), self._not_found)()

    def _send(self, body: bytes, status: int = 200, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self) -> None:
        self._send(b"nope", 404)

    def _file(self) -> None:
        self._send(BODY)

    def _large(self) -> None:
        self._send(LARGE)

    def _algorithm(self) -> None:
        self._send(ALGORITHM_CODE)

    def _error(self) -> None:
        self._send(b"boom", 500)

    def _private(self) -> None:
        ok = self.headers.get("X-Token") == "s3cret" and self.command == "POST"
        self._send(BODY if ok else b"denied", 200 if ok else 403)

    def _hang(self) -> None:
        time.sleep(TIMEOUT * 4)
        self._send(BODY)

    def _lying(self) -> None:
        self._send(BODY[:100], length=1000)
        self.close_connection = True

    def _huge(self) -> None:
        self._send(b"", length=10**12)

    def _endless(self) -> None:
        self.send_response(200)
        self.end_headers()  # HTTP/1.0, no Content-Length: the body ends when the server closes
        while True:
            self.wfile.write(b"x" * 65536)

    def _drip(self) -> None:
        self.send_response(200)
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.05)

    def _redirect(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/file")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _loop(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/loop")
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/{name}"


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@dataclass
class Job:
    root: Path
    mounts: dict[str, str]
    server: StepServer
    extra_env: dict[str, str] = field(
        default_factory=lambda: {contract.SOURCE_NETWORKS_ENV: "127.0.0.0/8"}
    )

    def host(self, contract_path: str) -> Path:
        for mount in sorted(self.mounts, key=len, reverse=True):
            if contract_path == mount or contract_path.startswith(mount + "/"):
                return Path(self.mounts[mount] + contract_path[len(mount) :])
        raise AssertionError(contract_path)

    def write_spec(self, spec: JobSpec) -> None:
        path = self.host(contract.SPEC_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec.model_dump_json())

    def run(self, step: str) -> subprocess.CompletedProcess[str]:
        """``python -m steps.<step>``, forked from the step server as the local engine runs it
        (the same exit codes and output as its own process: tests/workflows/test_stepserver.py),
        without an interpreter start per test. ``stderr`` holds stdout and stderr."""
        # The test server is on loopback: allowed explicitly, as the SSRF guard refuses it.
        env = {**os.environ, contract.PATH_MAP_ENV: json.dumps(self.mounts), **self.extra_env}
        output = self.root / f"{step}.output"
        started = self.server.start(f"steps.{step}", [], env, output)
        try:
            code = started.wait(30)
        finally:
            started.kill()
        return subprocess.CompletedProcess([step], code, "", output.read_text())

    def log(self, contract_path: str) -> str:
        return self.host(contract_path).read_text()


@pytest.fixture(scope="session")
def step_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StepServer]:
    served = StepServer(
        log_file=tmp_path_factory.mktemp("step-server") / "helper.stderr",
        modules=("steps.configure", "steps.publish"),
        python_path=str(ROOT),
    )
    yield served
    served.close()


@pytest.fixture
def job(tmp_path: Path, step_server: StepServer) -> Job:
    volume = tmp_path / "volume"
    mounts = {
        contract.DATA: str(volume / "data"),
        contract.ADMIN_LOGS: str(volume / "admin"),
        contract.SPEC_DIR: str(tmp_path / "spec"),
        contract.RESULTS: str(tmp_path / "results" / "job"),
    }
    return Job(tmp_path, mounts, step_server)


def make_spec(inputs: Any = None, algorithm: Any = None, **limits: Any) -> JobSpec:
    """The workflows tests' spec, with short download timeouts; ``limits`` override them."""
    return workflow_spec(
        inputs=inputs,
        algorithm=algorithm or {"rawcode": "print(1)\n"},
        **{"download_timeout": TIMEOUT, **limits},
    )
