"""publish with C2D_RESULT_STORE_*: the results and then results.json in the store (ministack)."""

from __future__ import annotations

import json

from tests.steps.conftest import Job, make_spec
from tests.storage_servers import S3Server
from workflows import contract
from workflows.manifest import read_manifest
from workflows.result_store import ResultStore


def _store(s3: S3Server, **changes: str) -> dict[str, str]:
    store = ResultStore(
        endpoint=s3.endpoint,
        bucket="results",
        prefix="cluster-a",
        access_key_id=s3.access_key_id,
        secret_access_key=s3.secret_access_key,
    )
    return {**store.as_env(), **changes}


def _prepare(job: Job) -> str:
    spec = make_spec()
    job.write_spec(spec)
    for folder in (contract.OUTPUTS, contract.LOGS, contract.ADMIN_LOGS):
        job.host(folder).mkdir(parents=True, exist_ok=True)
    job.host(contract.CONFIGURE_LOG).write_text("configured\n")
    job.host(contract.ALGORITHM_LOG).write_text("algorithm says hi\n")
    (job.host(contract.OUTPUTS) / "answer.txt").write_text("42\n")
    return spec.job_id


def test_results_are_copied_to_the_store_manifest_included(job: Job, s3: S3Server) -> None:
    job_id = _prepare(job)
    job.extra_env.update(_store(s3))

    done = job.run("publish")

    assert done.returncode == 0, done.stderr
    results = job.host(contract.RESULTS)
    listed = read_manifest(results)
    stored = json.loads(s3.read("results", f"cluster-a/{job_id}/{contract.RESULTS_MANIFEST}"))
    assert [entry["filename"] for entry in stored] == [f.filename for f in listed]
    for entry in listed:
        body = s3.read("results", f"cluster-a/{job_id}/{entry.filename}")
        assert body == (results / entry.filename).read_bytes()
        assert len(body) == entry.filesize


def test_a_store_that_refuses_the_key_fails_the_upload(job: Job, s3: S3Server) -> None:
    _prepare(job)
    job.extra_env.update(_store(s3, C2D_RESULT_STORE_SECRET_ACCESS_KEY="wrong" * 8))

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert "configuration.log to the result store: S3 upload failed: HTTP status 403" in (
        done.stderr
    )


def test_an_incomplete_store_names_the_missing_variable(job: Job, s3: S3Server) -> None:
    _prepare(job)
    job.extra_env.update({"C2D_RESULT_STORE_ENDPOINT": s3.endpoint})

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert "C2D_RESULT_STORE_BUCKET: Field required" in done.stderr
    assert "C2D_RESULT_STORE_SECRET_ACCESS_KEY: Field required" in done.stderr


def test_a_required_store_that_is_not_set_fails_the_upload(job: Job) -> None:
    # The provider serves results from the store; without the Secret, publish must not leave
    # them on a scratch volume that nobody reads.
    _prepare(job)
    job.extra_env.update({"C2D_RESULT_STORE_REQUIRED": "required"})

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert "no C2D_RESULT_STORE_* variables are set here" in done.stderr
