"""Wake-ups without polling: job-change subscriptions and inotify on a growing log file.

A live log reader waits on an ``asyncio.Event`` that two sources set: the engine (a status or
step change of the job, from its threads) and the kernel (inotify: the file was written to).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["FileWatch", "JobEvents", "follow_log"]

_CHUNK = 64 * 1024
_FALLBACK_SECONDS = 0.1

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_IN_MODIFY = 0x00000002
_IN_CLOSE_WRITE = 0x00000008
_IN_ATTRIB = 0x00000004
_IN_DELETE_SELF = 0x00000400
_IN_MOVE_SELF = 0x00000800
_MASK = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_ATTRIB | _IN_DELETE_SELF | _IN_MOVE_SELF


class JobEvents:
    """Callbacks per job id, called (from any thread) whenever that job's state changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[Callable[[], None]]] = {}

    def subscribe(self, job_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Register ``callback``; returns the function that unregisters it."""
        with self._lock:
            self._subscribers.setdefault(job_id, []).append(callback)

        def unsubscribe() -> None:
            with self._lock:
                callbacks = self._subscribers.get(job_id, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._subscribers.pop(job_id, None)

        return unsubscribe

    def publish(self, job_id: str) -> None:
        with self._lock:
            callbacks = list(self._subscribers.get(job_id, ()))
        for callback in callbacks:
            callback()

    def async_waker(self, job_id: str, event: asyncio.Event) -> Callable[[], None]:
        """Subscribe so that a change sets ``event`` on the running loop; returns unsubscribe."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

        return self.subscribe(job_id, wake)


class FileWatch:
    """inotify on one file, feeding an asyncio event; inert where inotify is unavailable."""

    def __init__(self, path: Path, event: asyncio.Event) -> None:
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        libc = _libc()
        if libc is None:
            return
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return
        if libc.inotify_add_watch(fd, os.fsencode(path), _MASK) < 0:
            os.close(fd)
            return
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self._drain, event)

    @property
    def active(self) -> bool:
        return self._fd >= 0

    def _drain(self, event: asyncio.Event) -> None:
        try:
            while os.read(self._fd, 4096):
                pass
        except OSError as error:
            if error.errno != errno.EAGAIN:
                self.close()
        event.set()

    def close(self) -> None:
        if self._fd >= 0 and self._loop is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
        self._fd = -1


async def follow_log(
    job_id: str, live: Path, stored: Path, progress: Callable[[], str], events: JobEvents
) -> AsyncIterator[bytes]:
    """The log so far, then what is appended, until ``progress()`` says the writer has ended.

    ``progress()`` is ``"running"`` while the algorithm may still write, ``"ended"`` once it has
    exited, ``"finished"`` when the job is over (the log then lives at ``stored``).
    """
    event = asyncio.Event()
    unsubscribe = events.async_waker(job_id, event)
    handle: BinaryIO | None = None
    watch: FileWatch | None = None
    try:
        while True:
            event.clear()
            state = progress()
            if handle is None:
                with contextlib.suppress(OSError):
                    handle = (stored if state == "finished" else live).open("rb")
                if handle is not None and state == "running":
                    watch = FileWatch(live, event)
            chunk = handle.read(_CHUNK) if handle is not None else b""
            if chunk:
                yield chunk
                continue
            if handle is not None and state == "running" and _replaced(live, handle):
                # A file system was mounted over the log's folder when the algorithm started
                # (the disk quota): the file there now is a copy; go on reading it.
                offset = handle.tell()
                handle.close()
                handle = None
                if watch is not None:
                    watch.close()
                with contextlib.suppress(OSError):
                    handle = live.open("rb")
                    handle.seek(offset)
                    watch = FileWatch(live, event)
                continue
            if state == "finished" or (state == "ended" and handle is not None):
                return
            if (watch is not None and watch.active) or handle is None:
                await event.wait()
            else:
                # No inotify here: the only fallback that looks at the file on a timer.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), _FALLBACK_SECONDS)
    finally:
        unsubscribe()
        if watch is not None:
            watch.close()
        if handle is not None:
            handle.close()


def _replaced(path: Path, handle: BinaryIO) -> bool:
    """True when ``path`` now names another file than the one ``handle`` reads."""
    try:
        now, opened = os.stat(path), os.fstat(handle.fileno())
    except OSError:
        return False
    return (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError):
        return None
    return libc
