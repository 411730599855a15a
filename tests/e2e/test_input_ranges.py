"""Values outside their range over HTTP: a 400 naming the field (never a 500), and a refused
start leaves nothing behind; amounts below a resource's minimum are raised to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient, sign_request
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for
from workflows.status import JobStatus

_FREE = "/api/services/freeCompute"
_PLACEHOLDER = '"__raw__"'


def _signed_start(server: ServerProcess, extra: dict[str, Any], raw: str | None = None) -> bytes:
    """A signed freeCompute body; ``raw`` replaces the value ``"__raw__"`` as it is written, for
    literals json.dumps does not write (``Infinity``, ``1e999``)."""
    account = Account.create()
    with C2DClient(server.url, account) as client:
        nonce = client.next_nonce()
    body = {
        "consumerAddress": account.address,
        "nonce": str(nonce),
        "signature": sign_request(account, nonce, "freeStartCompute"),
        "environment": "free",
        "algorithm": raw_algorithm("print(1)"),
        **extra,
    }
    text = json.dumps(body)
    return (text.replace(_PLACEHOLDER, raw) if raw is not None else text).encode()


def _job_folders(home: Path) -> set[str]:
    jobs = home / "jobs"
    return {entry.name for entry in jobs.iterdir()} if jobs.is_dir() else set()


@pytest.mark.parametrize(
    ("extra", "raw", "error"),
    [
        ({"maxJobDuration": "__raw__"}, "Infinity", "maxJobDuration: must be a finite number"),
        ({"maxJobDuration": "__raw__"}, "1e999", "maxJobDuration: must be a finite number"),
        ({"queueMaxWaitTime": "__raw__"}, "Infinity", "queueMaxWaitTime: must be a finite number"),
        ({"queueMaxWaitTime": "__raw__"}, "1e999", "queueMaxWaitTime: must be a finite number"),
        (
            {"metadata": {"note": "\ud800"}},
            None,
            "metadata.note: text is not valid Unicode (it holds a lone surrogate)",
        ),
        (
            {"maxJobDuration": 10**12},
            None,
            "maxJobDuration: Input should be less than or equal to 2147483647",
        ),
        (
            {"resources": [{"id": "disk", "amount": -1}]},
            None,
            "resources.0.amount: Input should be greater than or equal to 0",
        ),
        (
            {"algorithm": {**raw_algorithm("print(1)"), "envs": {"A=B": "1"}}},
            None,
            "algorithm.envs: 'A=B' is no variable name (a letter or _, then letters, digits or _,"
            " at most 128)",
        ),
        (
            {"chainId": 10**400},
            None,
            "chainId: integer out of range (at most 9223372036854775807 either way; send it as a"
            " string)",
        ),
    ],
)
def test_out_of_range_start_is_400_naming_the_field_and_leaves_nothing(
    server: ServerProcess, home: Path, extra: dict[str, Any], raw: str | None, error: str
) -> None:
    before = _job_folders(home)
    response = httpx.post(
        server.url + _FREE,
        content=_signed_start(server, extra, raw),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error}
    assert _job_folders(home) - before == set(), "a refused start left a job folder"


def test_valid_until_out_of_range_is_400(server: ServerProcess) -> None:
    account = Account.create()
    with C2DClient(server.url, account) as client:
        for valid_until, error in (
            (
                10**400,
                "validUntil: integer out of range (at most 9223372036854775807 either way; send"
                " it as a string)",
            ),
            (2**60, "validUntil: Input should be less than or equal to 9007199254740991"),
        ):
            body = {"address": account.address, **client.signed("createAuthToken")}
            body["validUntil"] = valid_until
            response = httpx.post(server.url + "/api/services/auth/token", json=body)
            assert response.status_code == 400, response.text
            assert response.json() == {"error": error}


def test_out_of_range_query_numbers_are_400(server: ServerProcess) -> None:
    environments = httpx.get(
        server.url + "/api/services/computeEnvironments", params={"chainId": str(10**400)}
    )
    assert environments.status_code == 400
    assert environments.json() == {
        "error": "query.chainId: Input should be less than or equal to 9223372036854775807"
    }
    result = httpx.get(
        server.url + "/api/services/computeResult",
        params={"consumerAddress": "0x" + "a" * 40, "jobId": "0" * 32, "index": str(10**400)},
    )
    assert result.status_code == 400
    assert result.json() == {"error": "query.index: Input should be less than or equal to 1000"}


_DISK_SIZE = (
    "import os\ns = os.statvfs(os.environ['OUTPUTS'])\nprint('disk', s.f_blocks * s.f_frsize)\n"
)


def _run(
    client: C2DClient, code: str, resources: list[dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    job = client.free_compute(
        {"environment": "free", "algorithm": raw_algorithm(code), "resources": resources}
    )
    final = wait_for(client, job["jobId"])
    log = client.result(job["jobId"], result_of_type(final, "algorithmLog")["index"])
    return final, log.decode()


@pytest.mark.parametrize(("amount", "low", "high"), [(0, 2**30, 2**31), (1e-12, 2**20, 2**24)])
def test_a_disk_of_0_or_1e_12_runs(client: C2DClient, amount: float, low: int, high: int) -> None:
    # The default environment has no disk minimum: 0 is "not asked" (1 GiB), 1e-12 the least
    # a job file system gets (1 MiB, plus what ext4 keeps for itself).
    final, log = _run(client, _DISK_SIZE, [{"id": "disk", "amount": amount}])
    assert final["status"] == JobStatus.FINISHED, final
    size = int(log.split("disk", 1)[1].split()[0])
    assert low * 0.9 <= size <= high, size


_ALLOCATE = "block = b'x' * (400 << 20)\nprint('allocated', len(block) >> 20)\n"


def test_ram_below_its_minimum_is_raised_to_it(client: C2DClient) -> None:
    ram = next(r for r in client.environments()[0]["resources"] if r["id"] == "ram")
    assert ram["min"] >= 1
    # 0.2 GiB would be killed allocating 400 MiB; raised to the minimum (1 GiB) it is not.
    final, log = _run(client, _ALLOCATE, [{"id": "ram", "amount": 0.2}])
    assert final["status"] == JobStatus.FINISHED, final
    assert "allocated 400" in log
