"""RemoteEngine's calls from the event loop (``get_async``: the status poll's path), against a
helper that speaks the frame protocol on a real Unix socket: answers, errors, kept
connections, a helper that hangs up, a second event loop."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from provider.jobs.occupancy import Occupancy, environment_occupancy
from provider.privsep.protocol import (
    MAX_REQUEST,
    encode_progress,
    encode_state,
    recv_frame,
    send_frame,
)
from provider.privsep.remote import RemoteEngine
from tests.workflows.support import JOB_ID, make_spec
from workflows.engines.base import EngineError, JobNotFound, JobState
from workflows.status import JobStatus

_STATE = JobState(spec=make_spec(), status=JobStatus.FINISHED, date_finished=1700000000)
_UNKNOWN = "f" * 32
_HANG_UP = "e" * 32  # the helper closes the connection instead of answering
_LOAD = {"running": 4, "queued": 996, "queue_wait": 3600, "run_wait": 240, "in_use": {"cpu": 4}}


@dataclass
class _Helper:
    """Answers ``info``, ``events`` (then silent but for ``announce``), ``get`` and ``status``
    of ``state``; counts call connections."""

    path: Path
    calls: list[str] = field(default_factory=list)
    connections: int = 0
    state: JobState = _STATE
    # Called while a status is asked, between computing the answer and sending it.
    while_asked: Callable[[], None] | None = None
    _listener: socket.socket | None = None
    _events: socket.socket | None = None

    def announce(self, job_id: str) -> None:
        """A change of the job, on the events connection (as the real helper's ``changed``)."""
        assert self._events is not None
        send_frame(self._events, {"changed": job_id})

    def start(self) -> None:
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(128)  # as the real helper (privsep/split.py)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        assert self._listener is not None
        self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while frame := recv_frame(conn, MAX_REQUEST):
                request = json.loads(frame[0])
                op = request["op"]
                self.calls.append(op)
                if op == "info":
                    send_frame(conn, {"ok": {"weakSandbox": False, "description": "test"}})
                elif op == "events":
                    send_frame(conn, {"ok": None})
                    self._events = conn
                elif op == "occupancy":
                    send_frame(conn, {"ok": _LOAD})
                elif request.get("jobId") == JOB_ID and op == "status":
                    answer = encode_progress(self.state)
                    if self.while_asked is not None:
                        self.while_asked()
                    send_frame(conn, {"ok": answer})
                elif request.get("jobId") == JOB_ID:
                    send_frame(conn, {"ok": encode_state(self.state)})
                elif request.get("jobId") == _HANG_UP:
                    return
                else:
                    error = {"type": "JobNotFound", "message": f"job {request['jobId']} not found"}
                    send_frame(conn, {"error": error})


@pytest.fixture
def helper(tmp_path: Path) -> Iterator[_Helper]:
    served = _Helper(tmp_path / "helper.sock")
    served.start()
    yield served
    served.close()


@pytest.fixture
def engine(helper: _Helper) -> Iterator[RemoteEngine]:
    remote = RemoteEngine(helper.path)
    yield remote
    remote.close()


def test_a_status_from_the_loop_is_the_same_as_from_a_thread(engine: RemoteEngine) -> None:
    assert asyncio.run(engine.get_async(JOB_ID)) == engine.get(JOB_ID) == _STATE


def _asked(helper: _Helper) -> list[str]:
    return [op for op in helper.calls if op in ("get", "status")]


def test_a_job_polled_again_is_answered_from_its_kept_state_until_it_changes(
    engine: RemoteEngine, helper: _Helper
) -> None:
    """The first poll fetches the whole state; the next ones are answered by the API until the
    helper announces a change; then only what changes is asked (the spec never does)."""

    async def polls() -> list[JobState]:
        return [await engine.get_async(JOB_ID) for _ in range(3)]

    assert asyncio.run(polls()) == [_STATE] * 3
    assert _asked(helper) == ["get"]
    running = replace(_STATE, status=JobStatus.RUNNING_ALGORITHM, date_finished=None)
    helper.state = running
    helper.announce(JOB_ID)
    assert _asked_again(engine, helper) == running
    assert _asked(helper) == ["get", "status"]
    assert asyncio.run(polls()) == [running] * 3
    assert _asked(helper) == ["get", "status"]
    assert "spec" not in encode_progress(_STATE)


def test_an_answer_that_crossed_an_announcement_is_not_kept(
    engine: RemoteEngine, helper: _Helper
) -> None:
    """The helper computed the answer, then announced a change before the answer was read: the
    answer may be older than the change, so the next poll asks again."""
    assert asyncio.run(engine.get_async(JOB_ID)) == _STATE

    def announced_and_read() -> None:
        before = engine._polled.mark()
        helper.announce(JOB_ID)
        deadline = time.monotonic() + 10
        while engine._polled.mark() == before and time.monotonic() < deadline:
            time.sleep(0.001)

    helper.while_asked = announced_and_read
    helper.announce(JOB_ID)
    assert _asked_again(engine, helper) == _STATE  # the helper announced while asked
    helper.while_asked = None
    assert asyncio.run(engine.get_async(JOB_ID)) == _STATE  # so it is asked again
    assert asyncio.run(engine.get_async(JOB_ID)) == _STATE  # and that answer is kept
    assert _asked(helper) == ["get", "status", "status"]


def test_a_stop_through_the_api_is_never_answered_from_a_state_kept_before(
    engine: RemoteEngine, helper: _Helper
) -> None:
    """The helper's announcement of the stop may come after the consumer's next poll (this
    helper never announces it)."""
    running = replace(_STATE, status=JobStatus.RUNNING_ALGORITHM, date_finished=None)
    helper.state = running
    assert asyncio.run(engine.get_async(JOB_ID)) == running
    helper.state = _STATE
    engine.stop(JOB_ID)
    assert asyncio.run(engine.get_async(JOB_ID)) == _STATE


def _asked_again(engine: RemoteEngine, helper: _Helper) -> JobState:
    """Poll until the helper is asked again (the announcement has been read); that answer."""
    asked = len(_asked(helper))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = asyncio.run(engine.get_async(JOB_ID))
        if len(_asked(helper)) > asked:
            return answer
        time.sleep(0.01)
    raise AssertionError("the announcement was never read")


def test_an_unknown_job_is_never_answered_from_a_kept_spec(
    engine: RemoteEngine, helper: _Helper
) -> None:
    with pytest.raises(JobNotFound):
        asyncio.run(engine.get_async(_UNKNOWN))
    with pytest.raises(JobNotFound):
        asyncio.run(engine.get_async(_UNKNOWN))
    assert [op for op in helper.calls if op in ("get", "status")] == ["get", "get"]


def test_the_loop_keeps_its_connection_across_calls(engine: RemoteEngine, helper: _Helper) -> None:
    async def polls() -> list[JobState]:
        return [await engine.get_async(JOB_ID) for _ in range(5)]

    before = helper.connections
    assert asyncio.run(polls()) == [_STATE] * 5
    assert helper.connections == before + 1


def test_an_unknown_job_is_not_found_and_the_connection_stays(
    engine: RemoteEngine, helper: _Helper
) -> None:
    async def polls() -> None:
        with pytest.raises(JobNotFound, match=_UNKNOWN):
            await engine.get_async(_UNKNOWN)
        assert await engine.get_async(JOB_ID) == _STATE

    before = helper.connections
    asyncio.run(polls())
    assert helper.connections == before + 1


def test_a_helper_that_hangs_up_is_an_engine_error_and_its_connection_is_dropped(
    engine: RemoteEngine, helper: _Helper
) -> None:
    async def polls() -> None:
        with pytest.raises(EngineError, match="hung up"):
            await engine.get_async(_HANG_UP)
        assert await engine.get_async(JOB_ID) == _STATE

    before = helper.connections
    asyncio.run(polls())
    assert helper.connections == before + 2


def test_a_name_no_job_can_have_never_reaches_the_helper(
    engine: RemoteEngine, helper: _Helper
) -> None:
    with pytest.raises(JobNotFound):
        asyncio.run(engine.get_async("../../etc"))
    assert helper.calls.count("get") == 0


def test_a_second_event_loop_opens_its_own_connection(
    engine: RemoteEngine, helper: _Helper
) -> None:
    # asyncio streams belong to the loop that opened them; one kept by a finished loop is
    # never used from another.
    before = helper.connections
    assert asyncio.run(engine.get_async(JOB_ID)) == _STATE
    helper.announce(JOB_ID)  # so that the next loop asks the helper
    assert _asked_again(engine, helper) == _STATE
    assert helper.connections == before + 2


def test_calls_at_once_share_a_bounded_set_of_connections(
    engine: RemoteEngine, helper: _Helper
) -> None:
    async def burst() -> list[Any]:
        return await asyncio.gather(*(engine.get_async(JOB_ID) for _ in range(100)))

    before = helper.connections
    assert asyncio.run(burst()) == [_STATE] * 100
    assert 1 <= helper.connections - before <= 32


def test_the_environment_load_is_one_answer_counted_by_the_helper(
    engine: RemoteEngine, helper: _Helper
) -> None:
    """Not every unfinished job handed over and decoded in the API: with a thousand queued
    that made each ``computeEnvironments`` take 110 ms."""
    load = environment_occupancy(engine, "free", 1_800_000_000.0)
    assert load == Occupancy(4, 996, 3600, 240, {"cpu": 4.0})
    assert "occupancy" in helper.calls and "unfinished" not in helper.calls
