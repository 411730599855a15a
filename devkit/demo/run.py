"""The demo script: start a provider, publish a compute-only dataset, run a trusted algorithm.

Everything goes through the REST API with signed requests, exactly as a marketplace would.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

from devkit.client import C2DClient, ProviderError
from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.launch import start_server
from provider.assets.ddo import Container, container_section_checksum
from workflows.status import FAILED_STATUSES, JobStatus

__all__ = ["run_demo"]

_TIMEOUT = 300.0


def run_demo(*, keep: bool = False) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="c2d-demo-"))
    files = workdir / "files"
    files.mkdir()
    file_server = FileServer(files)
    server = None
    try:
        _say("1/6", f"starting a provider (C2D_HOME={workdir / 'home'})")
        # The demo serves its files on loopback, which the SSRF guard refuses unless opted in.
        server = start_server(workdir / "home", env={"C2D_SOURCE_NETWORKS": "127.0.0.0/8"})
        dataset_did, algorithm_did = _publish(workdir, files, file_server)
        consumer = Account.create()
        with C2DClient(server.url, consumer) as client:
            env = client.environments()[0]
            _say("3/6", f"environment {env['id']}: {env['description']}")
            job = client.free_compute(
                {
                    "environment": env["id"],
                    "datasets": [{"documentId": dataset_did, "serviceId": "compute"}],
                    "algorithm": {"documentId": algorithm_did, "serviceId": "compute"},
                }
            )
            _say("4/6", f"job {job['jobId']} started by {consumer.address}")
            final = _follow(client, job["jobId"])
            if final["status"] != JobStatus.FINISHED:
                _say("!!", f"job ended with {final['status']} {final['statusText']}")
                return 1
            _show_result(client, final)
            _show_refusal(client, env["id"], dataset_did)
        return 0
    except (ProviderError, RuntimeError, OSError) as error:
        _say("!!", f"demo failed: {error}")
        return 1
    finally:
        if server is not None:
            server.stop()
        file_server.close()
        if keep:
            _say("--", f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _publish(workdir: Path, files: Path, file_server: FileServer) -> tuple[str, str]:
    """Write the CSV and the algorithm, and register both as assets in the local registry."""
    assets.write_csv(files / "weather.csv")
    code = assets.ALGORITHM_CODE.encode()
    (files / "stats.py").write_bytes(code)
    publisher = Account.create().address
    registry = workdir / "home" / "assets"
    algorithm = assets.algorithm_ddo(file_server.url("stats.py"), publisher)
    dataset = assets.dataset_ddo(
        file_server.url("weather.csv"),
        trusted_did=algorithm["id"],
        files_checksum=hashlib.sha256(code).hexdigest(),
        container_checksum=container_section_checksum(Container(**assets.CONTAINER)),
        publisher=publisher,
    )
    assets.save(algorithm, registry, "algorithm")
    assets.save(dataset, registry, "dataset")
    _say("2/6", f"published dataset {dataset['id'][:20]}… (compute only, trusts one algorithm)")
    return str(dataset["id"]), str(algorithm["id"])


def _follow(client: C2DClient, job_id: str) -> dict[str, Any]:
    """Show the status as it moves; a client polls, the provider itself never does."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < _TIMEOUT:
        job = client.status(job_id)
        status = JobStatus(job["status"])
        if status != last:
            elapsed = time.monotonic() - started
            print(f"      [{elapsed:6.2f} s] {status.value:>2} {job['statusText']}", flush=True)
            last = status
        if status == JobStatus.FINISHED or status in FAILED_STATUSES:
            return job
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not finish within {_TIMEOUT:.0f} s")


def _show_result(client: C2DClient, job: dict[str, Any]) -> None:
    output = next(r for r in job["results"] if r["type"] == "output")
    archive = client.result(job["jobId"], output["index"])
    _say("5/6", f"downloaded {output['filename']} ({len(archive)} bytes):")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("stats.json")
        if member is None:
            raise RuntimeError("stats.json missing from the result")
        report = json.loads(member.read())
    for source, columns in report.items():
        print(f"      {source}:")
        for name, stats in columns.items():
            figures = ", ".join(f"{key} {value}" for key, value in stats.items())
            print(f"        {name:<12} {figures}")


def _show_refusal(client: C2DClient, env_id: str, dataset_did: str) -> None:
    try:
        client.free_compute(
            {
                "environment": env_id,
                "datasets": [{"documentId": dataset_did, "serviceId": "compute"}],
                "algorithm": {
                    "meta": {"rawcode": assets.UNTRUSTED_CODE, "container": assets.CONTAINER}
                },
            }
        )
    except ProviderError as error:
        _say("6/6", f"an untrusted algorithm that tries to print the rows is refused: {error}")
        return
    raise RuntimeError("the untrusted algorithm was accepted")


def _say(step: str, message: str) -> None:
    print(f"[{step}] {message}", file=sys.stdout, flush=True)
