"""Where a job's time goes, from outside: the consumer's records joined with the provider's own
log (``C2D_LOG_FORMAT=json``: "job submitted", "step ended: … in S s" per step, "job finished").

Phases, each a median over jobs, in ms:
``admission`` the POST leaving the client → the engine logging the job submitted;
``queue`` submitted → the first step starting; then each step by name (``configure``,
``algorithm``, ``publish``) and the ``gap`` between consecutive steps (summed);
``finish`` the last step ending → "job finished"; ``visibility`` "job finished" → the client's
first poll that saw the end. ``engine`` (submitted → finished) is the engine's own figure and
``consumer`` (POST → end seen) the consumer's; their difference is admission + visibility.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from bench.figures import percentile

__all__ = ["JobEvents", "breakdown", "job_events", "phase_order"]

_STEP = re.compile(r"step ended: \w+ in ([0-9.]+) s")

JobEvents = dict[str, Any]


def job_events(lines: Iterable[str]) -> dict[str, JobEvents]:
    """Per job id: ``submitted`` and ``finished`` (epoch s) and ``steps`` [(name, start, end)]."""
    jobs: dict[str, JobEvents] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or "job_id" not in event:
            continue
        job = jobs.setdefault(event["job_id"], {"steps": []})
        text, ts = str(event.get("event", "")), float(event.get("ts", 0))
        if text == "job submitted" or (text == "job queued" and "submitted" not in job):
            job["submitted"] = ts
        elif text.startswith("job finished"):
            job["finished"] = ts
        elif (match := _STEP.match(text)) and "step" in event:
            job["steps"].append((event["step"], ts - float(match.group(1)), ts))
    return jobs


def _phases(record: dict[str, Any], job: JobEvents) -> dict[str, float] | None:
    if not {"submitted", "finished"} <= job.keys() or "visible" not in record:
        return None
    steps = sorted(job["steps"], key=lambda step: step[1])
    phases = {
        "admission": job["submitted"] - record["submitted"],
        "engine": job["finished"] - job["submitted"],
        "visibility": record["visible"] - job["finished"],
        "consumer": record["visible"] - record["submitted"],
    }
    if steps:
        phases["queue"] = steps[0][1] - job["submitted"]
        phases["finish"] = job["finished"] - steps[-1][2]
        phases["gap"] = sum(b[1] - a[2] for a, b in pairwise(steps))
        for name, start, end in steps:
            phases[name] = phases.get(name, 0.0) + end - start
    return phases


def breakdown(records: Sequence[dict[str, Any]], jobs: dict[str, JobEvents]) -> dict[str, float]:
    """Median ms per phase over the records whose job the log covers."""
    per_phase: dict[str, list[float]] = {}
    for record in records:
        job = jobs.get(record.get("jobId", ""))
        phases = None if job is None else _phases(record, job)
        for name, seconds in (phases or {}).items():
            per_phase.setdefault(name, []).append(seconds * 1000)
    return {name: percentile(values, 0.5) for name, values in per_phase.items()}


def phase_order(phases: dict[str, float]) -> list[str]:
    """The phases in the order a job meets them, then anything else (step names) by name."""
    known = ["admission", "queue", "configure", "gap", "algorithm", "publish", "finish"]
    tail = ["visibility", "engine", "consumer"]
    steps = sorted(name for name in phases if name not in known + tail)
    return [name for name in known + steps + tail if name in phases]
