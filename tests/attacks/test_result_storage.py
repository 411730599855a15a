"""Result storage: publish stores what a job really used (a sparse file stays sparse), and
result storage as a whole is capped per environment and on the host (status 62 beyond)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from provider.environments import default_config
from tests.attacks.conftest import algorithm_log, outputs, run
from tests.e2e.conftest import raw_algorithm, wait_for
from workflows.status import JobStatus

_GIB = 2**30
_MIB = 2**20
_DISK = 0.1  # GiB: the job's disk limit in the sparse test

_SIZE = int(_DISK * _GIB) - _MIB
SPARSE = rf"""
import os
size = {_SIZE}
with open(os.path.join(os.environ["OUTPUTS"], "sparse.bin"), "wb") as out:
    out.truncate(size - 3)
    out.seek(size - 3)
    out.write(b"end")
"""


def _stored_bytes(folder: Path) -> int:
    """What result storage really holds on the host: allocated blocks of every file."""
    return sum(
        os.lstat(os.path.join(root, name)).st_blocks * 512
        for root, _, names in os.walk(folder)
        for name in names
    )


def test_a_sparse_file_as_big_as_the_disk_limit_costs_result_storage_nothing(
    attacker: C2DClient, attack_home: Path
) -> None:
    job = run(attacker, SPARSE, resources=[{"id": "disk", "amount": _DISK}])
    assert job["status"] == JobStatus.FINISHED, algorithm_log(attacker, job)[-2000:]
    stored = attack_home / "results" / job["jobId"]
    assert _stored_bytes(stored) < 2 * _MIB, sorted(os.listdir(stored))
    # The consumer still gets the file: its size, its holes as zeros, its last bytes.
    with outputs(attacker, job) as tar:
        member = tar.getmember("sparse.bin")
        assert member.size == _SIZE
        body = tar.extractfile(member)
        assert body is not None
        body.seek(member.size - 4)
        assert body.read() == b"\0end"


FILLER = r"""
import os
with open(os.path.join(os.environ["OUTPUTS"], "random.bin"), "wb") as out:
    out.write(os.urandom(8 * 1024 * 1024))
"""
# Each job stores a little more than 8 MiB; an environment holds two, the host three.
_ENV_CAP = 0.02  # GiB, about 20.5 MiB
_HOST_CAP = 0.03  # GiB, about 30.7 MiB


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    home = tmp_path_factory.mktemp("capped-home")
    base = default_config(home).environments[0].model_dump(by_alias=True, exclude_none=True)
    environments = [{**base, "id": name, "maxResultStorage": _ENV_CAP} for name in ("a", "b")]
    config = home / "environments.json"
    config.write_text(json.dumps({"environments": environments}))
    server = start_server(
        home, env={"C2D_CONFIG": str(config), "C2D_MAX_RESULT_STORAGE": str(_HOST_CAP)}
    )
    yield server, home
    server.stop()


def _run_in(client: C2DClient, environment: str) -> dict[str, Any]:
    body = {"environment": environment, "algorithm": raw_algorithm(FILLER)}
    return wait_for(client, str(client.free_compute(body)["jobId"]))


def test_result_storage_is_capped_per_environment_and_on_the_host(
    capped: tuple[ServerProcess, Path],
) -> None:
    server, home = capped
    results = home / "results"
    with C2DClient(server.url, Account.create()) as client:
        client.login()
        statuses = []
        for environment in ("a", "a", "a", "b", "b"):
            job = _run_in(client, environment)
            statuses.append(job["status"])
            if job["status"] == JobStatus.RESULTS_UPLOAD_FAILED:
                assert "result storage" in job["statusReason"], job
                # Nothing half-stored: no outputs archive, no partial file.
                folder = results / job["jobId"]
                left = os.listdir(folder) if folder.exists() else []
                assert not [name for name in left if "outputs" in name], left
            assert _stored_bytes(results) <= _HOST_CAP * _GIB, statuses
    finished, failed = JobStatus.FINISHED, JobStatus.RESULTS_UPLOAD_FAILED
    # a: two fit its cap, the third does not; b: one fits, the next passes the host's cap.
    assert statuses == [finished, finished, failed, finished, failed], statuses
