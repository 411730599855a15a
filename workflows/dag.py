"""JobSpec → one hera Workflow: configure → algorithm → publish (DESIGN §6).

Pure: reads no environment, clock or network. Both engines take the Workflow built here; the
local engine executes it on this machine, the Argo engine submits it.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from typing import Any

import yaml
from hera.workflows import models as m
from hera.workflows.container import Container
from hera.workflows.dag import DAG
from hera.workflows.resource import Resource
from hera.workflows.workflow import Workflow

from workflows import contract
from workflows.spec import JobSpec

__all__ = ["ALGORITHM_UID", "LABEL_PREFIX", "StepImages", "algorithm_argv", "build_workflow"]

LABEL_PREFIX = "c2d"
ALGORITHM_UID = contract.ALGORITHM_UID
_ANY_END = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted")


@dataclass(frozen=True)
class StepImages:
    """Images of the trusted steps; the algorithm's image comes from the request."""

    steps: str = "c2d:0.1.0"
    service_account: str = "c2d-workflow"


def algorithm_argv(spec: JobSpec) -> list[str]:
    """The algorithm's command line: ``$ALGO`` in the entrypoint becomes the algorithm path."""
    entrypoint = spec.algorithm.container.entrypoint.replace("$ALGO", contract.ALGORITHM_PATH)
    return shlex.split(entrypoint)


def build_workflow(spec: JobSpec, images: StepImages) -> Workflow:
    labels = _labels(spec)
    configure = Container(
        name="configure",
        image=images.steps,
        command=["python", "-m", "steps.configure"],
        volume_mounts=[
            _mount(contract.VOLUME_DATA, contract.DATA, sub_path="data"),
            _mount(contract.VOLUME_DATA, contract.ADMIN_LOGS, sub_path="admin"),
            _mount(contract.VOLUME_SPEC, contract.SPEC_DIR, read_only=True),
        ],
        security_context=_restricted_security_context(),
        labels={**labels, f"{LABEL_PREFIX}/step": "configure"},
    )
    publish = Container(
        name="publish",
        image=images.steps,
        command=["python", "-m", "steps.publish"],
        volume_mounts=[
            _mount(contract.VOLUME_DATA, contract.DATA, sub_path="data", read_only=True),
            _mount(contract.VOLUME_DATA, contract.ADMIN_LOGS, sub_path="admin"),
            _mount(contract.VOLUME_SPEC, contract.SPEC_DIR, read_only=True),
            _mount(contract.VOLUME_RESULTS, contract.RESULTS, sub_path=spec.job_id),
        ],
        security_context=_restricted_security_context(),
        labels={**labels, f"{LABEL_PREFIX}/step": "publish"},
    )
    algorithm = Resource(
        name="algorithm",
        action="create",
        set_owner_reference=True,
        manifest=yaml.safe_dump(_algorithm_pod(spec, labels), sort_keys=False),
        success_condition="status.phase == Succeeded",
        failure_condition="status.phase in (Failed, Error)",
        labels={**labels, f"{LABEL_PREFIX}/step": "algorithm-launcher"},
    )
    with Workflow(
        name=spec.workflow_name,
        entrypoint="main",
        labels=labels,
        annotations={
            f"{LABEL_PREFIX}/input-dids": json.dumps(spec.input_dids),
            f"{LABEL_PREFIX}/owner": spec.owner,
            f"{LABEL_PREFIX}/created-at": str(spec.created_at),
        },
        service_account_name=images.service_account,
        volume_claim_templates=[_job_volume_claim(spec)],
        volumes=[
            m.Volume(
                name=contract.VOLUME_SPEC,
                secret=m.SecretVolumeSource(secret_name=f"{spec.workflow_name}-jobspec"),
            ),
            m.Volume(
                name=contract.VOLUME_RESULTS,
                persistent_volume_claim=m.PersistentVolumeClaimVolumeSource(
                    claim_name="c2d-results"
                ),
            ),
        ],
        pod_gc=m.PodGC(strategy="OnPodCompletion"),
        ttl_strategy=m.TTLStrategy(seconds_after_completion=86400),
        active_deadline_seconds=spec.limits.max_job_duration + 3600,
    ) as workflow:
        for template in (configure, algorithm, publish):
            workflow.templates.append(template)
        with DAG(name="main"):
            configure_task = configure(name="configure")
            algorithm_task = algorithm(name="algorithm", depends="configure.Succeeded")
            publish(
                name="publish",
                depends=" || ".join(f"algorithm.{result}" for result in _ANY_END),
            )
            del configure_task, algorithm_task
    return workflow


