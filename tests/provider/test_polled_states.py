"""The API's kept states of polled jobs: dropped by a change, never kept across one, bounded."""

from __future__ import annotations

from provider.privsep.polled_states import PolledStates
from tests.workflows.support import make_spec
from workflows.engines.base import JobState
from workflows.status import JobStatus


def _state(job_id: str) -> JobState:
    return JobState(spec=make_spec().model_copy(update={"job_id": job_id}), status=JobStatus.QUEUED)


def test_a_change_drops_only_its_job() -> None:
    polled = PolledStates()
    for job_id in ("a" * 32, "b" * 32):
        assert polled.keep(_state(job_id), polled.mark())
    polled.changed("a" * 32)
    assert polled.get("a" * 32) is None
    assert polled.get("b" * 32) == _state("b" * 32)


def test_an_answer_asked_before_any_announcement_is_not_kept() -> None:
    polled = PolledStates()
    mark = polled.mark()
    polled.changed("c" * 32)  # another job's change: the answer may still be older than its own
    assert not polled.keep(_state("a" * 32), mark)
    assert polled.get("a" * 32) is None
    assert polled.keep(_state("a" * 32), polled.mark())


def test_the_least_recently_polled_go_first() -> None:
    polled = PolledStates(max_jobs=2)
    for job_id in ("a" * 32, "b" * 32):
        polled.keep(_state(job_id), polled.mark())
    assert polled.get("a" * 32) is not None  # "b" is now the least recently polled
    polled.keep(_state("c" * 32), polled.mark())
    assert len(polled) == 2
    assert polled.get("b" * 32) is None
    assert polled.get("a" * 32) is not None and polled.get("c" * 32) is not None
