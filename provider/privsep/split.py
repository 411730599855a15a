"""``c2d serve`` as root: fork the sandbox helper, then become the API user.

The helper (a forked child, root) builds the local engine, listens on ``run/helper.sock`` and
says "ready" on a pipe (or why it could not start, which ``c2d serve`` then prints); it dies
with the API process (parent-death signal SIGKILL) and shuts its engine down in order when the
API process closes the "life" pipe on a normal exit, or on SIGTERM/SIGINT of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from provider.environments import ProviderConfig
from provider.errors import ConfigError
from provider.privsep.user import ApiUser
from provider.settings import Settings

__all__ = ["SOCKET_PATH", "HelperProcess", "start_helper"]

# Relative to C2D_HOME: the API process works there (user.py ``drop_privileges``).
SOCKET_PATH = Path("run/helper.sock")
_MAX_STATUS = 64 * 1024


@dataclass
class HelperProcess:
    pid: int
    life_fd: int

    def stop(self) -> None:
        """Let the helper shut its engine down (running steps killed, jobs kept), wait for it."""
        if self.life_fd >= 0:
            os.close(self.life_fd)
            self.life_fd = -1
            os.waitpid(self.pid, 0)


class _Shutdown(Exception):
    pass


def start_helper(
    settings: Settings, config: ProviderConfig, user: ApiUser, close_in_child: tuple[int, ...]
) -> HelperProcess:
    """Fork the helper (``settings``: the provider's, with an absolute home); returns once it
    listens, or raises ConfigError with its reason."""
    ready_r, ready_w = os.pipe()
    life_r, life_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its behaviour is tested over the socket
        code = 1
        try:
            os.close(ready_r)
            os.close(life_w)
            for fd in close_in_child:
                os.close(fd)
            code = _helper_main(settings, config, user, ready_w, life_r)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(life_r)
    status = _read_all(ready_r)
    if status != b"R":
        os.close(life_w)
        os.waitpid(pid, 0)
        reason = status[1:].decode(errors="replace") or "the sandbox helper did not start"
        raise ConfigError(reason)
    return HelperProcess(pid, life_w)


def _helper_main(
    settings: Settings, config: ProviderConfig, user: ApiUser, ready: int, life: int
) -> int:
    from provider.engine_factory import build_local_engine
    from provider.privsep.helper import Helper
    from workflows.engines.local._zygote import set_parent_death_signal

    parent = os.getppid()
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:
        return 1
    # The key opens a job's registry credentials when its image is pulled (here, as the pull
    # runs in the engine); nothing else of the helper uses it. Root could read provider.key
    # anyway; the environment variable goes so that no step or sandbox inherits it.
    from provider.app import load_account

    registry_key = bytes(load_account(settings).key)
    os.environ.pop("C2D_PROVIDER_PRIVATE_KEY", None)

    def shutdown(*_: object) -> None:
        raise _Shutdown

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        engine, description = build_local_engine(settings, config, registry_key)
    except Exception as error:
        os.write(ready, b"E" + str(error).encode()[:_MAX_STATUS])
        return 2
    listener = _listen(settings.home / SOCKET_PATH, user)
    helper = Helper(engine, config, user.uid, description)
    threading.Thread(target=helper.serve, args=(listener,), name="helper", daemon=True).start()
    os.write(ready, b"R")
    os.close(ready)
    try:
        while os.read(life, 1):
            pass
    except _Shutdown:
        pass
    finally:
        listener.close()
        helper.close()
        engine.close()
    return 0


def _listen(path: Path, user: ApiUser) -> socket.socket:
    """The helper's socket: the API user's alone (mode 0600), in root's ``run/``."""
    if path.is_socket():
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chown(path, user.uid, user.gid)
    os.chmod(path, 0o600)
    listener.listen(128)
    return listener


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, _MAX_STATUS):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)