def _labels(spec: JobSpec) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}/job-id": spec.job_id,
        f"{LABEL_PREFIX}/owner": spec.owner.lower(),
        f"{LABEL_PREFIX}/environment": spec.environment,
    }


def _mount(
    volume: str, path: str, *, sub_path: str | None = None, read_only: bool = False
) -> m.VolumeMount:
    return m.VolumeMount(
        name=volume, mount_path=path, sub_path=sub_path, read_only=read_only or None
    )


def _restricted_security_context() -> m.SecurityContext:
    return m.SecurityContext(
        run_as_non_root=True,
        run_as_user=ALGORITHM_UID,
        run_as_group=ALGORITHM_UID,
        allow_privilege_escalation=False,
        capabilities=m.Capabilities(drop=["ALL"]),
        read_only_root_filesystem=True,
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def _job_volume_claim(spec: JobSpec) -> m.PersistentVolumeClaim:
    return m.PersistentVolumeClaim(
        metadata=m.ObjectMeta(name=contract.VOLUME_DATA),
        spec=m.PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=m.VolumeResourceRequirements(
                requests={"storage": m.Quantity(_gibibytes(spec.limits.disk_bytes))}
            ),
        ),
    )


def _gibibytes(size: int) -> str:
    return f"{max(1, math.ceil(size / 2**30))}Gi"


def _quantities(spec: JobSpec) -> dict[str, str]:
    limits = spec.limits
    quantities = {
        "cpu": f"{int(limits.cpus * 1000)}m",
        "memory": f"{limits.memory_bytes}",
        "ephemeral-storage": "1Gi",
    }
    if limits.gpus:
        quantities["nvidia.com/gpu"] = str(limits.gpus)
    return quantities


def _algorithm_env(spec: JobSpec) -> list[dict[str, str]]:
    env = {
        **spec.algorithm.envs,
        "DIDS": json.dumps([i.did.removeprefix("did:op:") for i in spec.inputs if i.did]),
        "TRANSFORMATION_DID": (spec.algorithm.did or "").removeprefix("did:op:"),
        "VOLUME": contract.DATA,
        "INPUTS": contract.INPUTS,
        "OUTPUTS": contract.OUTPUTS,
        "LOGS": contract.LOGS,
        "ALGO": contract.ALGORITHM_PATH,
        "HOME": "/tmp",
    }
    return [{"name": name, "value": value} for name, value in env.items()]


def _algorithm_pod(spec: JobSpec, labels: dict[str, str]) -> dict[str, Any]:
    """The algorithm as a plain Pod (no Argo sidecar, nothing to talk to; DESIGN §6)."""
    quantities = _quantities(spec)
    data_mounts = [
        ("inputs", contract.INPUTS, True),
        ("ddos", contract.DDOS, True),
        ("transformations", contract.TRANSFORMATIONS, True),
        ("outputs", contract.OUTPUTS, False),
        ("logs", contract.LOGS, False),
    ]
    mounts: list[dict[str, Any]] = [
        {"name": contract.VOLUME_DATA, "mountPath": path, "subPath": f"data/{sub}", "readOnly": ro}
        for sub, path, ro in data_mounts
    ]
    mounts.append({"name": "tmp", "mountPath": "/tmp"})
    # The shell only redirects: the algorithm's output is its log, kept on the job volume
    # so that publish can store it without talking to the Kubernetes API.
    command = ["/bin/sh", "-c", f'exec "$@" >{contract.ALGORITHM_LOG} 2>&1', "algorithm"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{spec.workflow_name}-algorithm",
            "labels": {**labels, f"{LABEL_PREFIX}/step": "algorithm"},
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "activeDeadlineSeconds": spec.limits.max_job_duration,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": ALGORITHM_UID,
                "runAsGroup": ALGORITHM_UID,
                "fsGroup": ALGORITHM_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "algorithm",
                    "image": spec.algorithm.container.reference,
                    "command": command + algorithm_argv(spec),
                    "workingDir": contract.OUTPUTS,
                    "env": _algorithm_env(spec),
                    "resources": {"requests": dict(quantities), "limits": dict(quantities)},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                        "privileged": False,
                    },
                    "volumeMounts": mounts,
                }
            ],
            "volumes": [
                {
                    "name": contract.VOLUME_DATA,
                    "persistentVolumeClaim": {
                        "claimName": f"{spec.workflow_name}-{contract.VOLUME_DATA}"
                    },
                },
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            ],
        },
    }
