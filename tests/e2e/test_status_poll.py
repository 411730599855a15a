"""A consumer's status poll is answered before FastAPI's routing: over a real ``c2d serve``
(the privilege split, its helper), it answers what the route answers, byte for byte, and is
counted under the route's label."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from eth_account import Account

from devkit.client import C2DClient
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, raw_dataset, wait_for
from workflows.status import JobStatus

_STATUS = "/api/services/compute"


def _polls_counted(server: ServerProcess) -> float:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    labels = 'method="GET",route="/api/services/compute",status="200"'
    found = re.search(rf"^c2d_http_requests_total\{{{labels}\}} (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


def test_a_poll_answers_what_the_route_answers(
    client: C2DClient, server: ServerProcess, file_server: FileServer
) -> None:
    env = str(client.environments()[0]["id"])
    job = client.free_compute(
        {
            "environment": env,
            "datasets": [raw_dataset(file_server.url("weather.csv"))],
            "algorithm": raw_algorithm("print('polled')"),
        }
    )
    assert wait_for(client, job["jobId"])["status"] == JobStatus.FINISHED
    owner = client.account.address
    asked: list[dict[str, str]] = [
        {"consumerAddress": owner, "jobId": job["jobId"]},
        {"consumerAddress": owner.lower(), "jobId": job["jobId"]},
        {"consumerAddress": owner, "jobId": job["jobId"], "agreementId": "0x" + "0" * 64},
        {"consumerAddress": Account.create().address, "jobId": job["jobId"]},  # not theirs
        {"consumerAddress": owner, "jobId": "0" * 32},  # no such job
        {"consumerAddress": owner, "jobId": "../" * 8},  # no job can have that id
    ]
    before = _polls_counted(server)
    answers = []
    for params in asked:
        polled = httpx.get(server.url + _STATUS, params=params, timeout=10)
        # An unknown parameter (ignored by the route) hands the same request to the route.
        routed = httpx.get(server.url + _STATUS, params={**params, "via": "route"}, timeout=10)
        assert polled.status_code == routed.status_code == 200
        assert polled.headers["content-type"] == routed.headers["content-type"]
        assert polled.content == routed.content, params
        answers.append(polled.json())
    mine: list[dict[str, Any]] = answers[0]
    assert [j["jobId"] for j in mine] == [job["jobId"]] and mine[0]["status"] == 70
    assert answers[1] == mine
    assert answers[2:] == [[], [], [], []]
    assert _polls_counted(server) == before + 2 * len(asked)


def test_a_polled_job_is_seen_through_every_change_to_its_end(
    client: C2DClient, server: ServerProcess, file_server: FileServer
) -> None:
    """The API keeps a polled job's state until the sandbox helper announces a change of it:
    plain polls see the job run and end, not the state of their first answer."""
    env = str(client.environments()[0]["id"])
    job = client.free_compute(
        {
            "environment": env,
            "datasets": [raw_dataset(file_server.url("weather.csv"))],
            "algorithm": raw_algorithm("import time; time.sleep(1.5)"),
        }
    )
    params = {"consumerAddress": client.account.address, "jobId": job["jobId"]}
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while (not seen or seen[-1] != JobStatus.FINISHED) and time.monotonic() < deadline:
        answer = httpx.get(server.url + _STATUS, params=params, timeout=10).json()
        if not seen or answer[0]["status"] != seen[-1]:
            seen.append(answer[0]["status"])
        time.sleep(0.02)
    assert JobStatus.RUNNING_ALGORITHM in seen, seen
    assert seen[-1] == JobStatus.FINISHED, seen
