"""publish within the result storage caps: results that do not fit are not kept (exit 62), and
what other jobs already store counts (allocated blocks, per environment and on the host)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from steps.storage import ENVIRONMENT_STORAGE_ENV, RESULT_STORAGE_ENV
from tests.steps.conftest import Job, make_spec
from workflows import contract
from workflows.manifest import read_manifest

_MIB = 2**20


def _prepare(job: Job, outputs_bytes: int) -> str:
    spec = make_spec()
    job.write_spec(spec)
    for folder in (contract.OUTPUTS, contract.LOGS, contract.ADMIN_LOGS):
        job.host(folder).mkdir(parents=True, exist_ok=True)
    job.host(contract.CONFIGURE_LOG).write_text("configured\n")
    (job.host(contract.OUTPUTS) / "data.bin").write_bytes(os.urandom(outputs_bytes))
    return spec.environment


def _other_job(results_root: Path, name: str, environment: str, size: int) -> None:
    folder = results_root / name
    folder.mkdir(parents=True)
    (folder / "outputs.tar").write_bytes(os.urandom(size))
    (folder / ".environment").write_text(environment)
    # A file another publish is still writing does not count until it commits.
    (folder / ".algorithm.log.part").write_bytes(os.urandom(size))


def _caps(job: Job, host: int | None = None, **environments: int) -> None:
    job.extra_env[ENVIRONMENT_STORAGE_ENV] = json.dumps(environments)
    if host is not None:
        job.extra_env[RESULT_STORAGE_ENV] = str(host)


def test_results_within_the_caps_are_kept(job: Job) -> None:
    environment = _prepare(job, _MIB)
    results = job.host(contract.RESULTS)
    _other_job(results.parent, "other", environment, 2 * _MIB)
    _caps(job, host=4 * _MIB, **{environment: 4 * _MIB})

    done = job.run("publish")

    assert done.returncode == 0, done.stderr
    kinds = [f.type for f in read_manifest(results)]
    assert kinds == ["configurationLog", "output", "publishLog"]
    assert (results / ".environment").read_text() == environment


def test_results_beyond_the_environment_cap_are_not_kept(job: Job) -> None:
    environment = _prepare(job, _MIB)
    results = job.host(contract.RESULTS)
    _other_job(results.parent, "same-env", environment, 3 * _MIB)
    _other_job(results.parent, "elsewhere", "another", 8 * _MIB)
    _caps(job, host=64 * _MIB, **{environment: 4 * _MIB})

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert read_manifest(results) == []
    assert sorted(os.listdir(results)) == [contract.RESULTS_MANIFEST]
    last = job.log(contract.PUBLISH_LOG).strip().splitlines()[-1]
    assert f"result storage of environment {environment} holds" in last, last
    assert "results not stored" in last


def test_results_beyond_the_host_cap_are_not_kept(job: Job) -> None:
    _prepare(job, _MIB)
    results = job.host(contract.RESULTS)
    _other_job(results.parent, "elsewhere", "another", 3 * _MIB)
    _caps(job, host=4 * _MIB)

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert sorted(os.listdir(results)) == [contract.RESULTS_MANIFEST]
    assert "the provider's result storage holds" in job.log(contract.PUBLISH_LOG)


def test_malformed_caps_are_an_upload_failure(job: Job) -> None:
    _prepare(job, 10)
    job.extra_env[RESULT_STORAGE_ENV] = "lots"
    done = job.run("publish")
    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert "result storage caps unreadable" in job.log(contract.PUBLISH_LOG)
