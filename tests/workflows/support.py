"""Job specs and Workflow helpers shared by the tests of the DAG and the local engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workflows.dag import StepImages, build_workflow
from workflows.publisher_templates import local_template_library
from workflows.spec import JobSpec
from workflows.templates import inline_template_refs

REPO = Path(__file__).resolve().parents[2]
JOB_ID = "ab" * 16
OWNER = "0x" + "Ab" * 20
DID_A = "did:op:" + "a" * 64
DID_B = "did:op:" + "b" * 64
ALGORITHM_DID = "did:op:" + "c" * 64
SHA_A = "1" * 64
SHA_B = "2" * 64


def make_spec(
    *,
    inputs: list[dict[str, Any]] | None = None,
    algorithm: dict[str, Any] | None = None,
    network: bool = False,
    **limits: Any,
) -> JobSpec:
    """A valid spec; ``limits`` override the defaults below."""
    return JobSpec.model_validate(
        {
            "job_id": JOB_ID,
            "owner": OWNER,
            "environment": "local",
            "created_at": 1_700_000_000,
            "inputs": inputs or [],
            "algorithm": {
                "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"},
                **(algorithm or {"rawcode": "print('hello')\n"}),
            },
            "limits": {
                "cpus": 1,
                "memory_bytes": 2**30,
                "disk_bytes": 2**30,
                "max_job_duration": 60,
                "max_download_bytes": 1_000_000,
                **limits,
            },
            "network": network,
        }
    )


def raw_spec() -> JobSpec:
    """Raw algorithm code, no inputs."""
    return make_spec()


def did_spec() -> JobSpec:
    """Two DID inputs with files and checksums, a published algorithm with custom data."""
    return make_spec(
        inputs=[
            {
                "folder": DID_A.removeprefix("did:op:"),
                "did": DID_A,
                "service_id": "compute",
                "files": [
                    {"url": "https://example.com/a0.csv", "checksum": SHA_A},
                    {"url": "https://example.com/a1.csv", "checksum": "sha256:" + SHA_B},
                ],
                "ddo": {"id": DID_A},
            },
            {
                "folder": DID_B.removeprefix("did:op:"),
                "did": DID_B,
                "service_id": "compute",
                "files": [
                    {
                        "url": "https://example.com/b0",
                        "method": "POST",
                        "headers": {"X-Token": "s3cr3t-token"},
                        "checksum": SHA_B,
                    }
                ],
                "ddo": {"id": DID_B},
            },
        ],
        algorithm={
            "container": {
                "entrypoint": "python3 -u $ALGO --verbose",
                "image": "python",
                "tag": "sha256:" + "d" * 64,
            },
            "did": ALGORITHM_DID,
            "files": [{"url": "https://example.com/algo.py", "checksum": SHA_A}],
            "custom_data": {"alpha": 1},
            "envs": {"MY_SETTING": "x", "DIDS": "overridden?"},
        },
        cpus=2.5,
        memory_bytes=512 * 2**20,
        disk_bytes=5 * 2**30 + 1,
        max_job_duration=900,
    )


def gpu_spec() -> JobSpec:
    return make_spec(gpus=1, cpus=4, memory_bytes=8 * 2**30, max_job_duration=3600)


PREPROCESS_TEMPLATE = "publisher-preprocess-csv"


def preprocess_spec() -> JobSpec:
    """The DID job, its datasets naming the registered publisher template."""
    return JobSpec.model_validate(
        {**did_spec().model_dump(), "preprocess_template": PREPROCESS_TEMPLATE}
    )


# Stands for what ocean.js sends: the hex of ECIES(provider key, JSON); the engine never opens it.
SEALED_REGISTRY_AUTH = "04" + "5e" * 120


def private_image_spec() -> JobSpec:
    """A raw job whose image is private: the consumer sealed registry credentials."""
    container = {"entrypoint": "sh $ALGO", "image": "registry.example.com/team/algo", "tag": "1"}
    return make_spec(
        algorithm={"container": container, "rawcode": "true"},
    ).model_copy(update={"registry_auth": SEALED_REGISTRY_AUTH})


SPECS = {
    "raw": raw_spec,
    "dids": did_spec,
    "gpu": gpu_spec,
    "preprocess": preprocess_spec,
    "private-image": private_image_spec,
}


def workflow_dict(spec: JobSpec) -> dict[str, Any]:
    """The Workflow as the local engine walks it: its ``templateRef``s inlined."""
    workflow = build_workflow(spec, StepImages()).to_dict()
    return inline_template_refs(workflow, local_template_library())


def template(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in workflow["spec"]["templates"] if t["name"] == name)


def algorithm_pod(workflow: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = yaml.safe_load(template(workflow, "algorithm")["resource"]["manifest"])
    return pod
