"""An algorithm Pod nothing can schedule ends its job (32) with the scheduler's message, after
the deadline; before it, the job keeps waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.argo.fake_cluster import FakeServer, wait_until
from tests.argo.objects import algorithm_pod, algorithm_running, stopped_by_argo
from tests.workflows.support import did_spec
from workflows.engines.argo import ArgoEngine
from workflows.engines.base import JobNotFound
from workflows.status import JobStatus

SPEC = did_spec()
NAME = SPEC.workflow_name
SCHEDULER = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


def _unschedulable(since: str) -> dict[str, Any]:
    pod = algorithm_pod(SPEC, "Pending", waiting={"reason": "ContainerCreating"})
    pod["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": SCHEDULER,
            "lastTransitionTime": since,
        }
    ]
    return pod


def _status(engine: ArgoEngine) -> JobStatus | None:
    try:
        return engine.get(SPEC.job_id).status
    except JobNotFound:
        return None  # not seen by the watch yet


def _running(server: FakeServer) -> None:
    server.cluster.put("workflows", algorithm_running(SPEC))


def test_a_pod_unschedulable_past_the_deadline_ends_the_job_with_the_reason(
    server: FakeServer, start_engine: Callable[..., ArgoEngine]
) -> None:
    engine = start_engine(unschedulable_deadline=600, watchdog_interval=0.05)
    _running(server)
    server.cluster.put("pods", _unschedulable("2026-01-01T00:00:00Z"))

    wait_until(lambda: server.cluster.workflows[NAME]["spec"].get("shutdown") == "Stop")
    wait_until(lambda: server.cluster.calls("DELETE"))
    # The Pod goes, so that it never starts late (the engine's orphan check may ask too).
    assert {
        call.path.rsplit("/", 2)[-2:] == ["pods", f"{NAME}-algorithm"]
        for call in server.cluster.calls("DELETE")
    } == {True}
    server.cluster.put("workflows", stopped_by_argo(server.cluster.workflows[NAME], SPEC))
    wait_until(lambda: engine.get(SPEC.job_id).date_finished is not None)
    state = engine.get(SPEC.job_id)
    assert state.status == JobStatus.ALGORITHM_PROVISIONING_FAILED
    assert state.reason.startswith("the algorithm pod could not be scheduled for ")
    assert state.reason.endswith(f" s: {SCHEDULER}")


def test_a_pod_unschedulable_for_less_than_the_deadline_waits(
    server: FakeServer, start_engine: Callable[..., ArgoEngine]
) -> None:
    engine = start_engine(unschedulable_deadline=10**9, watchdog_interval=3600)
    _running(server)
    server.cluster.put("pods", _unschedulable("2026-01-01T00:00:00Z"))
    wait_until(lambda: _status(engine) == JobStatus.RUNNING_ALGORITHM)
    assert engine._watchdog.check() == []
    assert not server.cluster.calls("PATCH") and not server.cluster.calls("DELETE")
