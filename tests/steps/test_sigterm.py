"""A stop or an eviction ends a pod's PID 1 at once: the algorithm's shell and the steps handle
SIGTERM, which PID 1 would otherwise ignore (reproduced with a pid namespace of its own)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_need
from tests.steps.conftest import Job, make_spec
from workflows import contract
from workflows.algorithm_pod import _RUN_AND_FOLLOW

_BOUND = 60  # seconds: far above a handled SIGTERM, far below an ignored one's wait


def _as_pid1(argv: list[str], **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", *argv], **options)  # type: ignore[call-overload, no-any-return]


def _pid1(launcher: subprocess.Popen[str]) -> int:
    """The outer pid of the process that is PID 1 in the launcher's new pid namespace."""
    return _pid1_of(launcher.pid)


def _pid1_of(parent: int, command: str | None = None) -> int:
    """The outer pid of the first child of ``parent`` (that runs ``command``), once it has one."""
    for _ in range(600):
        for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            with contextlib.suppress(FileNotFoundError):  # a child that has just ended
                if command is None or Path(f"/proc/{child}/comm").read_text() == command + "\n":
                    return int(child)
        subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError(f"{parent} started nothing")


def _wait_for(path: Path, text: str) -> None:
    for _ in range(1200):
        if path.exists() and text in path.read_text():
            return
        subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError(f"{path} never held {text!r}")


def _follow(log: Path, algorithm: str) -> subprocess.Popen[str]:
    script = _RUN_AND_FOLLOW.replace(contract.ALGORITHM_LOG, str(log))
    return _as_pid1(
        ["/bin/sh", "-c", script, "algorithm", "/bin/sh", "-c", algorithm],
        stdout=subprocess.DEVNULL,
        text=True,
    )


def test_sigterm_ends_the_algorithm_through_the_shell(tmp_path: Path) -> None:
    log = tmp_path / "algorithm.log"
    shell = _follow(log, "echo started; exec sleep 600")
    try:
        _wait_for(log, "started")
        os.kill(_pid1(shell), signal.SIGTERM)
        assert shell.wait(_BOUND) == 128 + signal.SIGTERM
    finally:
        shell.kill()


def test_an_algorithm_that_handles_sigterm_ends_with_its_own_code(tmp_path: Path) -> None:
    log = tmp_path / "algorithm.log"
    shell = _follow(
        log, "trap 'echo saved; exit 0' TERM; echo started; while :; do sleep 0.1; done"
    )
    try:
        _wait_for(log, "started")
        os.kill(_pid1(shell), signal.SIGTERM)
        assert shell.wait(_BOUND) == 0
        assert log.read_text() == "started\nsaved\n"
    finally:
        shell.kill()


def _strace() -> str:
    strace = shutil.which("strace")
    if strace is None:
        missing_need("needs strace on PATH (`make test` installs it)")
    return strace


def test_a_sigterm_while_the_shell_starts_the_algorithm_still_reaches_it(tmp_path: Path) -> None:
    """The shell's fork is held (strace, from outside, delays each process's first fork's return)
    so the algorithm runs while its PID 1 has not yet taken its pid: a SIGTERM then was ignored
    when the trap came after the fork (the CI flake of the test above, one run in a few)."""
    log = tmp_path / "algorithm.log"
    script = _RUN_AND_FOLLOW.replace(contract.ALGORITHM_LOG, str(log))
    algorithm = "trap 'echo saved; exit 0' TERM; echo started; while :; do sleep 0.1; done"
    held = [_strace(), "-f", "-qq", "-o", "/dev/null", "-e", "trace=clone,fork,vfork"]
    held += ["-e", "inject=clone,fork,vfork:delay_exit=500000:when=1"]
    as_pid1 = ["unshare", "--pid", "--fork", "--kill-child"]
    # A session of its own: the whole tree (strace, unshare, the shell, the algorithm) is one
    # process group, killed at once whatever state the test ends in. Killing strace alone would
    # let its tracees run on.
    shell = subprocess.Popen(
        [*held, *as_pid1, "/bin/sh", "-c", script, "algorithm", "/bin/sh", "-c", algorithm],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # strace -> unshare -> the shell (strace first forks children of its own, to probe the
        # kernel, which end at once)
        pid1 = _pid1_of(_pid1_of(shell.pid, "unshare"))
        _wait_for(log, "started")
        os.kill(pid1, signal.SIGTERM)
        assert shell.wait(_BOUND) == 0
        assert log.read_text() == "started\nsaved\n"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()


@pytest.fixture
def stalled() -> Iterator[socket.socket]:
    """A data source that accepts the connection and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


def test_sigterm_ends_configure_mid_download(job: Job, stalled: socket.socket) -> None:
    port = stalled.getsockname()[1]
    source = {"url": f"http://127.0.0.1:{port}/data.csv"}
    spec = make_spec([{"folder": "0", "files": [source]}], download_timeout=600)
    job.write_spec(spec)
    env = {**os.environ, contract.PATH_MAP_ENV: json.dumps(job.mounts), **job.extra_env}
    # On a timeout the step's Python stacks (faulthandler, on SIGABRT) say where it waits.
    env["PYTHONFAULTHANDLER"] = "1"
    step = _as_pid1(
        [sys.executable, "-m", "steps.configure"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        connection, _ = stalled.accept()  # configure is now waiting for the data
        with connection:
            pid1 = _pid1(step)
            os.kill(pid1, signal.SIGTERM)
            try:
                _, stderr = step.communicate(timeout=_BOUND)
            except subprocess.TimeoutExpired:
                # faulthandler writes the stacks; as PID 1 the process then lives on.
                os.kill(pid1, signal.SIGABRT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    step.wait(2)
                with contextlib.suppress(ProcessLookupError):  # the abort may have ended it
                    os.kill(pid1, signal.SIGKILL)
                _, stacks = step.communicate(timeout=_BOUND)
                raise AssertionError(f"configure ignored SIGTERM; its stacks:\n{stacks}") from None
        assert step.returncode == 128 + signal.SIGTERM
        assert "configure: stopped by SIGTERM (a stop, an eviction or a deadline)" in stderr
    finally:
        step.kill()


# A signal that lands after Python's last check and before a blocking call starts only sets a
# flag: the call is not interrupted and waits out its timeout (configure sat out about one
# SIGTERM in forty, at the moment it began to wait for an answer). A signal taken by another
# thread leaves the main thread's call just as uninterrupted, every time.
_SIGTERM_OUTSIDE_THE_READ = """
import os, signal, sys, threading
from steps.runtime import run_step

def main() -> int:
    never_written, _ = os.pipe()
    def sigterm_to_this_thread() -> None:
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
    threading.Timer(0.2, sigterm_to_this_thread).start()
    os.read(never_written, 1)
    return 0

sys.exit(run_step("probe", main))
"""


def test_a_sigterm_that_misses_the_blocking_read_still_ends_the_step() -> None:
    step = subprocess.Popen(
        [sys.executable, "-c", _SIGTERM_OUTSIDE_THE_READ],
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = step.communicate(timeout=_BOUND)
    finally:
        step.kill()
    assert step.returncode == 128 + signal.SIGTERM, stderr
    assert stderr == "probe: stopped by SIGTERM (a stop, an eviction or a deadline)\n"
