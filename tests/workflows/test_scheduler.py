"""The per-environment slots and queue, without processes: order, limits, expiry."""

from __future__ import annotations

import threading

import pytest

from workflows.engines.local.scheduler import QueueFull, Scheduler


class _Calls:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.expired: list[str] = []
        self.changed = threading.Condition()

    def start(self, job_id: str) -> None:
        with self.changed:
            self.started.append(job_id)
            self.changed.notify_all()

    def expire(self, job_id: str) -> None:
        with self.changed:
            self.expired.append(job_id)
            self.changed.notify_all()


def _scheduler(calls: _Calls, now: list[float], max_queued: int = 10) -> Scheduler:
    return Scheduler(
        limits={"small": 1},
        default_limit=2,
        max_queued=max_queued,
        start=calls.start,
        expire=calls.expire,
        clock=lambda: now[0],
    )


def test_jobs_beyond_the_limit_wait_in_order_and_take_freed_slots() -> None:
    calls, now = _Calls(), [1000.0]
    scheduler = _scheduler(calls, now)
    try:
        assert scheduler.admit("a", "small", None)
        assert not scheduler.admit("b", "small", None)
        assert not scheduler.admit("c", "small", None)
        assert scheduler.admit("x", "other", None)  # another environment has its own slots
        assert scheduler.depths() == {"small": 2, "other": 0}
        scheduler.release("a", "small")
        assert calls.started == ["a", "x", "b"]
        assert scheduler.running("small") == 1 and scheduler.queued("small") == 1
    finally:
        scheduler.close()


def test_a_queued_job_expires_at_its_deadline_and_is_never_started() -> None:
    calls, now = _Calls(), [1000.0]
    scheduler = _scheduler(calls, now)
    try:
        scheduler.admit("a", "small", None)
        scheduler.admit("late", "small", 999.0)  # its deadline has already passed
        with calls.changed:
            assert calls.changed.wait_for(lambda: calls.expired == ["late"], 10)
        scheduler.release("a", "small")
        assert calls.started == ["a"]
        assert scheduler.queued("small") == 0
    finally:
        scheduler.close()


def test_a_full_queue_refuses_before_the_job_is_admitted() -> None:
    calls, now = _Calls(), [1000.0]
    scheduler = _scheduler(calls, now, max_queued=1)
    admitted: list[tuple[str, bool]] = []
    try:
        scheduler.admit("a", "small", None, lambda start: admitted.append(("a", start)))
        scheduler.admit("b", "small", None, lambda start: admitted.append(("b", start)))
        with pytest.raises(QueueFull):
            scheduler.admit("c", "small", None, lambda start: admitted.append(("c", start)))
        assert admitted == [("a", True), ("b", False)]
    finally:
        scheduler.close()


def test_a_job_whose_admission_fails_takes_no_place() -> None:
    calls, now = _Calls(), [1000.0]
    scheduler = _scheduler(calls, now)

    def broken(start: bool) -> None:
        raise OSError("the job could not be recorded")

    try:
        with pytest.raises(OSError):
            scheduler.admit("a", "small", None, broken)
        assert scheduler.running("small") == 0 and calls.started == []
        assert scheduler.admit("b", "small", None)
    finally:
        scheduler.close()


def test_a_withdrawn_job_leaves_the_queue_and_a_running_one_cannot_be_withdrawn() -> None:
    calls, now = _Calls(), [0.0]
    scheduler = _scheduler(calls, now)
    try:
        assert scheduler.admit("a", "small", None)
        assert not scheduler.admit("b", "small", None)
        assert not scheduler.admit("c", "small", None)
        assert not scheduler.withdraw("a", "small")
        assert scheduler.withdraw("b", "small")
        assert not scheduler.withdraw("b", "small")
        assert scheduler.queued("small") == 1
        scheduler.release("a", "small")
        assert calls.started == ["a", "c"]
    finally:
        scheduler.close()
