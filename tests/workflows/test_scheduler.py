"""The per-environment slots and queue, without processes: order, limits, expiry."""

from __future__ import annotations

import threading
import time

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


def test_a_thousand_waiting_jobs_expire_by_deadline_and_the_rest_start_in_order() -> None:
    # Deadlines out of queue order, some jobs withdrawn or started before theirs comes up:
    # only jobs still waiting expire, each once, and the others keep their place.
    calls, now = _Calls(), [1000.0]
    scheduler = _scheduler(calls, now, max_queued=1000)
    try:
        assert scheduler.admit("running", "small", None)
        for n in range(1000):
            deadline = 2000.0 + (n * 7919) % 1000 if n % 2 else None
            assert not scheduler.admit(f"j{n}", "small", deadline)
        for n in range(0, 1000, 10):
            assert scheduler.withdraw(f"j{n + 1}", "small")
        scheduler.release("running", "small")  # j0 starts
        assert calls.started == ["running", "j0"]
        now[0] = 2500.0
        scheduler.release("j0", "small")  # wakes the queue: deadlines up to 2500 have passed
        odd_due = {
            f"j{n}"
            for n in range(1, 1000, 2)
            if 2000.0 + (n * 7919) % 1000 <= 2500.0 and n % 10 != 1
        }
        with calls.changed:
            assert calls.changed.wait_for(lambda: set(calls.expired) == odd_due, 10)
        assert len(calls.expired) == len(odd_due)
        assert calls.started == ["running", "j0", "j2"]
        assert scheduler.queued("small") == 1000 - 1 - 100 - len(odd_due) - 1
    finally:
        scheduler.close()


def test_a_job_with_an_earlier_deadline_wakes_the_expiry_that_sleeps_for_a_later_one() -> None:
    # Real time: the expiry thread sleeps until the earliest deadline it knows ("far", an hour
    # away) and is woken only by a job whose deadline comes before it.
    calls = _Calls()
    scheduler = Scheduler(
        limits={"small": 1},
        default_limit=1,
        max_queued=10,
        start=calls.start,
        expire=calls.expire,
    )
    try:
        now = time.time()
        assert scheduler.admit("running", "small", None)
        assert not scheduler.admit("far", "small", now + 3600)
        assert not scheduler.admit("later", "small", now + 7200)
        assert not scheduler.admit("soon", "small", now + 0.2)
        with calls.changed:
            assert calls.changed.wait_for(lambda: calls.expired == ["soon"], 10)
        assert scheduler.queued("small") == 2
    finally:
        scheduler.close()
