"""Start a real ``c2d serve`` process and wait until it answers (demo and end-to-end tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["ServerProcess", "free_port", "start_server"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """kill -9: what a crash looks like to the provider."""
        self.process.kill()
        self.process.wait()


def start_server(
    home: Path, *, env: dict[str, str] | None = None, ready_timeout: float | None = None
) -> ServerProcess:
    """``ready_timeout``: default 180 s, or C2D_SERVE_READY_TIMEOUT.

    A provider that exits is reported at once; the deadline only ends a start that hangs. It
    was 30 s, which a first ``make demo`` on a busy 2-core machine overran (the first start
    compiles the byte code of every module), so the demo failed on a working provider.
    """
    if ready_timeout is None:
        ready_timeout = float(os.environ.get("C2D_SERVE_READY_TIMEOUT", "180"))
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "serve.log"
    environment = {**os.environ, "C2D_HOME": str(home), **(env or {})}
    # The URL it serves on is the one its published assets point at (publishResults).
    environment.setdefault("C2D_PUBLIC_URL", f"http://127.0.0.1:{port}")
    command = [
        sys.executable,
        "-m",
        "provider.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + ready_timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"c2d serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(server.url + "/", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    except KeyboardInterrupt:
        # Ctrl-C while it starts: the caller has no handle on it yet to stop it.
        server.stop()
        raise
    server.stop()
    raise RuntimeError(
        f"c2d serve did not answer within {ready_timeout} s:\n{log_path.read_text()[-3000:]}"
    )
