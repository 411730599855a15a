"""computeEnvironments' load figures through the privilege split: counted by the sandbox helper
where the jobs are (one small answer, whatever the number of jobs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import start_server
from tests.e2e.conftest import raw_algorithm

_SLEEP = raw_algorithm("import time\ntime.sleep(300)")


def test_running_and_queued_jobs_are_counted_by_the_helper(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home")
    try:
        with C2DClient(server.url, Account.create()) as first:
            environment = first.environments()[0]
            slots = int(environment["maxJobs"])
        for _ in range(slots + 2):
            with C2DClient(server.url, Account.create()) as client:
                client.free_compute(
                    {"environment": environment["id"], "algorithm": _SLEEP, "queueMaxWaitTime": 600}
                )
        listed = _wait_for_load(server.url, slots)
        assert listed["queuedJobs"] == 2
        assert listed["queMaxWaitTime"] > 0 and listed["runMaxWaitTime"] > 0
        in_use = {r["id"]: r["inUse"] for r in listed["resources"]}
        assert in_use["cpu"] > 0 and in_use["ram"] > 0
    finally:
        server.stop()


def _wait_for_load(url: str, running: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    with C2DClient(url, Account.create()) as client:
        while True:
            listed: dict[str, Any] = client.environments()[0]
            if listed["runningJobs"] == running or time.monotonic() > deadline:
                assert listed["runningJobs"] == running, listed
                return listed
            time.sleep(0.2)
