"""Live logs: the log so far, then what is appended, woken by events rather than polling.

A live log reader waits on an ``asyncio.Event`` that two sources set: the engine (a status or
step change of the job, from its threads) and the kernel (inotify, on the one shared instance:
the file was written to). The log is the algorithm's: it is opened by ``workflows.jobfiles``
(no links, no fifos or devices, the job's own file system), read in a worker thread, never past
the job's log cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable

from workflows.engines.local.inotify import shared_inotify
from workflows.jobfiles import (
    JobFile,
    JobFilePath,
    RefusedJobFile,
    refused_note,
    truncated_note,
)

__all__ = ["JobEvents", "follow_log", "watch_file"]

_CHUNK = 64 * 1024
_FALLBACK_SECONDS = 0.1


class JobEvents:
    """Callbacks per job id, called (from any thread) whenever that job's state changes, and
    callbacks for every job, called with its id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[Callable[[], None]]] = {}
        self._every_job: list[Callable[[str], None]] = []

    def subscribe_every_job(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(job_id)`` after each change of any job (for the process's life)."""
        with self._lock:
            self._every_job.append(callback)

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
            every_job = list(self._every_job)
        for callback in callbacks:
            callback()
        for every in every_job:
            every(job_id)

    def async_waker(self, job_id: str, event: asyncio.Event) -> Callable[[], None]:
        """Subscribe so that a change sets ``event`` on the running loop; returns unsubscribe."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

        return self.subscribe(job_id, wake)


def watch_file(target: str | int, event: asyncio.Event) -> Callable[[], None] | None:
    """Set ``event`` (on the running loop) when the file changes; returns the function that
    ends the watch, or None where inotify is unavailable (the caller then polls)."""
    loop = asyncio.get_running_loop()

    def wake() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    return shared_inotify().watch(target, wake)


class _LogReader:
    """The open log, where the reader is in it, and how much more it may send (blocking I/O:
    called in a worker thread). A lock keeps ``close`` (a client that left) from closing the
    descriptor under a read still running in a worker thread."""

    def __init__(self, live: JobFilePath, stored: JobFilePath, cap: int) -> None:
        self.live, self.stored, self.cap = live, stored, cap
        self.file: JobFile | None = None
        self.offset = 0
        self._lock = threading.Lock()

    def open(self, finished: bool) -> None:
        with self._lock, contextlib.suppress(FileNotFoundError):
            self.file = (self.stored if finished else self.live).open()

    def next_chunk(self) -> bytes:
        with self._lock:
            if self.file is None:
                return b""
            chunk = self.file.read(self.offset, min(_CHUNK, self.cap - self.offset))
            self.offset += len(chunk)
            return chunk

    def more_than_cap(self) -> bool:
        with self._lock:
            return self.file is not None and bool(self.file.read(self.cap, 1))

    def reopen_if_replaced(self) -> bool:
        """A file system was mounted over the log's folder when the algorithm started (the disk
        quota): the file there now is a copy; go on reading that one, at the same offset."""
        with self._lock:
            if self.file is None:
                return False
            try:
                now = self.live.open()
            except (OSError, RefusedJobFile):
                return False
            if self.file.same_file(now.info):
                now.close()
                return False
            self.file.close()
            self.file = now
            return True

    def close(self) -> None:
        with self._lock:
            if self.file is not None:
                self.file.close()


async def follow_log(
    job_id: str,
    live: JobFilePath,
    stored: JobFilePath,
    progress: Callable[[], str],
    events: JobEvents,
    *,
    cap: int,
    follow: bool = True,
) -> AsyncIterator[bytes]:
    """The log so far, then what is appended, until ``progress()`` says the writer has ended;
    at most ``cap`` bytes, then a note. ``follow=False``: only what is there now.

    ``progress()`` is ``"running"`` while the algorithm may still write, ``"ended"`` once it has
    exited, ``"finished"`` when the job is over (the log then lives at ``stored``). A log that
    is not a plain file of the job ends the stream with a note saying what it is.
    """
    event = asyncio.Event()
    unsubscribe = events.async_waker(job_id, event)
    reader = _LogReader(live, stored, cap)
    unwatch: Callable[[], None] | None = None
    try:
        while True:
            event.clear()
            state = progress()
            if reader.file is None:
                try:
                    await asyncio.to_thread(reader.open, state == "finished")
                except RefusedJobFile as refused:
                    yield refused_note(refused)
                    return
                if reader.file is not None and state == "running" and follow:
                    unwatch = watch_file(reader.file.fd, event)
            chunk = await asyncio.to_thread(reader.next_chunk)
            if chunk:
                yield chunk
                continue
            if reader.offset >= cap and await asyncio.to_thread(reader.more_than_cap):
                yield truncated_note(cap)
                return
            if state == "running" and await asyncio.to_thread(reader.reopen_if_replaced):
                if unwatch is not None:
                    unwatch()
                unwatch = watch_file(reader.file.fd, event) if reader.file else None
                continue
            if not follow or state == "finished" or (state == "ended" and reader.file):
                return
            if unwatch is not None or reader.file is None:
                await event.wait()
            else:
                # No inotify here: the only fallback that looks at the file on a timer.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), _FALLBACK_SECONDS)
    finally:
        unsubscribe()
        if unwatch is not None:
            unwatch()
        reader.close()
