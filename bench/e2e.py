"""Figures 7 to 9: the consumer's view. A client process (``bench.consumer``) signs starts, names a
dataset on a separate loopback HTTP server process and waits for each job; every figure's
baseline (the bare ``bwrap`` + python run, one after another or as many at once) runs in the
same invocation. The per-phase breakdown joins the client's times with the provider's log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.child import run_module
from bench.cpu import cpu_per_job, snapshot
from bench.figures import Figure, percentile
from bench.jobs import TRIVIAL
from bench.profile import breakdown, job_events, phase_order
from bench.service import Bench, slots_settings
from devkit.launch import free_port
from workflows.status import JobStatus

__all__ = ["bare_run_seconds", "measure_consumers", "measure_wide_burst"]

_POLL_SECONDS = 0.02  # a client's status poll; bounds the visibility error it adds
_POLL_RATE = 200.0  # status polls per second, at most, of all the run's consumers together


def bare_run_seconds() -> float:
    """The least a sandboxed trivial job costs: bwrap (new namespaces, / read-only) + python."""
    bwrap = shutil.which("bwrap") or "bwrap"
    command = [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    started = time.perf_counter()
    subprocess.run(
        [*command, "/usr/bin/python3", "-I", "-c", TRIVIAL], check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def _bare_jobs_per_s(workers: int, jobs: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: bare_run_seconds(), range(jobs)))
    return jobs / (time.perf_counter() - started)


class _DatasetServer:
    """``python -m http.server`` on loopback in its own process, serving one small file."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data.csv").write_text("a,b\n1,2\n" * 100)
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}/data.csv"
        for _ in range(600):
            try:
                httpx.get(self.url, timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the dataset server did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


def _phase_figures(label: str, bench: Bench, records: Sequence[dict[str, Any]]) -> list[Figure]:
    jobs = job_events(bench.server.log_path.read_text(errors="replace").splitlines())
    phases = breakdown(records, jobs)
    return [
        Figure(f"phase_{label}_{name}_ms", phases[name], "ms", None, "median")
        for name in phase_order(phases)
    ]


def _run(
    bench: Bench, spec: dict[str, Any]
) -> tuple[float, int, list[dict[str, Any]], tuple[float, float]]:
    """(jobs whose end the client saw per second, jobs lost, the records, the client's and the
    machine's CPU seconds over the run)."""
    result = run_module("bench.consumer", {**spec, "url": bench.url, "code": TRIVIAL})
    records: list[dict[str, Any]] = result["records"]
    finished = [r for r in records if r.get("status") == JobStatus.FINISHED]
    last = max((r["visible"] for r in finished), default=result["ended"])
    rate = len(finished) / max(last - result["began"], 1e-9)
    cpu = (float(result["cpu"]), float(result["machine"]))
    return rate, len(records) - len(finished), records, cpu


def _burst(
    bench: Bench,
    base: dict[str, Any],
    burst: int,
    label: str,
    bare_rate: float,
    target: str,
) -> tuple[list[Figure], int]:
    """``burst`` starts at once: jobs per second seen ended, the phases, CPU per job by part;
    and the jobs lost."""
    before = snapshot(bench.server.process.pid)
    rate, missing, records, (client, machine) = _run(
        bench, {**base, "mode": "burst", "jobs": burst}
    )
    after = snapshot(bench.server.process.pid)
    used = cpu_per_job(before, after, burst - missing, client, machine)
    figures = [Figure(f"e2e_{label}_jobs_per_s", rate, "jobs/s", bare_rate, target)]
    figures += _phase_figures(label, bench, records)
    figures += [
        Figure(f"cpu_{label}_{part}_ms_per_job", ms, "ms", None, "CPU per job (bench/cpu.py)")
        for part, ms in sorted(used.items())
    ]
    # How busy the machine was: near 100 % the jobs wait on the CPU, far below it on something
    # else (locks, the kernel, the slots).
    seconds = (burst - missing) / rate if rate else 0.0
    cores = os.cpu_count() or 1
    busy = 100 * machine / (cores * seconds) if seconds else 0.0
    figures.append(Figure(f"cpu_{label}_machine_busy_percent", busy, "%", None, "all cores"))
    return figures, missing


def _base(dataset: _DatasetServer) -> dict[str, Any]:
    """What every run's client is told: the dataset, how often it polls, how long it waits."""
    return {
        "dataset_url": dataset.url,
        "poll": _POLL_SECONDS,
        "poll_rate": _POLL_RATE,
        "timeout": 600,
    }


def measure_consumers(
    bench: Bench, work: Path, consumers: Sequence[int], jobs: int, burst: int
) -> list[Figure]:
    """``jobs`` jobs per consumer count (at least one each), then ``burst`` jobs at once."""
    dataset = _DatasetServer(work / "dataset")
    figures: list[Figure] = []
    lost = 0
    base = _base(dataset)
    try:
        bare_run_seconds()  # warm-up
        bare = [bare_run_seconds() for _ in range(max(5, jobs))]
        for count in consumers:
            per = max(1, jobs // count)
            spec = {**base, "mode": "wait", "consumers": count, "jobs_per_consumer": per}
            rate, missing, records, _ = _run(bench, spec)
            lost += missing
            label = f"{count}consumer{'s' if count > 1 else ''}"
            if count == 1:
                e2e = [r["visible"] - r["submitted"] for r in records if "visible" in r]
                figures.append(
                    Figure(
                        "e2e_overhead_p50_ms",
                        (percentile(e2e, 0.5) - percentile(bare, 0.5)) * 1000,
                        "ms",
                        percentile(bare, 0.5) * 1000,
                        f"<= 150 from outside (baseline: bare bwrap + python; {len(e2e)} jobs)",
                        floor=False,
                    )
                )
            figures.append(
                Figure(
                    f"e2e_{label}_jobs_per_s",
                    rate,
                    "jobs/s",
                    _bare_jobs_per_s(count, count * per),
                    f"{count} waiting, {per} jobs each (baseline: bare runs alike)",
                )
            )
            figures += _phase_figures(label, bench, records)
        cores = os.cpu_count() or 1
        target = f">= 20 ({burst} at once; baseline: bare runs, {cores} at a time)"
        burst_figures, missing = _burst(
            bench, base, burst, "burst", _bare_jobs_per_s(cores, burst), target
        )
        figures += burst_figures
        lost += missing
    finally:
        dataset.close()
    figures.append(Figure("e2e_jobs_lost", float(lost), "jobs", None, "0"))
    return figures


def measure_wide_burst(work: Path, slots: int, burst: int) -> list[Figure]:
    """The burst again on a provider whose environment runs ``slots`` jobs at once (the
    default runs 3 per CPU): whether fewer slots leave the machine idle and more gain anything
    (the busy percentage and the CPU per job say)."""
    bench = Bench(work / "home", env=slots_settings(work / "home", slots))
    dataset = _DatasetServer(work / "dataset")
    try:
        # As the default burst, after jobs have run: the step and stage servers started, the
        # disk image pool filled.
        base = _base(dataset)
        _run(bench, {**base, "mode": "wait", "consumers": 1, "jobs_per_consumer": slots})
        cores = os.cpu_count() or 1
        figures, missing = _burst(
            bench,
            base,
            burst,
            f"burst_{slots}slots",
            _bare_jobs_per_s(cores, burst),
            f"{burst} at once, {slots} jobs at a time (maxJobs {slots})",
        )
    finally:
        dataset.close()
        bench.close()
    return [*figures, Figure(f"e2e_burst_{slots}slots_jobs_lost", float(missing), "jobs")]
