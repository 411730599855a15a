"""A publisher-defined preprocess step, end to end on the local engine: a registry DDO names it.

A real ``c2d serve`` with an environment that allows ``publisher-preprocess-csv``; the dataset's
compute service names it; the algorithm then sees the CSV without its header row. Refusals name
the input and the rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from eth_account import Account

from devkit.client import C2DClient, ProviderError
from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess, start_server
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for
from workflows.status import JobStatus

TEMPLATE = "publisher-preprocess-csv"
RUNTIME = {
    "images": ["python:3.11", "python:3.11-slim"],
    "binds": ["/usr"],
    "commands": {"python": "/usr/bin/python3"},
}
FIRST_LINE = """\
import os, pathlib
(folder,) = [p for p in pathlib.Path("/data/inputs").iterdir() if p.is_dir()]
lines = (folder / "0").read_text().splitlines()
print(json.dumps({"first": lines[0], "rows": len(lines), "writable": os.access(folder, os.W_OK)}))
"""


def _environment(env_id: str, templates: list[str]) -> dict[str, Any]:
    return {
        "id": env_id,
        "resources": [
            {"id": "cpu", "total": 2, "max": 1},
            {"id": "ram", "total": 2, "max": 1},
            {"id": "disk", "total": 2, "max": 1},
        ],
        "free": {"maxJobDuration": 60, "maxJobs": 2},
        "runtimes": [RUNTIME],
        "publisherTemplates": templates,
    }


def _dataset(url: str, template: str | None) -> dict[str, Any]:
    ddo = assets.dataset_ddo(
        url,
        trusted_did="",
        files_checksum="",
        container_checksum="",
        publisher=Account.create().address,
    )
    compute = ddo["services"][0]["compute"]
    compute.update(allowRawAlgorithm=True, publisherTrustedAlgorithms=[])
    if template:
        compute["preprocessTemplate"] = template
    return ddo


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory, file_server: FileServer) -> Any:
    home = tmp_path_factory.mktemp("c2d-home-preprocess")
    url = file_server.url("weather.csv")
    found = {
        "named": _dataset(url, TEMPLATE),
        "plain": _dataset(url, None),
        "unregistered": _dataset(url, "someone-elses-template"),
    }
    for name, ddo in found.items():
        assets.save(ddo, home / "assets", name)
    config = {
        "environments": [
            _environment("pre", [TEMPLATE]),
            _environment("strict", []),
            _environment("unregistered", ["someone-elses-template"]),
            {**_environment("networked", []), "allowNetwork": True},
        ]
    }
    (home / "environments.yaml").write_text(yaml.safe_dump(config))
    return home, found


@pytest.fixture(scope="module")
def preprocess_server(datasets: Any) -> Iterator[ServerProcess]:
    home, _ = datasets
    env = {"C2D_SOURCE_NETWORKS": "127.0.0.0/8", "C2D_CONFIG": str(home / "environments.yaml")}
    process = start_server(home, env=env)
    yield process
    process.stop()


@pytest.fixture
def c2d(preprocess_server: ServerProcess) -> Iterator[C2DClient]:
    with C2DClient(preprocess_server.url, Account.create()) as client:
        yield client


def _start(client: C2DClient, env: str, *ddos: dict[str, Any]) -> dict[str, Any]:
    return client.free_compute(
        {
            "environment": env,
            "datasets": [{"documentId": d["id"], "serviceId": "compute"} for d in ddos],
            "algorithm": raw_algorithm("import json\n" + FIRST_LINE),
        }
    )


def test_the_named_template_prepares_the_inputs_before_the_algorithm(
    c2d: C2DClient, datasets: Any, files_dir: Path
) -> None:
    _, found = datasets
    job = _start(c2d, "pre", found["named"])
    final = wait_for(c2d, job["jobId"])
    assert final["status"] == JobStatus.FINISHED, final
    log = c2d.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
    seen = json.loads(log.decode().strip().splitlines()[-1])
    original = (files_dir / "weather.csv").read_text().splitlines()
    assert seen["first"] == original[1]  # the header row is gone
    assert seen["rows"] == len(original) - 1
    assert seen["writable"] is False  # the algorithm still gets its inputs read-only


def test_a_dataset_without_the_template_still_runs_without_it(
    c2d: C2DClient, datasets: Any, files_dir: Path
) -> None:
    _, found = datasets
    final = wait_for(c2d, _start(c2d, "pre", found["plain"])["jobId"])
    assert final["status"] == JobStatus.FINISHED, final
    log = c2d.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
    seen = json.loads(log.decode().strip().splitlines()[-1])
    assert seen["first"] == (files_dir / "weather.csv").read_text().splitlines()[0]


def _refusal(client: C2DClient, env: str, *ddos: dict[str, Any]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        _start(client, env, *ddos)
    return caught.value


def test_a_template_the_environment_does_not_allow_is_403(c2d: C2DClient, datasets: Any) -> None:
    error = _refusal(c2d, "strict", datasets[1]["named"])
    assert error.status_code == 403
    assert "datasets[0]" in error.message
    assert f"{TEMPLATE} is not allowed in environment strict" in error.message


def test_a_template_the_local_engine_cannot_run_is_400(c2d: C2DClient, datasets: Any) -> None:
    error = _refusal(c2d, "unregistered", datasets[1]["unregistered"])
    assert error.status_code == 400
    assert "environment unregistered cannot run template someone-elses-template" in error.message


def test_a_job_the_engine_cannot_run_is_400_before_anything_is_recorded(c2d: C2DClient) -> None:
    # The environment offers network; the local sandbox cannot give it. The engine says so when
    # admission asks (Engine.check), not at submit as a 409 "try again later".
    error = _refusal(c2d, "networked")
    assert error.status_code == 400
    assert error.message == "the local engine cannot give an algorithm network access"
    assert c2d.status_list() == []


def test_other_datasets_must_name_the_same_template(c2d: C2DClient, datasets: Any) -> None:
    found = datasets[1]
    error = _refusal(c2d, "pre", found["named"], found["plain"])
    assert error.status_code == 403
    assert "datasets[1]" in error.message and "would see this dataset's files" in error.message
    error = _refusal(c2d, "unregistered", found["named"], found["unregistered"])
    assert error.status_code == 400
    assert "a job runs one preprocess template" in error.message
