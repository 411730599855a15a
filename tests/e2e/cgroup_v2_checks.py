"""cgroup v2 checks through the REST API, run only inside the cgroup-v2 VM (tests/vm/): its
name keeps pytest from collecting it on hosts, where ``/sys/fs/cgroup`` may be v1.

Each job's group is read by root beside the provider while the job runs: the limits the
backend wrote, the throttling the kernel counted, and the group gone once the job ends.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for, wait_for_status
from workflows.status import JobStatus

CGROUP = Path("/sys/fs/cgroup")
pytestmark = pytest.mark.skipif(
    not (CGROUP / "cgroup.controllers").exists(), reason="cgroup v2 only (tests/vm runs this)"
)

SPINNER = """
import json, os, time
wall0, cpu0 = time.monotonic(), time.process_time()
print("spinning", flush=True)
while time.monotonic() - wall0 < 4:
    pass
report = {"wall": time.monotonic() - wall0, "cpu": time.process_time() - cpu0}
with open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w") as out:
    json.dump(report, out)
"""


def _group(server: ServerProcess, job_id: str) -> Path:
    """The job's group under the provider's ``c2d`` parent (from its own /proc entry)."""
    own = Path(f"/proc/{server.process.pid}/cgroup").read_text().strip().split("::", 1)[1]
    base = CGROUP / own.lstrip("/")
    if base.name == "c2d-provider":
        base = base.parent
    return base / "c2d" / f"job-{job_id}"


def _read(path: Path) -> str:
    return path.read_text().strip()


def _report(client: C2DClient, job: dict[str, Any]) -> dict[str, Any]:
    archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("report.json")
        assert member is not None
        loaded: dict[str, Any] = json.loads(member.read())
        return loaded


def test_the_provider_reports_the_v2_backend_and_its_place(server: ServerProcess) -> None:
    sandbox = httpx.get(server.url + "/", timeout=30).json()["sandbox"]
    own = Path(f"/proc/{server.process.pid}/cgroup").read_text().strip()
    assert "limits: cgroup v2 (memory, pids, cpu, io) under" in sandbox, sandbox
    if own == "0::/":
        assert "under /sys/fs/cgroup/c2d " in sandbox, sandbox
    else:
        # Delegated: the provider moved itself into a leaf so that its group may have children.
        assert own.endswith("/c2d-provider"), own
        group = CGROUP / own.split("::", 1)[1].lstrip("/")
        assert f"under {group.parent}/c2d " in sandbox, sandbox
        assert set(_read(group.parent / "cgroup.subtree_control").split()) >= {
            "memory",
            "pids",
            "cpu",
        }


def test_a_job_runs_in_its_own_group_with_its_limits_and_cpu_max_holds_it(
    client: C2DClient, server: ServerProcess
) -> None:
    client.login()
    job = client.free_compute({"environment": "free", "algorithm": raw_algorithm(SPINNER)})
    job_id = str(job["jobId"])
    wait_for_status(client, job_id, JobStatus.RUNNING_ALGORITHM, timeout=120)
    group = _group(server, job_id)
    deadline = time.monotonic() + 30
    while not (group / "cgroup.procs").exists() or not _read(group / "cgroup.procs"):
        assert time.monotonic() < deadline, f"{group} never held the algorithm"
        time.sleep(0.05)
    # The environment's minimum: half a CPU, a quarter GiB, 256 processes.
    assert _read(group / "cpu.max") == "50000 100000"
    assert _read(group / "memory.max") == str(2**28)
    assert _read(group / "pids.max") == "256"
    if (group / "memory.swap.max").exists():
        assert _read(group / "memory.swap.max") == "0"
    final = wait_for(client, job_id, timeout=180)
    assert final["status"] == JobStatus.FINISHED, final
    used = _report(client, final)
    # Measured inside the job: at most about half of the wall time on the CPU (one vCPU, so
    # without cpu.max a lone spinner gets nearly all of it).
    assert used["wall"] >= 4, used
    assert used["cpu"] / used["wall"] < 0.65, used
    # Nothing of the job's group outlives it.
    assert not group.exists()


def test_a_stopped_job_leaves_no_process_and_no_group(
    client: C2DClient, server: ServerProcess
) -> None:
    client.login()
    forker = """
import os, time
for _ in range(5):
    if os.fork() == 0:
        os.setsid()
        while True:
            time.sleep(1)
print("forked", flush=True)
while True:
    time.sleep(1)
"""
    job = client.free_compute({"environment": "free", "algorithm": raw_algorithm(forker)})
    job_id = str(job["jobId"])
    wait_for_status(client, job_id, JobStatus.RUNNING_ALGORITHM, timeout=120)
    group = _group(server, job_id)
    deadline = time.monotonic() + 30
    while len(_read_pids(group)) < 6:
        assert time.monotonic() < deadline, _read_pids(group)
        time.sleep(0.05)
    pids = _read_pids(group)
    client.stop(job_id)
    final = wait_for(client, job_id, timeout=120)
    assert "stopped on request" in (final.get("statusReason") or ""), final
    assert not group.exists()
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []


def _read_pids(group: Path) -> list[str]:
    try:
        return _read(group / "cgroup.procs").split()
    except OSError:
        return []
