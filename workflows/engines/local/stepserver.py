"""StepServer: runs the trusted steps as children forked from a pre-started helper process.

A new Python process per step spends ~250 ms importing pydantic, httpx and the steps; the helper
(``_zygote.py``) imports them once and forks a child per step (a few ms). The helper starts with
a clean environment (no provider settings or secrets), inherits only its control socket, and is
started from this module's own reader thread, so its parent-death signal fires only when the
provider (or this server) goes away. A step child behaves as ``python -m steps.X``: its own
process group, the step's environment only, exit codes as the interpreter's, killed with its
helper. If the helper dies, running steps end as killed (137) and the next step starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workflows.engines.local._zygote import PRELOADED

__all__ = ["ForkedStep", "StepServer", "open_for_append", "step_module"]

_log = logging.getLogger("c2d.engine")
_LOST = -9  # a step whose helper died was killed with it (SIGKILL)
_MAX_MESSAGE = 1 << 16
_BASE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def step_module(
    argv: Sequence[str], modules: Sequence[str] = PRELOADED
) -> tuple[str, list[str]] | None:
    """``(module, args)`` when ``argv`` is ``python -m <preloaded step> ...``, else None."""
    python = len(argv) >= 3 and Path(argv[0]).name.startswith("python") and argv[1] == "-m"
    if python and argv[2] in modules:
        return argv[2], list(argv[3:])
    return None


class ForkedStep:
    """A running step child, shaped like the ``Popen`` that ``RunningStep`` waits on and kills."""

    def __init__(self, server: StepServer, request: int) -> None:
        self._server = server
        self._request = request
        self._started = threading.Event()
        self._ended = threading.Event()
        self.pid = 0
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"step {self._request}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        """Kill the child's whole process group (through the helper: no pid reuse race)."""
        if not self._ended.is_set():
            self._server.kill(self._request)

    def _set_pid(self, pid: int) -> None:
        self.pid = pid
        self._started.set()

    def _set_code(self, code: int) -> None:
        self.returncode = code
        self._started.set()
        self._ended.set()


class StepServer:
    """The client side: starts the helper on first use, sends requests, dispatches replies."""

    def __init__(
        self,
        python: str = sys.executable,
        log_file: Path | None = None,
        modules: Sequence[str] = PRELOADED,
        python_path: str | None = None,
    ) -> None:
        """``modules``: the steps it runs; ``python_path``: where else to import them from."""
        self.modules = tuple(modules)
        self._env = {**_BASE_ENV, **({"PYTHONPATH": python_path} if python_path else {})}
        self._python = python
        self._log_file = log_file
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._pending: dict[int, ForkedStep] = {}
        self._next = 0
        self._closed = False
        self.helper_pid = 0

    def start(
        self, module: str, args: Sequence[str], env: Mapping[str, str], stderr: Path | int
    ) -> ForkedStep:
        """Fork ``python -m module args`` with exactly ``env``, stdout and stderr to ``stderr``
        (a file appended to, or a descriptor the caller keeps and closes)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the step server is closed")
            control = self._socket or self._spawn()
            self._next += 1
            step = ForkedStep(self, self._next)
            self._pending[step._request] = step
            message = {"id": step._request, "module": module, "args": list(args), "env": dict(env)}
            fd = stderr if isinstance(stderr, int) else open_for_append(stderr)
            try:
                socket.send_fds(control, [json.dumps(message).encode()], [fd])
            except OSError:
                self._pending.pop(step._request, None)
                raise
            finally:
                if not isinstance(stderr, int):
                    os.close(fd)
        return step

    def kill(self, request: int) -> None:
        with self._lock:
            control = self._socket
        if control is not None:
            with contextlib.suppress(OSError):
                control.send(json.dumps({"kill": request}).encode())

    def close(self) -> None:
        """Close the socket: the helper kills what still runs and exits."""
        with self._lock:
            self._closed = True
            control, self._socket = self._socket, None
        if control is not None:
            with contextlib.suppress(OSError):
                control.shutdown(socket.SHUT_RDWR)

    def _spawn(self) -> socket.socket:
        """Under the lock: start the helper from a new reader thread; returns our socket end."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ready = threading.Event()
        thread = threading.Thread(
            target=self._read, args=(ours, theirs, ready), name="c2d-step-server", daemon=True
        )
        thread.start()
        ready.wait()
        self._socket = ours
        return ours

    def _read(self, ours: socket.socket, theirs: socket.socket, ready: threading.Event) -> None:
        """The reader thread: it starts the helper (whose parent-death signal is bound to this
        thread), then delivers its replies until the helper or the socket goes away."""
        try:
            process = self._popen(theirs)
        finally:
            theirs.close()
            ready.set()
        self.helper_pid = process.pid
        while True:
            try:
                data = ours.recv(_MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            reply: dict[str, Any] = json.loads(data)
            with self._lock:
                step = self._pending.get(int(reply["id"]))
                if step is not None and "code" in reply:
                    del self._pending[int(reply["id"])]
            if step is not None:
                if "code" in reply:
                    step._set_code(int(reply["code"]))
                else:
                    step._set_pid(int(reply["pid"]))
        process.wait()
        with self._lock:
            if self._socket is ours:
                self._socket = None
            lost, self._pending = list(self._pending.values()), {}
        ours.close()
        if lost and not self._closed:
            _log.warning("the step server exited; %d running step(s) were killed", len(lost))
        for step in lost:
            step._set_code(_LOST)

    def _popen(self, theirs: socket.socket) -> subprocess.Popen[bytes]:
        # Only the socket is inherited (the helper moves it to fd 3), and no environment.
        log = self._log_file.open("ab") if self._log_file else None
        try:
            return subprocess.Popen(
                [self._python, "-c", _BOOT, str(theirs.fileno()), *self.modules],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log or subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                cwd="/",
                start_new_session=True,
            )
        finally:
            if log is not None:
                log.close()


def open_for_append(path: Path) -> int:
    """A step's stderr file: appended to, created private (0600), not inherited."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)


# Moves the inherited socket to fd 3, then runs the helper.
_BOOT = (
    "import os, sys; fd = int(sys.argv[1]); fd != 3 and (os.dup2(fd, 3, inheritable=False),"
    " os.close(fd)); from workflows.engines.local._zygote import main;"
    " raise SystemExit(main(tuple(sys.argv[2:])))"
)
