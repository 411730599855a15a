"""The per-phase breakdown: the provider's JSON log joined with the consumer's times."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.__main__ import _counts
from bench.profile import breakdown, job_events, phase_order


def _log(job: str, ts: float, event: str, step: str = "") -> str:
    fields = {"ts": ts, "level": "info", "logger": "x", "event": event, "job_id": job}
    return json.dumps({**fields, "step": step} if step else fields)


def _lines(job: str, t0: float) -> list[str]:
    return [
        _log(job, t0 + 0.010, "job submitted"),
        _log(job, t0 + 0.120, "step ended: succeeded in 0.100 s", "configure"),
        _log(job, t0 + 0.300, "step ended: succeeded in 0.170 s", "algorithm"),
        _log(job, t0 + 0.350, "step ended: succeeded in 0.040 s", "publish"),
        _log(job, t0 + 0.360, "job finished: finished"),
        "not json at all",
        json.dumps({"ts": t0, "event": "request served"}),  # no job: ignored
    ]


def test_phases_add_up_to_what_the_consumer_waited() -> None:
    jobs = job_events(_lines("a", 100.0))
    record = {"jobId": "a", "submitted": 100.0, "visible": 100.4}
    phases = breakdown([record], jobs)
    assert phases["admission"] == pytest.approx(10)
    assert phases["queue"] == pytest.approx(10)
    assert phases["configure"] == pytest.approx(100)
    assert phases["gap"] == pytest.approx(20)  # 120→130 and 300→310
    assert phases["algorithm"] == pytest.approx(170)
    assert phases["publish"] == pytest.approx(40)
    assert phases["finish"] == pytest.approx(10)
    assert phases["visibility"] == pytest.approx(40)
    assert phases["engine"] == pytest.approx(350)
    assert phases["consumer"] == pytest.approx(400)
    inner = ["admission", "queue", "configure", "gap", "algorithm", "publish", "finish"]
    assert sum(phases[name] for name in [*inner, "visibility"]) == pytest.approx(400)
    assert phase_order(phases) == [*inner, "visibility", "engine", "consumer"]


def test_medians_over_jobs_and_jobs_the_log_misses_are_left_out() -> None:
    jobs = job_events(_lines("a", 100.0) + _lines("b", 200.0) + _lines("c", 300.0))
    records: list[dict[str, Any]] = [
        {"jobId": "a", "submitted": 100.0, "visible": 100.4},
        {"jobId": "b", "submitted": 200.0, "visible": 200.5},
        {"jobId": "c", "submitted": 300.0, "visible": 300.9},
        {"jobId": "lost", "submitted": 1.0, "visible": 9.0},
        {"submitted": 1.0, "status": -400},  # refused: no job id
    ]
    assert breakdown(records, jobs)["visibility"] == pytest.approx(140)


def test_consumer_counts_option() -> None:
    assert _counts("1,10,50") == [1, 10, 50]
    with pytest.raises(SystemExit, match="whole numbers"):
        _counts("1,ten")
    with pytest.raises(SystemExit, match="at least 1"):
        _counts("0")
