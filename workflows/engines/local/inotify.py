"""One inotify instance for the whole process, shared by every watch.

Each inotify instance counts against its user's ``fs.inotify.max_user_instances`` (128 by
default, for all of root's services together): an instance per live-log stream would let job
owners exhaust it. Here one instance holds every watch (bounded by ``max_user_watches``, about
190 000 here) and one daemon thread reads its events and calls each watch's callback.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import struct
import threading
from collections.abc import Callable

__all__ = ["Inotify", "shared_inotify"]

_IN_MODIFY = 0x00000002
_IN_ATTRIB = 0x00000004
_IN_CLOSE_WRITE = 0x00000008
_IN_DELETE_SELF = 0x00000400
_IN_MOVE_SELF = 0x00000800
_IN_IGNORED = 0x00008000
_IN_DONT_FOLLOW = 0x02000000
_MASK = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_ATTRIB | _IN_DELETE_SELF | _IN_MOVE_SELF
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class Inotify:
    """Watches on files, by path (a final link is not followed) or by an open descriptor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd = -1
        self._failed = False
        self._callbacks: dict[int, list[Callable[[], None]]] = {}

    def watch(self, target: str | int, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``callback`` (from the reader thread) when the file changes; returns the
        function that removes the watch, or None where inotify is unavailable.

        ``target``: a path, or the descriptor of a file already opened and checked — the watch
        is then on that very file, whatever its name now points to.
        """
        libc = _libc()
        fd = self._instance()
        if libc is None or fd < 0:
            return None
        if isinstance(target, int):
            path, mask = f"/proc/self/fd/{target}", _MASK
        else:
            path, mask = target, _MASK | _IN_DONT_FOLLOW
        with self._lock:
            wd = libc.inotify_add_watch(fd, os.fsencode(path), mask)
            if wd < 0:
                return None
            self._callbacks.setdefault(wd, []).append(callback)

        def unwatch() -> None:
            with self._lock:
                callbacks = self._callbacks.get(wd)
                if callbacks is None or callback not in callbacks:
                    return
                callbacks.remove(callback)
                if not callbacks:
                    del self._callbacks[wd]
                    libc.inotify_rm_watch(fd, wd)

        return unwatch

    def watches(self) -> int:
        with self._lock:
            return len(self._callbacks)

    def _instance(self) -> int:
        with self._lock:
            if self._fd < 0 and not self._failed:
                libc = _libc()
                fd = libc.inotify_init1(os.O_CLOEXEC) if libc is not None else -1
                if fd < 0:
                    self._failed = True
                    return -1
                self._fd = fd
                threading.Thread(target=self._read, name="inotify", daemon=True).start()
            return self._fd

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except InterruptedError:
                continue
            offset = 0
            due: list[Callable[[], None]] = []
            with self._lock:
                while offset + _EVENT.size <= len(data):
                    wd, mask, _, length = _EVENT.unpack_from(data, offset)
                    offset += _EVENT.size + length
                    due.extend(self._callbacks.get(wd, ()))
                    if mask & _IN_IGNORED:
                        # The file is gone (or unmounted): the kernel dropped the watch.
                        self._callbacks.pop(wd, None)
            for callback in due:
                callback()


@functools.cache
def shared_inotify() -> Inotify:
    """This process's one instance."""
    return Inotify()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc
