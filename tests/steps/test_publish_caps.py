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
from workflows.result_usage import locked_usage, read_mark, rebuild, remove_results

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
    marked, counted = read_mark(results)
    assert marked == environment and counted is not None and counted >= _MIB


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


def _usage(root: Path) -> tuple[int, dict[str, int]]:
    with locked_usage(root) as usage:
        return usage.host, dict(usage.environments)


def test_a_publish_counts_on_the_totals_not_on_a_walk_of_every_stored_folder(job: Job) -> None:
    # Each publish measured every stored job's folder: thousands of folders on a busy provider.
    # The totals are kept instead; a folder removed by hand stays counted until the engine
    # starts again (rebuild), as the totals are not measured again meanwhile.
    environment = _prepare(job, _MIB)
    results = job.host(contract.RESULTS)
    _other_job(results.parent, "same-env", environment, 3 * _MIB)
    rebuild(results.parent)
    (results.parent / "same-env" / "outputs.tar").unlink()  # by hand, not through the totals
    _caps(job, host=64 * _MIB, **{environment: 4 * _MIB})

    assert job.run("publish").returncode == contract.EXIT_RESULTS_UPLOAD_FAILED

    rebuild(results.parent)
    assert job.run("publish").returncode == 0
    _, environments = _usage(results.parent)
    assert environments[environment] == read_mark(results)[1]


def test_removed_results_free_their_bytes_and_a_second_publish_is_not_counted_twice(
    job: Job,
) -> None:
    environment = _prepare(job, _MIB)
    results = job.host(contract.RESULTS)
    _other_job(results.parent, "same-env", environment, 3 * _MIB)
    _caps(job, host=64 * _MIB, **{environment: 4 * _MIB})
    assert job.run("publish").returncode == contract.EXIT_RESULTS_UPLOAD_FAILED

    remove_results(results.parent / "same-env")  # as storage expiry removes results
    assert job.run("publish").returncode == 0
    first = _usage(results.parent)
    assert first[1][environment] == read_mark(results)[1]
    assert first[0] >= _MIB

    assert job.run("publish").returncode == 0  # a restart runs publish again
    assert _usage(results.parent) == first


def test_unreadable_totals_are_measured_again(job: Job) -> None:
    environment = _prepare(job, _MIB)
    results = job.host(contract.RESULTS)
    _other_job(results.parent, "same-env", environment, 3 * _MIB)
    (results.parent / ".storage.usage").write_text('{"host": "lots"')
    _caps(job, host=64 * _MIB, **{environment: 4 * _MIB})

    assert job.run("publish").returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert "holds 3" in job.log(contract.PUBLISH_LOG)
