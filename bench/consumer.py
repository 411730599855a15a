"""The consumer's view, run as its own process: ``python -m bench.consumer SPEC.json`` → JSON.

Each consumer signs its start with eth-account (a fresh account per job, so its first nonce is
1), names a dataset on a separate loopback HTTP server, and polls ``computeStatus`` until the job
ends before it submits the next one (``mode: wait``); ``mode: burst`` submits every job at once,
then polls them all. All the polls of a run together stay within ``poll_rate`` requests per
second (the status target's load: a client polling as fast as the server answers measures
itself, its polls taking a core of a small machine from the jobs they wait for). Times are
wall-clock (``time.time``) so they line up with the provider's log; each record: ``jobId``,
``owner``, ``submitted`` (before the POST), ``accepted`` (its answer), ``visible`` (the first
poll that showed the end), ``status``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eth_account import Account

from bench.cpu import machine_busy_seconds
from bench.http_client import KeepAliveClient
from devkit.client import sign_request
from workflows.status import TERMINAL_STATUSES, JobStatus

__all__ = ["main"]

_CONTAINER = {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"}


def _body(spec: dict[str, Any]) -> dict[str, Any]:
    account = Account.create()
    return {
        "consumerAddress": account.address,
        "nonce": "1",
        "signature": sign_request(account, 1, "freeStartCompute"),
        "environment": "free",
        "queueMaxWaitTime": 3600,
        "datasets": [{"fileObject": {"type": "url", "url": spec["dataset_url"], "method": "GET"}}],
        "algorithm": {"meta": {"rawcode": spec["code"], "container": _CONTAINER}},
    }


def _submit(http: KeepAliveClient, body: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"owner": body["consumerAddress"], "submitted": time.time()}
    response = http.post("/api/services/freeCompute", body)
    record["accepted"] = time.time()
    if response.status_code != 200:
        record |= {"status": -response.status_code, "error": response.text[:200]}
        return record
    record["jobId"] = response.json()[0]["jobId"]
    return record


class _Pacer:
    """Spaces the polls of every thread of the run at least ``1 / rate`` s apart."""

    def __init__(self, rate: float) -> None:
        self._gap = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._gap
        if slot > now:
            time.sleep(slot - now)


def _ended(http: KeepAliveClient, record: dict[str, Any], pacer: _Pacer) -> bool:
    """One status poll; on the job's end, stamps when it was seen and its status."""
    pacer.wait()
    params = {"consumerAddress": record["owner"], "jobId": record["jobId"]}
    job = http.get("/api/services/compute", params).json()[0]
    if JobStatus(job["status"]) not in TERMINAL_STATUSES:
        return False
    record["visible"] = time.time()
    record["status"] = job["status"]
    return True


def _consumer(spec: dict[str, Any], jobs: int, pacer: _Pacer) -> list[dict[str, Any]]:
    records = []
    http = KeepAliveClient(spec["url"], timeout=120)
    for _ in range(jobs):
        record = _submit(http, _body(spec))
        _wait_all(http, [record], pacer, float(spec["poll"]), float(spec["timeout"]))
        records.append(record)
    return records


def _burst(spec: dict[str, Any], pacer: _Pacer) -> tuple[list[dict[str, Any]], tuple[float, float]]:
    """The records, and this process's and the machine's CPU seconds when the starts began
    to be sent."""
    jobs = int(spec["jobs"])
    http = KeepAliveClient(spec["url"], timeout=120)
    bodies = [_body(spec) for _ in range(jobs)]  # signed before the clock, as in a queue
    cpu_began = _cpu_seconds()
    with ThreadPoolExecutor(max_workers=32) as pool:
        records = list(pool.map(lambda body: _submit(http, body), bodies))
    _wait_all(http, records, pacer, float(spec["poll"]), float(spec["timeout"]))
    return records, cpu_began


def _wait_all(
    http: KeepAliveClient, records: list[dict[str, Any]], pacer: _Pacer, poll: float, timeout: float
) -> None:
    """Polls every unfinished job once per round (as 200 clients each polling would), so a job's
    end is seen one round after it happens whatever order the jobs end in."""
    pending = [record for record in records if "jobId" in record]
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = [record for record in pending if not _ended(http, record, pacer)]
        if pending:
            time.sleep(poll)
    for record in pending:
        record["status"] = None


def _cpu_seconds() -> tuple[float, float]:
    """This process's CPU seconds, and the whole machine's busy seconds."""
    return time.process_time(), machine_busy_seconds()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """The records, the run's start and end (wall clock) and CPU seconds from the first start
    sent (imports and a burst's signing left out): ``cpu`` this process's, ``machine`` the
    whole machine's busy time."""
    pacer = _Pacer(float(spec["poll_rate"]))
    if spec["mode"] == "burst":
        began = time.time()  # after signing (inside _burst the clock starts at the first POST)
        records, cpu_began = _burst(spec, pacer)
        began = min((r["submitted"] for r in records), default=began)
    else:
        began, cpu_began = time.time(), _cpu_seconds()
        consumers, per = int(spec["consumers"]), int(spec["jobs_per_consumer"])
        with ThreadPoolExecutor(max_workers=consumers) as pool:
            chunks = list(pool.map(lambda _: _consumer(spec, per, pacer), range(consumers)))
        records = [record for chunk in chunks for record in chunk]
    cpu_ended = _cpu_seconds()
    cpu, machine = cpu_ended[0] - cpu_began[0], cpu_ended[1] - cpu_began[1]
    return {
        "began": began,
        "ended": time.time(),
        "records": records,
        "cpu": cpu,
        "machine": machine,
    }


def main() -> int:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
