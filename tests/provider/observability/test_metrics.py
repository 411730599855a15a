"""Metrics text after engine events and requests (no engine process needed)."""

from __future__ import annotations

from provider.observability.metrics import Metrics
from workflows.engines.local.board import StepEvent


class _Engine:
    def __init__(self) -> None:
        self.finished: list[object] = []
        self.steps: list[object] = []

    def on_finished(self, listener: object) -> None:
        self.finished.append(listener)

    def on_step(self, listener: object) -> None:
        self.steps.append(listener)

    def job_counts(self) -> dict[tuple[str, int], int]:
        return {("free", 1): 2, ("free", 70): 5}

    def queue_depths(self) -> dict[str, int]:
        return {"free": 2}


def test_counters_histograms_and_engine_gauges_render() -> None:
    metrics = Metrics(["free", "gpu"])
    engine = _Engine()
    metrics.watch(engine)
    assert engine.finished and engine.steps
    metrics.step_ended(StepEvent("j", "free", "algorithm", 0.4, "Failed", 137, "oom"))
    metrics.request_done("GET", "/api/services/compute", 200, 0.002)
    metrics.request_done("PUT", "/api/services/compute", 401, 0.003)
    text = metrics.render().decode()
    assert 'c2d_jobs{code="1",environment="free",status="queued"} 2.0' in text
    assert 'c2d_jobs{code="70",environment="free",status="finished"} 5.0' in text
    assert 'c2d_queue_depth{environment="free"} 2.0' in text
    assert 'c2d_queue_depth{environment="gpu"} 0.0' in text
    assert 'c2d_sandbox_kills_total{environment="free",reason="oom"} 1.0' in text
    assert 'c2d_sandbox_kills_total{environment="gpu",reason="deadline"} 0.0' in text
    assert (
        'c2d_step_duration_seconds_count{environment="free",outcome="failed",step="algorithm"} 1.0'
        in text
    )
    assert 'c2d_auth_failures_total{route="/api/services/compute"} 1.0' in text
    assert (
        'c2d_http_requests_total{method="GET",route="/api/services/compute",status="200"}' in text
    )
