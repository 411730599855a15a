"""The step server's own process: imports the trusted steps once, forks one child per step.

Run by ``StepServer`` as ``python -m workflows.engines.local._zygote`` with a clean environment
and one inherited socket (fd 3, ``SOCK_SEQPACKET``). It reads requests
``{"id", "module", "args", "env"}`` (with the step's stderr file passed as an fd) and
``{"kill": id}``; it answers ``{"id", "pid"}`` when a child runs and ``{"id", "code"}`` when it
has ended (``code`` as ``os.waitstatus_to_exitcode``: negative for a signal). Each child is a
new session (its own process group), receives SIGKILL when this process dies, gets exactly the
step's environment and no inherited fd but stdin (/dev/null), stdout and stderr. When the
socket closes (the provider has gone), every child's group is killed and this process exits.
A served module must define ``main()`` (its ``__main__`` block's call); the child calls it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any

__all__ = ["PRELOADED", "main", "set_parent_death_signal"]

PRELOADED = ("steps.configure", "steps.publish")
CONTROL_FD = 3
_MAX_MESSAGE = 1 << 20
_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """prctl(PR_SET_PDEATHSIG): this process receives ``sig`` when its parent (thread) dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def main(modules: tuple[str, ...] = PRELOADED) -> int:
    """Serve step requests on fd 3; ``modules``: the steps it may run, imported once here."""
    parent = os.getppid()
    set_parent_death_signal()
    if os.getppid() != parent:  # the provider died before prctl took effect
        return 1
    for name in modules:
        module = importlib.import_module(name)
        # A module's one-off work (a module-level ``prepare()``) is then shared by every child.
        prepare = getattr(module, "prepare", None)
        if callable(prepare):
            prepare()
    control = socket.socket(fileno=CONTROL_FD)
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    gc.freeze()  # what is imported now stays shared with every child (copy-on-write)
    children: dict[int, int] = {}  # pid -> request id
    while True:
        readable, _, _ = select.select([control.fileno(), wake_read], [], [])
        if wake_read in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            _reap(control, children)
        own_fds = (wake_read, wake_write)
        if control.fileno() in readable and not _serve(control, children, own_fds, modules):
            for pid in children:
                _kill(pid)
            return 0


def _serve(
    control: socket.socket,
    children: dict[int, int],
    own_fds: tuple[int, int],
    modules: tuple[str, ...],
) -> bool:
    """Handle one message; False when the provider has closed the socket."""
    try:
        data, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, 1)
    except ConnectionError:
        return False
    if not data:
        return False
    message: dict[str, Any] = json.loads(data)
    if "kill" not in message and message.get("module") not in modules:
        for fd in fds:
            os.close(fd)
        _send(control, {"id": message["id"], "code": 127})  # as a shell: no such command
        return True
    if "kill" in message:
        for fd in fds:
            os.close(fd)
        for pid, request in children.items():
            if request == message["kill"]:
                _kill(pid)
        return True
    request = int(message["id"])
    stderr = fds[0] if fds else os.open(os.devnull, os.O_WRONLY)
    pid = os.fork()
    if pid == 0:
        os._exit(_child(message, stderr, control, own_fds))
    os.close(stderr)
    children[pid] = request
    _send(control, {"id": request, "pid": pid})
    return True


def _kill(pid: int) -> None:
    """SIGKILL to the child's group, and to the child itself (it may not have its group yet)."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signal.SIGKILL)


def _reap(control: socket.socket, children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        request = children.pop(pid, None)
        if request is not None:
            _send(control, {"id": request, "code": os.waitstatus_to_exitcode(status)})


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        control.send(json.dumps(message).encode())


def _child(
    message: dict[str, Any], stderr: int, control: socket.socket, own_fds: tuple[int, int]
) -> int:
    """In the forked child: become the step, as ``python -m module args`` would; its exit code."""
    try:
        server = os.getppid()
        os.setsid()
        set_parent_death_signal()
        if os.getppid() != server:
            return 137
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        for fd in own_fds:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stderr, 1)
        os.dup2(stderr, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir("/")
        os.environ.clear()
        os.environ.update(message["env"])
        module = str(message["module"])
        sys.argv = [module, *message["args"]]
        # The module's ``main()``, as its ``__main__`` block calls it. Not re-executed with
        # runpy: its top-level code (classes, dataclasses compiling their methods) ran once in
        # this helper, and running it again in every child cost milliseconds and dirtied
        # copy-on-write pages.
        entry = sys.modules[module].main
    except BaseException:  # the child must never return into the server loop
        return 1
    try:
        code = _exit_code(entry())
    except SystemExit as leaving:
        code = _exit_code(leaving.code)
    except BaseException:  # as the interpreter: print the traceback, exit 1
        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
