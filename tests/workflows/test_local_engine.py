"""The local engine driven directly (real bubblewrap, real steps): listeners and restarts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.workflows.engine_support import local_engine, sandboxed_spec
from workflows.engines.base import EngineError, JobState
from workflows.spec import JobSpec
from workflows.status import JobStatus


def _spec(code: str) -> JobSpec:
    return sandboxed_spec(code, max_job_duration=30)


def test_finish_listeners_get_the_final_state(tmp_path: Path) -> None:
    engine = local_engine(tmp_path)
    finished: list[JobState] = []
    done = threading.Event()

    def listener(state: JobState) -> None:
        finished.append(state)
        done.set()

    def broken_listener(state: JobState) -> None:
        raise RuntimeError("a listener bug must not break the job")

    engine.on_finished(broken_listener)
    engine.on_finished(listener)
    try:
        spec = _spec("print('hello')")
        engine.submit(spec)
        assert done.wait(30)
        (state,) = finished
        assert state.spec.job_id == spec.job_id
        assert state.status == JobStatus.FINISHED
        assert {r.type for r in state.results} >= {"algorithmLog", "output"}
        assert engine.get(spec.job_id).status == JobStatus.FINISHED
    finally:
        engine.close()


def test_network_access_is_refused_at_submit_not_silently_dropped(tmp_path: Path) -> None:
    engine = local_engine(tmp_path)
    try:
        spec = _spec("print(1)").model_copy(update={"network": True})
        with pytest.raises(EngineError, match="network"):
            engine.submit(spec)
    finally:
        engine.close()
