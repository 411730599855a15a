"""The local engine's queue (status 1 → runs; expiry → 2; restart keeps it) and live logs."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from tests.workflows.engine_support import local_engine, sandboxed_spec
from workflows.engines.base import JobState
from workflows.engines.local.engine import LocalEngine
from workflows.status import JobStatus

SLEEPER = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n"


class _Finished:
    """Collects final states; wait(job_id) blocks until that job has ended."""

    def __init__(self) -> None:
        self._states: dict[str, JobState] = {}
        self._changed = threading.Condition()

    def __call__(self, state: JobState) -> None:
        with self._changed:
            self._states[state.spec.job_id] = state
            self._changed.notify_all()

    def wait(self, job_id: str, timeout: float = 60) -> JobState:
        with self._changed:
            assert self._changed.wait_for(lambda: job_id in self._states, timeout)
            return self._states[job_id]


def _engine(home: Path, finished: _Finished) -> LocalEngine:
    engine = local_engine(home, concurrency={"free": 1})
    engine.on_finished(finished)
    return engine


async def _first_chunk(engine: LocalEngine, job_id: str) -> bytes:
    async for chunk in engine.algorithm_log(job_id):
        return chunk
    return b""


def test_a_queued_job_waits_with_status_1_then_runs(tmp_path: Path) -> None:
    finished = _Finished()
    engine = _engine(tmp_path, finished)
    try:
        blocker = engine.submit(sandboxed_spec(SLEEPER))
        queued = engine.submit(sandboxed_spec("print('after the queue')", wait=600))
        assert queued.status == JobStatus.QUEUED
        assert engine.queue_depths() == {"free": 1}
        # The live log arrives while the algorithm still runs: no need to wait for its end.
        assert b"ready" in asyncio.run(_first_chunk(engine, blocker.spec.job_id))
        assert engine.get(blocker.spec.job_id).status == JobStatus.RUNNING_ALGORITHM
        assert engine.get(queued.spec.job_id).status == JobStatus.QUEUED
        engine.stop(blocker.spec.job_id)
        assert finished.wait(blocker.spec.job_id).reason == "stopped on request"
        done = finished.wait(queued.spec.job_id)
        assert done.status == JobStatus.FINISHED
        assert engine.queue_depths() == {"free": 0}
        counts = engine.job_counts()
        assert counts[("free", int(JobStatus.FINISHED))] >= 1
    finally:
        engine.close()


def test_a_job_past_its_queue_deadline_ends_with_status_2(tmp_path: Path) -> None:
    finished = _Finished()
    engine = _engine(tmp_path, finished)
    try:
        blocker = engine.submit(sandboxed_spec(SLEEPER))
        late = engine.submit(sandboxed_spec("print(1)", wait=1, created_at=int(time.time()) - 10))
        state = finished.wait(late.spec.job_id)
        assert state.status == JobStatus.QUEUE_EXPIRED
        assert "queueMaxWaitTime" in state.reason
        assert state.date_finished is not None
        assert not (tmp_path / "jobs" / late.spec.job_id).exists()
        engine.stop(blocker.spec.job_id)
        finished.wait(blocker.spec.job_id)
    finally:
        engine.close()


def test_a_restart_keeps_queued_jobs_queued_and_runs_them(tmp_path: Path) -> None:
    first = _engine(tmp_path, _Finished())
    blocker = first.submit(sandboxed_spec(SLEEPER))
    queued = first.submit(sandboxed_spec("print('resumed')", wait=3600))
    asyncio.run(_first_chunk(first, blocker.spec.job_id))
    first.close()  # the provider stops: the running algorithm is killed, the queue stays

    finished = _Finished()
    second = _engine(tmp_path, finished)
    try:
        interrupted = finished.wait(blocker.spec.job_id)
        assert interrupted.status == JobStatus.ALGORITHM_FAILED
        assert "restart" in interrupted.reason
        assert finished.wait(queued.spec.job_id).status == JobStatus.FINISHED
        assert [s.spec.job_id for s in second.list_for_owner("0x" + "AB" * 20)] == [
            blocker.spec.job_id,
            queued.spec.job_id,
        ]
    finally:
        second.close()


def test_a_stopped_queued_job_leaves_the_queue_at_once_with_a_reason(tmp_path: Path) -> None:
    finished = _Finished()
    engine = _engine(tmp_path, finished)
    try:
        blocker = engine.submit(sandboxed_spec(SLEEPER))
        queued = engine.submit(sandboxed_spec("print('never')", wait=600))
        assert engine.queue_depths() == {"free": 1}
        stopped = engine.stop(queued.spec.job_id)
        # Ended by the stop call itself, while the blocker still holds the only slot.
        assert stopped.date_finished is not None
        assert "stopped on request" in stopped.reason
        assert stopped.results == ()
        assert engine.queue_depths() == {"free": 0}
        assert finished.wait(queued.spec.job_id).spec.job_id == queued.spec.job_id
        assert not (tmp_path / "jobs" / queued.spec.job_id).exists()
        assert engine.get(blocker.spec.job_id).date_finished is None
        engine.stop(blocker.spec.job_id)
        finished.wait(blocker.spec.job_id)
    finally:
        engine.close()
