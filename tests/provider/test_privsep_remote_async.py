"""RemoteEngine's calls from the event loop (``get_async``: the status poll's path), against a
helper that speaks the frame protocol on a real Unix socket: answers, errors, kept
connections, a helper that hangs up, a second event loop."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    """Answers ``info``, ``events`` (then silent), ``get`` and ``status``; counts call
    connections."""

    path: Path
    calls: list[str] = field(default_factory=list)
    connections: int = 0
    _listener: socket.socket | None = None

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
                elif op == "occupancy":
                    send_frame(conn, {"ok": _LOAD})
                elif request.get("jobId") == JOB_ID and op == "status":
                    send_frame(conn, {"ok": encode_progress(_STATE)})
                elif request.get("jobId") == JOB_ID:
                    send_frame(conn, {"ok": encode_state(_STATE)})
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


def test_a_job_polled_again_is_asked_without_its_spec(
    engine: RemoteEngine, helper: _Helper
) -> None:
    """The spec never changes and is most of a state on the wire: the first poll fetches it,
    the next ones ask only what changes and answer the same state."""

    async def polls() -> list[JobState]:
        return [await engine.get_async(JOB_ID) for _ in range(3)]

    assert asyncio.run(polls()) == [_STATE] * 3
    assert [op for op in helper.calls if op in ("get", "status")] == ["get", "status", "status"]
    assert "spec" not in encode_progress(_STATE)


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
    assert asyncio.run(engine.get_async(JOB_ID)) == _STATE
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
