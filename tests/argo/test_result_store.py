"""Results served from the result store on S3 (ministack, SigV4 checked): the Argo engine reads
the manifest and the files there, and computeResult streams them with Range answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.responses import Response
from fastapi.testclient import TestClient

from provider.api.errors import install_error_handlers
from provider.api.remote_result import remote_result_response
from provider.result_store import S3ResultReader
from tests.argo.fake_cluster import FakeServer
from tests.argo.objects import succeeded_workflow
from tests.argo.schemas import errors
from tests.storage_servers import S3Server
from tests.workflows.support import did_spec
from workflows import contract
from workflows.dag import StepImages
from workflows.engines.argo import ArgoEngine, workflow_for
from workflows.engines.base import RemoteResult, ResultFile
from workflows.result_store import ResultStore
from workflows.templates import RESULT_STORE_SECRET, inline_template_refs, step_templates

SPEC = did_spec()
BODY = b"0123456789" * 1000


def _store(s3: S3Server) -> ResultStore:
    return ResultStore(
        endpoint=s3.endpoint,
        bucket="results",
        prefix="served",
        access_key_id=s3.access_key_id,
        secret_access_key=s3.secret_access_key,
    )


def _publish(s3: S3Server, job_id: str) -> list[ResultFile]:
    files = [
        ResultFile("algorithm.log", 4, "algorithmLog", 0),
        ResultFile("outputs.tar", len(BODY), "output", 1),
    ]
    s3.s3.put_object(Bucket="results", Key=f"served/{job_id}/algorithm.log", Body=b"hi!\n")
    s3.s3.put_object(Bucket="results", Key=f"served/{job_id}/outputs.tar", Body=BODY)
    manifest = json.dumps([f.__dict__ for f in files]).encode()
    s3.s3.put_object(Bucket="results", Key=f"served/{job_id}/results.json", Body=manifest)
    return files


def test_the_engine_reads_results_from_the_store_not_the_volume(
    server: FakeServer, start_engine: Callable[..., ArgoEngine], s3: S3Server, tmp_path: Path
) -> None:
    files = _publish(s3, SPEC.job_id)
    server.cluster.put("workflows", succeeded_workflow(SPEC))
    engine = start_engine(result_reader=S3ResultReader(_store(s3)))

    assert engine.get(SPEC.job_id).results == tuple(files)
    stored = engine.result(SPEC.job_id, 1)
    assert isinstance(stored, RemoteResult)
    assert b"".join(stored.open()) == BODY
    assert b"".join(stored.open(10, 25)) == BODY[10:25]
    log = asyncio.run(_read(engine))
    assert log == b"hi!\n"
    assert not (tmp_path / "results" / SPEC.job_id).exists()


async def _read(engine: ArgoEngine) -> bytes:
    return b"".join([chunk async for chunk in engine.algorithm_log(SPEC.job_id)])


def _client(s3: S3Server, job_id: str, index: int) -> TestClient:
    files = _publish(s3, SPEC.job_id)
    app = FastAPI()
    install_error_handlers(app)
    reader = S3ResultReader(_store(s3))

    @app.get("/result")
    def result(range: Annotated[str | None, Header()] = None) -> Response:
        return remote_result_response(RemoteResult(files[index], job_id, reader), range)

    return TestClient(app)


def test_compute_result_streams_the_whole_file_and_ranges(s3: S3Server) -> None:
    client = _client(s3, SPEC.job_id, 1)
    whole = client.get("/result")
    assert whole.status_code == 200 and whole.content == BODY
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"] == "attachment; filename*=utf-8''outputs.tar"
    part = client.get("/result", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == BODY[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(BODY)}"
    tail = client.get("/result", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == BODY[-5:]
    past = client.get("/result", headers={"Range": f"bytes={len(BODY)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(BODY)}"
    several = client.get("/result", headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == BODY


def test_a_file_missing_from_the_store_is_a_404(s3: S3Server) -> None:
    client = _client(s3, "f" * 32, 1)  # a job that published nothing
    missing = client.get("/result")
    assert missing.status_code == 404
    assert missing.json()["error"] == f"job {'f' * 32} has no result with index 1"


def test_with_a_result_store_the_jobs_need_no_result_volume() -> None:
    workflow = workflow_for(SPEC, StepImages(result_store=True), {})
    assert errors(workflow) == []
    volumes = {v["name"]: v for v in workflow["spec"]["volumes"]}
    assert volumes[contract.VOLUME_RESULTS] == {"emptyDir": {}, "name": contract.VOLUME_RESULTS}
    claims = [v for v in volumes.values() if "persistentVolumeClaim" in v]
    assert claims == []
    # publish reads the store's address and keys from the operator's Secret, if there is one.
    (publish,) = step_templates(contract.STEPS_IMAGE)[1].to_dict()["spec"]["templates"]
    assert publish["container"]["envFrom"] == [
        {"secretRef": {"name": RESULT_STORE_SECRET, "optional": True}}
    ]
    # ... and is told that it must: the provider reads results nowhere else.
    inlined = inline_template_refs(workflow)
    (step,) = [t for t in inlined["spec"]["templates"] if t["name"] == "publish"]
    assert step["container"]["env"] == [{"name": "C2D_RESULT_STORE_REQUIRED", "value": "required"}]
    default = inline_template_refs(workflow_for(SPEC, StepImages(), {}))
    (step,) = [t for t in default["spec"]["templates"] if t["name"] == "publish"]
    assert step["container"]["env"] == [{"name": "C2D_RESULT_STORE_REQUIRED", "value": ""}]
