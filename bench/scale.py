"""``python -m bench --scale``: the provider with 100,000 finished jobs in its store (status p99,
``computeEnvironments`` latency, RSS, start-up time, each beside the same provider on an empty
store) and throughput with 1,000 jobs queued at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.api import load
from bench.figures import Figure, percentile
from bench.jobs import burst
from bench.service import Bench
from bench.specs import job_spec
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus

__all__ = ["fill_store", "measure_scale"]

_OWNERS = 1000
_LISTINGS = 20


def _owner(i: int) -> str:
    return "0x" + f"{i % _OWNERS:040x}"


def fill_store(home: Path, jobs: int) -> tuple[str, str]:
    """``jobs`` finished jobs (``_OWNERS`` owners) written through the engine's own store, as
    the engine leaves them; returns one (owner, jobId) to poll."""
    store = JobStore(home / "state" / "jobs.sqlite")
    try:
        template = job_spec([])
        for i in range(jobs):
            spec = template.model_copy(
                update={"job_id": f"{i:032x}", "owner": _owner(i), "created_at": 1_700_000_000 + i}
            )
            store.insert(JobRecord(spec=spec, status=JobStatus.STARTED))
            store.save(
                JobRecord(
                    spec=spec,
                    status=JobStatus.FINISHED,
                    date_finished=spec.created_at + 1,
                    outcomes={"configure": "Succeeded", "algorithm": "Succeeded"},
                    exit_code=0,
                )
            )
    finally:
        store.close()
    return _owner(jobs - 1), f"{jobs - 1:032x}"


def _rss_mb(bench: Bench) -> float:
    status = Path(f"/proc/{bench.server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _probe(home: Path, owner: str, job_id: str, rate: float, duration: float) -> dict[str, Any]:
    started = time.perf_counter()
    bench = Bench(home)
    startup = time.perf_counter() - started
    try:
        environments = []
        for _ in range(101):
            began = time.perf_counter()
            bench.http.get("/api/services/computeEnvironments").raise_for_status()
            environments.append(time.perf_counter() - began)
        spec: dict[str, Any] = {"mode": "rate", "path": "/api/services/compute", "url": bench.url}
        spec["params"] = {"consumerAddress": owner, "jobId": job_id}
        status = load({**spec, "rate": rate, "duration": duration})
        return {
            "startup": startup,
            "rss": _rss_mb(bench),
            "environments": environments[1:],
            "status": status["latencies"],
        }
    finally:
        bench.close()


def measure_scale(work: Path, jobs: int, queued: int, rate: float, duration: float) -> list[Figure]:
    empty = work / "scale-empty"
    owner, job_id = fill_store(empty, 1)
    base = _probe(empty, owner, job_id, rate, duration)
    full = work / "scale-full"
    began = time.perf_counter()
    owner, job_id = fill_store(full, jobs)
    filled = time.perf_counter() - began
    big = _probe(full, owner, job_id, rate, duration)
    label = f"{jobs:,} finished jobs in the store (baseline: an empty store)"

    def latency(name: str, key: str, fraction: float, target: str) -> Figure:
        ours, theirs = percentile(big[key], fraction), percentile(base[key], fraction)
        # The same server on less data: a "slower" empty store is noise, not a bench bug.
        return Figure(name, ours * 1000, "ms", theirs * 1000, target, floor=False)

    figures = [
        latency("scale_status_p99_ms", "status", 0.99, f"<= 10 at {rate:g} req/s; {label}"),
        latency("scale_environments_p50_ms", "environments", 0.5, label),
        latency("scale_environments_p99_ms", "environments", 0.99, label),
        Figure("scale_rss_mb", big["rss"], "MB", base["rss"], label, floor=False),
        Figure("scale_startup_s", big["startup"], "s", base["startup"], label, floor=False),
        Figure("scale_fill_s", filled, "s", None, f"writing {jobs:,} jobs through JobStore"),
    ]
    bench = Bench(work / "scale-queue")
    listing: list[float] = []

    def list_environments() -> None:
        """What a marketplace asks before each start, while the queue is full."""
        for _ in range(_LISTINGS):
            began = time.perf_counter()
            bench.http.get("/api/services/computeEnvironments").raise_for_status()
            listing.append(time.perf_counter() - began)

    try:
        rate_done, lost = burst(bench, queued, while_queued=list_environments)
    finally:
        bench.close()
    figures += [
        Figure(
            "scale_queued_environments_p50_ms",
            percentile(listing, 0.5) * 1000,
            "ms",
            None,
            f"computeEnvironments x{_LISTINGS} right after {queued:,} starts (most still queued)",
        ),
        Figure(
            "scale_queued_jobs_per_s", rate_done, "jobs/s", None, f"{queued:,} submitted at once"
        ),
        Figure("scale_queued_jobs_lost", float(lost), "jobs", None, f"0 (of {queued:,})"),
    ]
    return figures
