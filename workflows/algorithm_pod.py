"""The algorithm as a plain Pod manifest, created by the DAG's ``resource`` template
(docs/architecture.md#one-workflow-two-engines).

No Argo sidecar, nothing to talk to: the pod gets no service account token, runs as uid 1000
with no capabilities on a read-only root, requests = limits, and only its own ``/data`` folders.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows import contract
from workflows.annotations import STEP_LABEL
from workflows.spec import JobSpec

__all__ = [
    "Placement",
    "algorithm_argv",
    "algorithm_pod",
    "manifest_text",
    "pod_quantities",
    "pull_secret_name",
]


@dataclass(frozen=True)
class Placement:
    """Where an environment's algorithm pods may run (cluster only; empty by default)."""

    runtime_class_name: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()


# The algorithm's output is its log on the job volume (publish stores it without talking to the
# Kubernetes API); `tail --pid` echoes it to the container's stdout while it runs, so the pod
# API serves live logs. An image without GNU tail just has no live log. The log exists before
# tail starts: were it created by the background job, a tail that ran first would find no file
# and end at once, and the live log would stay empty. Where stdout is /dev/null (the local
# sandbox: the engine reads the log file itself) tail is not started: it would echo into
# nothing, and starting it (a fork and an exec) cost a few ms of every job's CPU. `-ef` is not
# POSIX but every common shell has it; in a shell without it the test fails and tail runs.
# The shell ends with the algorithm's own exit code as soon as the algorithm ends: no pipe is
# held open by processes it left behind, which die with the pod (or the local sandbox's pid
# namespace). The shell is PID 1, which ignores SIGTERM unless it handles it: the trap hands a
# stop or an eviction to the algorithm, and the shell waits for it again (a trapped signal ends
# the first wait) to exit with its code. The trap is set before the algorithm starts: set after,
# a SIGTERM in between (the algorithm already running, its shell not yet at the trap) was
# ignored, and the pod ran on until its grace ran out. One that lands before the algorithm's pid
# is known is kept in `stop` and handed on as soon as it is; `pid` and `stop` are emptied first,
# for the consumer's environment may hold either name.
_RUN_AND_FOLLOW = (
    "pid=; stop=;"
    ' trap \'if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; else stop=1; fi\' TERM;'
    f' : >{contract.ALGORITHM_LOG}; "$@" >>{contract.ALGORITHM_LOG} 2>&1 & pid=$!;'
    ' [ -z "$stop" ] || kill -TERM "$pid" 2>/dev/null;'
    " [ /proc/self/fd/1 -ef /dev/null ] ||"
    f' {{ tail -n +1 -f {contract.ALGORITHM_LOG} --pid="$pid" 2>/dev/null & }};'
    ' wait "$pid"; code=$?;'
    ' while kill -0 "$pid" 2>/dev/null; do wait "$pid"; code=$?; done; exit "$code"'
)


_GRACE_SECONDS = 5
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def manifest_text(pod: Mapping[str, Any]) -> str:
    """The Pod as the text of a ``resource.manifest``: JSON (so YAML too) with every ``{`` inside
    a string written ``\\u007b``.

    Argo runs the whole template, manifest included, through its ``{{tag}}`` and ``{{=expr}}``
    substitution (workflow/common/util.go SubstituteParams over the JSON-marshalled template),
    and the manifest carries the consumer's env values and entrypoint. JSON's own braces are
    never doubled (an object opens with a key), so the text holds no ``{{`` at all; the
    controller's and kubectl's YAML parsers decode the escape back to the very string.
    """
    text = json.dumps(pod, indent=1, ensure_ascii=True)
    return _JSON_STRING.sub(lambda literal: literal.group(0).replace("{", "\\u007b"), text)


def pull_secret_name(spec: JobSpec) -> str | None:
    """The image pull Secret the provider makes for a job that brought registry credentials
    (owned by its Workflow, so it goes with it); None when the image needs none."""
    return f"{spec.workflow_name}-registry" if spec.registry_auth else None


def algorithm_argv(spec: JobSpec) -> list[str]:
    """The algorithm's command line: ``$ALGO`` in the entrypoint becomes the algorithm path."""
    entrypoint = spec.algorithm.container.entrypoint.replace("$ALGO", contract.ALGORITHM_PATH)
    return shlex.split(entrypoint)


def pod_quantities(spec: JobSpec) -> dict[str, str]:
    """Requests and limits (equal) of the algorithm container."""
    limits = spec.limits
    quantities = {
        "cpu": f"{int(limits.cpus * 1000)}m",
        "memory": f"{limits.memory_bytes}",
        # The root filesystem is read-only: only /tmp (an emptyDir) and container logs count.
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


def algorithm_pod(
    spec: JobSpec, labels: Mapping[str, str], placement: Placement | None = None
) -> dict[str, Any]:
    """The Pod manifest; ``labels`` are the job's, ``STEP_LABEL: algorithm`` is added."""
    quantities = pod_quantities(spec)
    data_mounts = [
        (contract.INPUTS, True),
        (contract.DDOS, True),
        (contract.TRANSFORMATIONS, True),
        (contract.OUTPUTS, False),
        (contract.LOGS, False),
    ]
    mounts: list[dict[str, Any]] = [
        {
            "name": contract.VOLUME_DATA,
            "mountPath": path,
            "subPath": contract.data_sub_path(path),
            "readOnly": ro,
        }
        for path, ro in data_mounts
    ]
    mounts.append({"name": "tmp", "mountPath": "/tmp"})
    command = ["/bin/sh", "-c", _RUN_AND_FOLLOW, "algorithm"]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "activeDeadlineSeconds": spec.limits.max_job_duration,
        # The algorithm gets SIGTERM (the shell's trap), then SIGKILL 5 s later: a stop or
        # deadline does not wait Kubernetes' default 30 s while publish reads the outputs.
        "terminationGracePeriodSeconds": _GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": contract.ALGORITHM_UID,
            "runAsGroup": contract.ALGORITHM_UID,
            "fsGroup": contract.ALGORITHM_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "algorithm",
                "image": spec.algorithm.container.pinned_reference,
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
    }
    pull_secret = pull_secret_name(spec)
    if pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": pull_secret}]
    if placement is not None:
        if placement.runtime_class_name:
            pod_spec["runtimeClassName"] = placement.runtime_class_name
        if placement.node_selector:
            pod_spec["nodeSelector"] = dict(placement.node_selector)
        if placement.tolerations:
            pod_spec["tolerations"] = [dict(t) for t in placement.tolerations]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{spec.workflow_name}-algorithm",
            "labels": {**labels, STEP_LABEL: "algorithm"},
        },
        "spec": pod_spec,
    }
