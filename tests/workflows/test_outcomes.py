"""Pure rules from step exits to job status, reason and timestamps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows.support import preprocess_spec, raw_spec
from workflows import contract
from workflows.engines.local import outcomes
from workflows.engines.local.launcher import StepExit
from workflows.engines.local.store import JobRecord
from workflows.status import JobStatus

NOW = 1_700_000_100
STAMPED = "2024-05-01T10:00:00Z input 0: checksum mismatch"


def _record(**changes: Any) -> JobRecord:
    return JobRecord(spec=raw_spec(), status=JobStatus.RUNNING_ALGORITHM, **changes)


def _after(task: str, exit: StepExit, log_tail: str = "", **record: Any) -> dict[str, Any]:
    return outcomes.after(task, exit, _record(**record), log_tail, NOW)


# --- before --------------------------------------------------------------------------------------


def test_before_sets_the_running_status() -> None:
    assert outcomes.before("configure", NOW) == {"status": JobStatus.CONFIGURING_VOLUMES}
    assert outcomes.before("algorithm", NOW) == {
        "status": JobStatus.RUNNING_ALGORITHM,
        "algorithm_started_at": NOW,
    }
    assert outcomes.before("publish", NOW) == {"status": JobStatus.PUBLISHING_RESULTS}
    assert outcomes.before("other", NOW) == {}


# --- configure -----------------------------------------------------------------------------------


def test_configure_success_is_provisioning() -> None:
    assert _after("configure", StepExit(0)) == {"status": JobStatus.PROVISIONING}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (contract.EXIT_DATA_PROVISIONING_FAILED, JobStatus.DATA_PROVISIONING_FAILED),
        (contract.EXIT_ALGORITHM_PROVISIONING_FAILED, JobStatus.ALGORITHM_PROVISIONING_FAILED),
        (1, JobStatus.DATA_PROVISIONING_FAILED),
        (-9, JobStatus.DATA_PROVISIONING_FAILED),
    ],
)
def test_configure_failure_is_kept_aside(code: int, status: JobStatus) -> None:
    changes = _after("configure", StepExit(code), STAMPED)
    # The failure becomes the status only once publish has run.
    assert changes == {"failure": status, "reason": "input 0: checksum mismatch"}


def test_configure_failure_reason_falls_back_to_the_exit_code() -> None:
    changes = _after("configure", StepExit(31), "")
    assert changes["reason"] == "configure exited with code 31"


def test_step_reason_is_the_log_line_without_its_stamp_and_bounded() -> None:
    assert _after("configure", StepExit(31), "no stamp here")["reason"] == "no stamp here"
    assert len(_after("configure", StepExit(31), "x" * 1000)["reason"]) == 300


def test_configure_timeout() -> None:
    changes = _after("configure", StepExit(-9, timed_out=True), STAMPED)
    assert changes == {
        "failure": JobStatus.DATA_PROVISIONING_FAILED,
        "reason": "configuration took too long",
    }


def test_configure_stopped_is_no_failure() -> None:
    changes = _after("configure", StepExit(-9, stopped=True), STAMPED)
    assert changes == {"reason": outcomes.STOPPED_REASON}


# --- algorithm -----------------------------------------------------------------------------------


def test_algorithm_success() -> None:
    assert _after("algorithm", StepExit(0)) == {"algorithm_finished_at": NOW, "exit_code": 0}


def test_algorithm_non_zero_exit() -> None:
    changes = _after("algorithm", StepExit(3))
    assert changes == {
        "algorithm_finished_at": NOW,
        "exit_code": 3,
        "failure": JobStatus.ALGORITHM_FAILED,
        "reason": "algorithm exited with code 3",
    }


def test_algorithm_timed_out() -> None:
    changes = _after("algorithm", StepExit(-9, timed_out=True))
    assert changes["failure"] == JobStatus.ALGORITHM_FAILED
    assert "maxJobDuration 60 s" in changes["reason"]
    assert changes["algorithm_finished_at"] == NOW
    assert not changes.get("oom_killed")


def test_algorithm_out_of_memory() -> None:
    changes = _after("algorithm", StepExit(-9, oom_killed=True))
    assert changes["failure"] == JobStatus.ALGORITHM_FAILED
    assert changes["oom_killed"] is True
    assert "out of memory" in changes["reason"]
    assert "1024 MiB" in changes["reason"]


def test_algorithm_timeout_wins_over_oom() -> None:
    changes = _after("algorithm", StepExit(-9, timed_out=True, oom_killed=True))
    assert "maxJobDuration" in changes["reason"]


def test_algorithm_stopped_is_no_failure() -> None:
    changes = _after("algorithm", StepExit(-9, stopped=True, timed_out=True))
    assert changes == {
        "algorithm_finished_at": NOW,
        "exit_code": -9,
        "reason": outcomes.STOPPED_REASON,
    }


# --- publish -------------------------------------------------------------------------------------


def test_publish_success_changes_nothing() -> None:
    assert _after("publish", StepExit(0)) == {}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (contract.EXIT_RESULTS_FETCH_FAILED, JobStatus.RESULTS_FETCH_FAILED),
        (contract.EXIT_RESULTS_UPLOAD_FAILED, JobStatus.RESULTS_UPLOAD_FAILED),
        (1, JobStatus.RESULTS_UPLOAD_FAILED),
    ],
)
def test_publish_failure_when_nothing_failed_before(code: int, status: JobStatus) -> None:
    changes = _after("publish", StepExit(code), STAMPED)
    assert changes == {"failure": status, "reason": "input 0: checksum mismatch"}
    assert _after("publish", StepExit(code), "")["reason"] == "publishing the results failed"


@pytest.mark.parametrize("code", [61, 62, 1])
def test_publish_failure_keeps_an_earlier_failure(code: int) -> None:
    changes = _after(
        "publish", StepExit(code), STAMPED, failure=JobStatus.ALGORITHM_FAILED, reason="earlier"
    )
    assert changes == {}


def test_unknown_task_changes_nothing() -> None:
    assert _after("other", StepExit(1)) == {}


# --- final status --------------------------------------------------------------------------------


def test_final_status() -> None:
    assert outcomes.final_status(_record()) == JobStatus.FINISHED
    for failure in (JobStatus.DATA_PROVISIONING_FAILED, JobStatus.RESULTS_UPLOAD_FAILED):
        assert outcomes.final_status(_record(failure=failure)) == failure


# --- restart -------------------------------------------------------------------------------------


def test_interrupted_algorithm_fails_and_never_runs_twice() -> None:
    record = JobRecord(
        spec=raw_spec(),
        status=JobStatus.RUNNING_ALGORITHM,
        outcomes={"configure": "Succeeded"},
        algorithm_started_at=NOW - 10,
    )
    changes = outcomes.interrupted(record, NOW)
    assert changes["outcomes"] == {"configure": "Succeeded", "algorithm": "Failed"}
    assert changes["failure"] == JobStatus.ALGORITHM_FAILED
    assert changes["algorithm_finished_at"] == NOW
    assert "restart" in changes["reason"]


@pytest.mark.parametrize(
    ("status", "done"),
    [
        (JobStatus.STARTED, {}),
        (JobStatus.CONFIGURING_VOLUMES, {}),
        (JobStatus.PROVISIONING, {"configure": "Succeeded"}),
        # The algorithm had ended; publish had not started yet.
        (JobStatus.RUNNING_ALGORITHM, {"configure": "Succeeded", "algorithm": "Succeeded"}),
        (JobStatus.PUBLISHING_RESULTS, {"configure": "Succeeded", "algorithm": "Failed"}),
        (JobStatus.PUBLISHING_RESULTS, {"configure": "Failed", "algorithm": "Omitted"}),
    ],
)
def test_interrupted_configure_and_publish_resume(status: JobStatus, done: dict[str, str]) -> None:
    record = JobRecord(spec=raw_spec(), status=status, outcomes=done)
    assert outcomes.interrupted(record, NOW) == {}


# --- a publisher's preprocess step ---------------------------------------------------------------


def _preprocess(exit: StepExit) -> dict[str, Any]:
    record = JobRecord(spec=preprocess_spec(), status=JobStatus.PROVISIONING)
    return outcomes.after("preprocess", exit, record, "", NOW)


def test_preprocess_keeps_the_provisioning_status() -> None:
    assert outcomes.before("preprocess", NOW) == {}
    assert _preprocess(StepExit(0)) == {}


def test_a_failed_preprocess_is_a_data_provisioning_failure() -> None:
    assert _preprocess(StepExit(3)) == {
        "failure": JobStatus.DATA_PROVISIONING_FAILED,
        "reason": "preprocess publisher-preprocess-csv exited with code 3",
    }
    timed_out = _preprocess(StepExit(137, timed_out=True))
    assert timed_out["reason"] == "preprocess publisher-preprocess-csv took too long"
    assert _preprocess(StepExit(137, stopped=True)) == {"reason": "stopped on request"}
