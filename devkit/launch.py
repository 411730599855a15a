"""Start a real ``c2d serve`` process and wait until it answers (demo and end-to-end tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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
    # Ctrl-C is held for the whole start and acted on here. Raised where it lands, it could land
    # inside Popen after the fork, or before the handle was kept: the provider then ran on with
    # nothing left to stop it (the demo removed its home under it).
    with _interrupt_held() as interrupted:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
        if _wait_until_ready(server, time.monotonic() + ready_timeout, interrupted):
            return server
        server.stop()
        if interrupted:
            raise KeyboardInterrupt
    raise RuntimeError(
        f"c2d serve did not answer within {ready_timeout} s:\n{log_path.read_text()[-3000:]}"
    )


def _wait_until_ready(server: ServerProcess, deadline: float, interrupted: _Held) -> bool:
    """True once it answers; False at the deadline or a Ctrl-C; raises if it exits."""
    while time.monotonic() < deadline and not interrupted:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"c2d serve exited with {server.process.returncode}:\n"
                f"{server.log_path.read_text()[-3000:]}"
            )
        try:
            if httpx.get(server.url + "/", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


class _Held:
    def __init__(self) -> None:
        self.arrived = False

    def __bool__(self) -> bool:
        return self.arrived

    def note(self, signum: int, frame: object) -> None:
        self.arrived = True


@contextlib.contextmanager
def _interrupt_held() -> Iterator[_Held]:
    """SIGINT is noted instead of raised while the block runs (the main thread's Ctrl-C; other
    threads never receive it). The child of a fork inside keeps no Python handler past exec."""
    held = _Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = signal.signal(signal.SIGINT, held.note)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)
