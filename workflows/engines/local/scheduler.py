"""Per-environment job slots and a FIFO queue whose entries expire at their deadline.

No polling: one thread sleeps on a condition until the earliest queue deadline (a heap of
them; entries of jobs that left the queue are dropped when they come up) or until a queued job
with an earlier deadline wakes it. Each queue is an insertion-ordered dict, so taking a job out
costs the same with a thousand waiting. ``start`` and ``expire`` run outside the lock, so they
may call back in; ``admit``'s ``admitted`` runs inside it, so it must not.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping

__all__ = ["QueueFull", "Scheduler"]


class QueueFull(Exception):
    """The environment's queue holds as many jobs as it may."""


class Scheduler:
    """Runs at most ``limits[env]`` jobs of an environment at once; the rest wait in order."""

    def __init__(
        self,
        *,
        limits: Mapping[str, int],
        default_limit: int,
        max_queued: int,
        start: Callable[[str], None],
        expire: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = dict(limits)
        self._default = default_limit
        self._max_queued = max_queued
        self._start = start
        self._expire = expire
        self._clock = clock
        self._changed = threading.Condition()
        self._running: dict[str, set[str]] = {}
        # environment → waiting job ids, oldest first
        self._queues: dict[str, dict[str, None]] = {}
        # (deadline in wall-clock seconds, job id, environment) of queued jobs that have one
        self._deadlines: list[tuple[float, str, str]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._expire_loop, name="c2d-queue", daemon=True)
        self._thread.start()

    def limit(self, environment: str) -> int:
        return self._limits.get(environment, self._default)

    def admit(
        self,
        job_id: str,
        environment: str,
        deadline: float | None,
        admitted: Callable[[bool], None] | None = None,
    ) -> bool:
        """Start the job now (True) or queue it (False); QueueFull when the queue is full.

        ``admitted(start)`` runs once the job has a place and before it takes it, under the lock:
        there a new job is recorded before anything can start or expire it, and a refused one
        never is. If it raises, the job takes no place.
        """
        with self._changed:
            running = self._running.setdefault(environment, set())
            queue = self._queues.setdefault(environment, {})
            start = not queue and len(running) < self.limit(environment)
            if not start and len(queue) >= self._max_queued:
                raise QueueFull(f"environment {environment} already queues {len(queue)} jobs")
            if admitted is not None:
                admitted(start)
            if start:
                running.add(job_id)
            else:
                queue[job_id] = None
                if deadline is not None:
                    heapq.heappush(self._deadlines, (deadline, job_id, environment))
                    # The expiry thread sleeps until the earliest deadline: woken only when
                    # this one comes first (each wake-up of it cost a thread switch and a pass
                    # over every queue, at every submit and every finished job).
                    if self._deadlines[0][1] == job_id:
                        self._changed.notify_all()
        if start:
            self._start(job_id)
        return start

    def release(self, job_id: str, environment: str) -> None:
        """The job has ended: its slot goes to the next job in the queue."""
        with self._changed:
            self._running.get(environment, set()).discard(job_id)
            started, expired = self._advance(environment)
        # The expiry thread is not woken: no deadline came earlier (one of a job that started
        # stays in the heap until its time, then is dropped).
        self._dispatch(started, expired)

    def withdraw(self, job_id: str, environment: str) -> bool:
        """Take a waiting job out of the queue: True if it was waiting, False if it runs."""
        with self._changed:
            queue = self._queues.get(environment, {})
            if job_id not in queue:
                return False
            del queue[job_id]
            return True

    def running(self, environment: str) -> int:
        with self._changed:
            return len(self._running.get(environment, ()))

    def queued(self, environment: str) -> int:
        with self._changed:
            return len(self._queues.get(environment, ()))

    def depths(self) -> dict[str, int]:
        """Queued jobs per environment (every environment seen so far, zeros included)."""
        with self._changed:
            return {env: len(queue) for env, queue in self._queues.items()}

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join(timeout=5)

    def _advance(self, environment: str) -> tuple[list[str], list[str]]:
        """Under the lock: drop expired entries (of every queue), fill free slots of
        ``environment`` from its queue's head."""
        expired = self._drop_expired()
        queue = self._queues.get(environment, {})
        running = self._running.setdefault(environment, set())
        started: list[str] = []
        while queue and len(running) < self.limit(environment):
            job_id = next(iter(queue))
            del queue[job_id]
            running.add(job_id)
            started.append(job_id)
        return started, expired

    def _drop_expired(self) -> list[str]:
        now = self._clock()
        expired = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, job_id, environment = heapq.heappop(self._deadlines)
            queue = self._queues.get(environment, {})
            if job_id in queue:
                del queue[job_id]
                expired.append(job_id)
        return expired

    def _next_deadline(self) -> float | None:
        """Under the lock: the earliest deadline of a job still waiting."""
        while self._deadlines:
            _, job_id, environment = self._deadlines[0]
            if job_id in self._queues.get(environment, {}):
                return self._deadlines[0][0]
            heapq.heappop(self._deadlines)  # it started or left the queue
        return None

    def _dispatch(self, started: list[str], expired: list[str]) -> None:
        for job_id in expired:
            self._expire(job_id)
        for job_id in started:
            self._start(job_id)

    def _expire_loop(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                deadline = self._next_deadline()
                timeout = max(0.0, deadline - self._clock()) if deadline is not None else None
                if timeout is None or timeout > 0:
                    self._changed.wait(timeout)
                if self._closed:
                    return
                actions = [self._advance(env) for env in list(self._queues)]
            for started, expired in actions:
                self._dispatch(started, expired)
