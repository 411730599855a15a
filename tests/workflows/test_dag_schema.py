"""The generated Workflow against Argo's JSON schema (a closed copy) and the algorithm pod's rules
(docs/architecture.md#one-workflow-two-engines)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from tests.argo.schemas import SCHEMA_FILE
from tests.workflows.support import (
    ALGORITHM_DID,
    DID_A,
    DID_B,
    REPO,
    SPECS,
    algorithm_pod,
    did_spec,
    gpu_spec,
    make_spec,
    raw_spec,
    template,
    workflow_dict,
)
from workflows import contract
from workflows.dag import StepImages, build_workflow
from workflows.output_spec import OutputSpec
from workflows.spec import JobSpec

WORKFLOW_DEF = "io.argoproj.workflow.v1alpha1.Workflow"
INT_OR_STRING_DEF = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
# Fields of core/v1 PodSpec: Argo's schema has no PodSpec, so the manifest's keys are checked here.
POD_SPEC_FIELDS = {
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers",
    "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers", "hostAliases",
    "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets",
    "initContainers", "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy",
    "priority", "priorityClassName", "readinessGates", "resourceClaims", "restartPolicy",
    "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
    "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
    "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints", "volumes",
}  # fmt: skip
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

spec_factories = pytest.mark.parametrize("make", list(SPECS.values()), ids=list(SPECS))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


@pytest.fixture(scope="module")
def strict_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """Every definition that lists properties closed, so that a misspelt field fails."""
    definitions: dict[str, Any] = copy.deepcopy(schema["definitions"])
    for definition in definitions.values():
        if "properties" in definition:
            definition["additionalProperties"] = False
    # Argo types IntOrString as a string; Kubernetes (and hera) also use integers there.
    definitions[INT_OR_STRING_DEF] = {"type": ["string", "integer"]}
    return definitions


def _validator(schema: dict[str, Any], definitions: dict[str, Any], root: str) -> Any:
    return Draft202012Validator(
        {
            "$schema": schema["$schema"],
            "definitions": definitions,
            "$ref": f"#/definitions/{root}",
        }
    )


def _errors(validator: Any, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


@pytest.fixture(scope="module")
def strict(schema: dict[str, Any], strict_definitions: dict[str, Any]) -> Callable[..., list[str]]:
    validators: dict[str, Any] = {}

    def errors(instance: Any, root: str = WORKFLOW_DEF) -> list[str]:
        if root not in validators:
            validators[root] = _validator(schema, strict_definitions, root)
        return _errors(validators[root], instance)

    return errors


# --- the Workflow against the schema ---------------------------------------------------------


@spec_factories
def test_workflow_passes_the_strict_schema(
    make: Callable[[], JobSpec], strict: Callable[..., list[str]]
) -> None:
    assert strict(workflow_dict(make())) == []


@spec_factories
def test_workflow_passes_the_schema_as_published(
    make: Callable[[], JobSpec], schema: dict[str, Any]
) -> None:
    # The file's own root: exactly one of Workflow, WorkflowTemplate, CronWorkflow, …
    widened = copy.deepcopy(schema)
    widened["definitions"][INT_OR_STRING_DEF] = {"type": ["string", "integer"]}
    assert _errors(Draft202012Validator(widened), workflow_dict(make())) == []


def test_the_strict_copy_catches_misspelt_fields(strict: Callable[..., list[str]]) -> None:
    workflow = workflow_dict(raw_spec())
    template(workflow, "configure")["container"]["securityContex"] = {}
    workflow["spec"]["podGc"] = {"strategy": "OnPodCompletion"}
    errors = strict(workflow)
    assert any("securityContex" in e for e in errors)
    assert any("podGc" in e for e in errors)


@spec_factories
def test_embedded_pod_passes_the_kubernetes_definitions(
    make: Callable[[], JobSpec], strict: Callable[..., list[str]]
) -> None:
    pod = algorithm_pod(workflow_dict(make()))
    assert set(pod) == {"apiVersion", "kind", "metadata", "spec"}
    assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
    assert set(pod["spec"]) <= POD_SPEC_FIELDS
    assert strict(pod["metadata"], "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta") == []
    assert strict(pod["spec"]["securityContext"], "io.k8s.api.core.v1.PodSecurityContext") == []
    for container in pod["spec"]["containers"]:
        assert strict(container, "io.k8s.api.core.v1.Container") == []
    for volume in pod["spec"]["volumes"]:
        assert strict(volume, "io.k8s.api.core.v1.Volume") == []


# --- the algorithm pod: docs/architecture.md#one-workflow-two-engines ---------------------


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod["spec"]["containers"]
    assert not pod["spec"].get("initContainers")
    container_: dict[str, Any] = container
    return container_


@spec_factories
def test_algorithm_is_a_pod_created_by_a_resource_template(make: Callable[[], JobSpec]) -> None:
    resource = template(workflow_dict(make()), "algorithm")["resource"]
    assert resource["action"] == "create"
    assert resource["setOwnerReference"] is True
    assert resource["successCondition"] == "status.phase == Succeeded"
    assert "Failed" in resource["failureCondition"]
    assert "Error" in resource["failureCondition"]


@spec_factories
def test_algorithm_pod_is_locked_down(make: Callable[[], JobSpec]) -> None:
    spec = make()
    pod = algorithm_pod(workflow_dict(spec))
    pod_spec = pod["spec"]
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["restartPolicy"] == "Never"
    assert pod_spec["activeDeadlineSeconds"] == spec.limits.max_job_duration
    for host_access in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod_spec.get(host_access)
    pod_security = pod_spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == contract.ALGORITHM_UID == 1000
    assert pod_security["runAsGroup"] == 1000
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}

    container = _container(pod)
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert not security["capabilities"].get("add")
    assert security["readOnlyRootFilesystem"] is True
    assert not security.get("privileged")
    assert security.get("runAsUser", 1000) == 1000
    assert security.get("runAsNonRoot", True) is True


@spec_factories
def test_algorithm_pod_requests_equal_limits(make: Callable[[], JobSpec]) -> None:
    spec = make()
    resources = _container(algorithm_pod(workflow_dict(spec)))["resources"]
    assert resources["requests"] == resources["limits"]
    limits = resources["limits"]
    assert limits["cpu"] == f"{int(spec.limits.cpus * 1000)}m"
    assert limits["memory"] == str(spec.limits.memory_bytes)
    assert all(isinstance(value, str) for value in limits.values())
    if spec.limits.gpus:
        assert limits["nvidia.com/gpu"] == str(spec.limits.gpus)
    else:
        assert "nvidia.com/gpu" not in limits


def test_gpu_job_asks_for_one_gpu() -> None:
    resources = _container(algorithm_pod(workflow_dict(gpu_spec())))["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    assert resources["requests"]["nvidia.com/gpu"] == "1"


@spec_factories
def test_algorithm_pod_mounts_only_its_data(make: Callable[[], JobSpec]) -> None:
    pod = algorithm_pod(workflow_dict(make()))
    mounts = {m["mountPath"]: m for m in _container(pod)["volumeMounts"]}
    read_only = {contract.INPUTS, contract.DDOS, contract.TRANSFORMATIONS}
    writable = {contract.OUTPUTS, contract.LOGS, "/tmp"}
    assert set(mounts) == read_only | writable
    for path in read_only:
        assert mounts[path]["readOnly"] is True, path
    for path in writable:
        assert not mounts[path].get("readOnly"), path
    for path, mount in mounts.items():
        if mount["name"] == contract.VOLUME_DATA:
            # Only the job's own data folders: never the volume's root, where admin logs live.
            assert mount["subPath"] == "data/" + path.removeprefix(contract.DATA + "/")
        assert not path.startswith("/c2d")
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert set(volumes) == {contract.VOLUME_DATA, "tmp"}
    assert contract.VOLUME_SPEC not in volumes
    assert contract.VOLUME_RESULTS not in volumes
    assert volumes["tmp"]["emptyDir"]["sizeLimit"]
    claim = volumes[contract.VOLUME_DATA]["persistentVolumeClaim"]["claimName"]
    # Argo names a volumeClaimTemplates claim "<workflow name>-<template name>".
    assert claim == f"c2d-{make().job_id}-{contract.VOLUME_DATA}"


@spec_factories
def test_algorithm_pod_runs_the_algorithm_with_the_contract_env(
    make: Callable[[], JobSpec],
) -> None:
    spec = make()
    container = _container(algorithm_pod(workflow_dict(spec)))
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["VOLUME"] == contract.DATA
    assert env["INPUTS"] == contract.INPUTS
    assert env["OUTPUTS"] == contract.OUTPUTS
    assert env["LOGS"] == contract.LOGS
    assert env["ALGO"] == contract.ALGORITHM_PATH
    assert json.loads(env["DIDS"]) == [d.removeprefix("did:op:") for d in spec.input_dids]
    assert container["workingDir"] == contract.OUTPUTS
    assert container["image"] == spec.algorithm.container.reference
    command = container["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    assert contract.ALGORITHM_LOG in command[2]
    assert "$ALGO" not in " ".join(command)
    assert contract.ALGORITHM_PATH in command[4:]


def test_did_job_env_and_image() -> None:
    container = _container(algorithm_pod(workflow_dict(did_spec())))
    env = {e["name"]: e["value"] for e in container["env"]}
    assert json.loads(env["DIDS"]) == [DID_A[7:], DID_B[7:]]
    assert env["TRANSFORMATION_DID"] == ALGORITHM_DID[7:]
    assert env["MY_SETTING"] == "x"  # the algorithm's own envs pass, but never override
    assert container["image"] == "python@sha256:" + "d" * 64
    assert container["command"][4:] == ["python3", "-u", contract.ALGORITHM_PATH, "--verbose"]


@spec_factories
def test_a_checksum_pins_the_pods_image(make: Callable[[], JobSpec]) -> None:
    spec = make()
    digest = "sha256:" + "e" * 64
    container = spec.algorithm.container.model_copy(update={"tag": "3.11", "checksum": digest})
    pinned = spec.model_copy(
        update={"algorithm": spec.algorithm.model_copy(update={"container": container})}
    )
    image = _container(algorithm_pod(workflow_dict(pinned)))["image"]
    assert image == f"{container.image}:3.11@{digest}"


def test_no_secret_or_url_reaches_the_workflow() -> None:
    # The Workflow is visible in the Argo UI: file URLs, headers and code stay in the spec Secret.
    text = build_workflow(did_spec(), StepImages()).to_yaml()
    assert "s3cr3t-token" not in text
    assert "example.com" not in text
    assert "print('hello')" not in build_workflow(raw_spec(), StepImages()).to_yaml()


def test_the_output_storage_and_its_keys_stay_out_of_the_workflow() -> None:
    output = OutputSpec.model_validate(
        {
            "remoteStorage": {
                "type": "s3",
                "s3Access": {
                    "endpoint": "https://storage.example.org",
                    "bucket": "consumer-bucket",
                    "objectKey": "results/",
                    "accessKeyId": "AKIAOUTPUTKEY",
                    "secretAccessKey": "output-secret-key",
                },
            },
            "encryption": {"encryptMethod": "AES", "key": "ab" * 32},
        }
    )
    spec = raw_spec().model_copy(update={"output": output})
    text = build_workflow(spec, StepImages()).to_yaml()
    for secret in ("storage.example.org", "consumer-bucket", "AKIAOUTPUTKEY", "output-secret-key"):
        assert secret not in text
    assert "ab" * 32 not in text


def test_no_network_job_is_selected_by_the_deny_all_policy() -> None:
    spec = make_spec(network=False)
    labels = algorithm_pod(workflow_dict(spec))["metadata"]["labels"]
    policy = yaml.safe_load((REPO / "argo" / "base" / "network-policy.yaml").read_text())
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert not policy["spec"].get("ingress")
    assert not policy["spec"].get("egress")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= labels.items()


@spec_factories
def test_labels_are_valid_and_name_the_job(make: Callable[[], JobSpec]) -> None:
    spec = make()
    workflow = workflow_dict(spec)
    pod_labels = algorithm_pod(workflow)["metadata"]["labels"]
    for labels in (workflow["metadata"]["labels"], pod_labels):
        assert labels["c2d/job-id"] == spec.job_id
        assert labels["c2d/owner"] == spec.owner.lower()
        assert labels["c2d/environment"] == spec.environment
        for value in labels.values():
            assert len(value) <= 63 and LABEL_VALUE.match(value), value
    assert json.loads(workflow["metadata"]["annotations"]["c2d/input-dids"]) == spec.input_dids


# --- the rest of the Workflow -----------------------------------------------------------------


@spec_factories
def test_trusted_steps_are_restricted_and_see_the_spec_read_only(
    make: Callable[[], JobSpec],
) -> None:
    spec = make()
    workflow = workflow_dict(spec)
    for name in ("configure", "publish"):
        container = template(workflow, name)["container"]
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert security["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts[contract.SPEC_DIR]["readOnly"] is True
        assert mounts[contract.ADMIN_LOGS]["subPath"] == "admin"
        assert mounts[contract.DATA]["subPath"] == "data"
    publish_mounts = {
        m["mountPath"]: m for m in template(workflow, "publish")["container"]["volumeMounts"]
    }
    assert publish_mounts[contract.DATA]["readOnly"] is True
    assert publish_mounts[contract.RESULTS]["subPath"] == spec.job_id


@spec_factories
def test_workflow_cleans_up_and_sizes_its_volume(make: Callable[[], JobSpec]) -> None:
    spec = make()
    workflow_spec = workflow_dict(spec)["spec"]
    assert workflow_spec["podGC"]["strategy"]
    assert workflow_spec["ttlStrategy"]["secondsAfterCompletion"] > 0
    assert workflow_spec["activeDeadlineSeconds"] > spec.limits.max_job_duration
    (claim,) = workflow_spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == contract.VOLUME_DATA
    storage = claim["spec"]["resources"]["requests"]["storage"]
    assert storage.endswith("Gi")
    assert int(storage.removesuffix("Gi")) * 2**30 >= spec.limits.disk_bytes
    secret = next(v for v in workflow_spec["volumes"] if v["name"] == contract.VOLUME_SPEC)
    assert secret["secret"]["secretName"] == f"c2d-{spec.job_id}-jobspec"


def test_build_is_pure() -> None:
    assert workflow_dict(did_spec()) == workflow_dict(did_spec())
