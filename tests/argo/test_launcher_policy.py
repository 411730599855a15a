"""The launcher's ValidatingAdmissionPolicy, evaluated as the API server would (CEL).

The launcher's token can create pods; a pod can mount any Secret of its namespace. The policy
(argo/base/launcher-policy.yaml) must admit the algorithm Pod c2d renders and refuse every pod
that would reach a Secret, the host or another job's volume.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import celpy  # type: ignore[import-untyped]
import pytest
import yaml

from tests.argo.test_cluster_pods import _pods
from tests.workflows.support import REPO, SPECS

POLICY = next(yaml.safe_load_all((REPO / "argo/base/launcher-policy.yaml").read_text()))
LAUNCHER = "system:serviceaccount:c2d-jobs:c2d-launcher"


def _evaluate(expression: str, activation: dict[str, Any]) -> bool:
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression))
    return bool(program.evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()}))


def refusals(pod: dict[str, Any], user: str = LAUNCHER) -> list[str]:
    """The messages the API server would refuse ``pod`` with ([] when admitted)."""
    activation = {"object": pod, "request": {"userInfo": {"username": user}}}
    if not all(_evaluate(c["expression"], activation) for c in POLICY["spec"]["matchConditions"]):
        return []
    return [
        v["message"]
        for v in POLICY["spec"]["validations"]
        if not _evaluate(v["expression"], activation)
    ]


@pytest.mark.parametrize("name", list(SPECS))
def test_the_algorithm_pod_c2d_renders_is_admitted(name: str) -> None:
    assert refusals(_pods(SPECS[name]())["algorithm-pod"]) == []


def _mount_secret(pod: dict[str, Any]) -> None:
    pod["spec"]["volumes"].append({"name": "key", "secret": {"secretName": "c2d-provider-key"}})


def _env_from_secret(pod: dict[str, Any]) -> None:
    ref = {"secretKeyRef": {"name": "c2d-provider-key", "key": "private-key"}}
    pod["spec"]["containers"][0]["env"].append({"name": "KEY", "valueFrom": ref})


def _other_job_volume(pod: dict[str, Any]) -> None:
    pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "c2d-" + "f" * 32 + "-data"


def _unlabelled(pod: dict[str, Any]) -> None:
    del pod["metadata"]["labels"]["c2d/step"]


def _token(pod: dict[str, Any]) -> None:
    del pod["spec"]["automountServiceAccountToken"]


def _host_network(pod: dict[str, Any]) -> None:
    pod["spec"]["hostNetwork"] = True


def _init_container(pod: dict[str, Any]) -> None:
    pod["spec"]["initContainers"] = [copy.deepcopy(pod["spec"]["containers"][0])]


@pytest.mark.parametrize(
    "change",
    [
        _mount_secret,
        _env_from_secret,
        _other_job_volume,
        _unlabelled,
        _token,
        _host_network,
        _init_container,
    ],
)
def test_a_pod_that_reaches_further_is_refused(change: Callable[[dict[str, Any]], None]) -> None:
    pod = copy.deepcopy(_pods(SPECS["dids"]())["algorithm-pod"])
    change(pod)
    assert refusals(pod) != []


def test_the_policy_applies_to_the_launcher_only() -> None:
    pod = copy.deepcopy(_pods(SPECS["dids"]())["algorithm-pod"])
    _mount_secret(pod)
    assert refusals(pod, user="system:serviceaccount:argo:argo") == []
