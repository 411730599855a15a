"""The pods a job becomes on a cluster, as Argo would build them, against what the cluster
checks: PodSecurity "restricted", which tokens reach which container, Argo's substitution.

No cluster runs here: ``argo_pods`` builds the pods as Argo's controller does, ``pod_security``
holds PodSecurity's restricted checks, ``argo_substitution`` finds Argo's ``{{…}}`` tags.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.argo.argo_pods import TOKEN_VOLUME, argo_pod, token_secret
from tests.argo.argo_substitution import UnclosedTag, substitution_tags
from tests.argo.pod_security import restricted_violations
from tests.workflows.support import REPO, SPECS, did_spec
from workflows import contract
from workflows.dag import EXECUTOR_ACCOUNT, LAUNCHER_ACCOUNT, StepImages
from workflows.engines.argo import workflow_for
from workflows.spec import JobSpec
from workflows.templates import inline_template_refs

ARGO = REPO / "argo"


def _installed() -> dict[str, dict[str, Any]]:
    """The WorkflowTemplates an operator installs: the trusted steps and the example."""
    paths = [
        ARGO / "base" / "workflow-templates.yaml",
        ARGO / "examples" / "preprocess-template.yaml",
    ]
    return {d["metadata"]["name"]: d for p in paths for d in yaml.safe_load_all(p.read_text()) if d}


def _pods(spec: JobSpec) -> dict[str, dict[str, Any]]:
    """Each pod of the job by template name, and the algorithm Pod the launcher creates."""
    submitted = workflow_for(spec, StepImages(), {})
    workflow = inline_template_refs(submitted, _installed())
    pods = {
        t["name"]: argo_pod(workflow, t)
        for t in workflow["spec"]["templates"]
        if "container" in t or "resource" in t
    }
    (launcher,) = [t for t in workflow["spec"]["templates"] if "resource" in t]
    pods["algorithm-pod"] = yaml.safe_load(launcher["resource"]["manifest"])
    return pods


@pytest.mark.parametrize("name", list(SPECS))
def test_every_pod_of_a_job_passes_pod_security_restricted(name: str) -> None:
    pods = _pods(SPECS[name]())
    assert {"configure", "publish", "algorithm", "algorithm-pod"} <= set(pods)
    for pod_name, pod in pods.items():
        assert restricted_violations(pod) == [], pod_name


def test_the_provider_passes_pod_security_restricted() -> None:
    documents = yaml.safe_load_all((ARGO / "base" / "provider.yaml").read_text())
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    assert restricted_violations(deployment["spec"]["template"]) == []


def test_argo_executor_containers_without_the_patch_fail_restricted() -> None:
    # What the review found: Argo's init and wait carry no securityContext by default.
    workflow = inline_template_refs(workflow_for(did_spec(), StepImages(), {}), _installed())
    (configure,) = [t for t in workflow["spec"]["templates"] if t["name"] == "configure"]
    configure.pop("podSpecPatch")
    found = restricted_violations(argo_pod(workflow, configure))
    assert "allowPrivilegeEscalation != false: init" in found
    assert "capabilities: wait must drop ALL" in found


def test_step_pods_write_the_job_volume_as_group_1000() -> None:
    # kubelet-made subPaths are root-owned: fsGroup makes them group 1000, group-writable.
    for name in ("configure", "publish", "preprocess"):
        context = _pods(SPECS["preprocess"]())[name]["spec"]["securityContext"]
        assert context["fsGroup"] == contract.ALGORITHM_UID
        assert context["runAsUser"] == contract.ALGORITHM_UID
        assert context["fsGroupChangePolicy"] == "OnRootMismatch"


def _token_holders(pod: dict[str, Any]) -> dict[str, str]:
    """container → the Secret whose token it mounts ("" for the kubelet's own)."""
    spec = pod["spec"]
    secrets = {v["name"]: v.get("secret", {}).get("secretName") for v in spec["volumes"]}
    holders = {}
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        for mount in container.get("volumeMounts", []):
            if mount["name"] == TOKEN_VOLUME:
                holders[container["name"]] = secrets[mount["name"]]
        if spec.get("automountServiceAccountToken") is not False:
            holders.setdefault(container["name"], "")
    return holders


def test_no_step_container_holds_a_token_and_only_the_launcher_can_create_pods() -> None:
    pods = _pods(SPECS["preprocess"]())
    executor, launcher = token_secret(EXECUTOR_ACCOUNT), token_secret(LAUNCHER_ACCOUNT)
    for name in ("configure", "publish", "preprocess"):
        assert _token_holders(pods[name]) == {"init": executor, "wait": executor}, name
    assert _token_holders(pods["algorithm"]) == {"init": launcher, "main": launcher}
    assert _token_holders(pods["algorithm-pod"]) == {}


HOSTILE_ENVS = {
    "GREETING": "{{workflow.name}}",
    "EXPR": "{{=sprig.repeat(3, 'ab')}}",
    "PARAM": "{{inputs.parameters.x}}",
    "LONE": "a{{b",
    "JSONISH": '{"a": {"b": 1}}',
}
HOSTILE_ENTRYPOINT = "python $ALGO '{{=1+1}}' {{workflow.uid}}"


def _hostile_spec() -> JobSpec:
    data = did_spec().model_dump()
    data["algorithm"]["envs"] = HOSTILE_ENVS
    data["algorithm"]["container"]["entrypoint"] = HOSTILE_ENTRYPOINT
    return JobSpec.model_validate(data)


def test_consumer_strings_reach_no_place_argo_substitutes() -> None:
    workflow = workflow_for(_hostile_spec(), StepImages(), {})
    # Argo's global pass over the spec, then SubstituteParams over each template.
    assert substitution_tags(workflow["spec"]) == []
    for template in workflow["spec"]["templates"]:
        assert substitution_tags(template) == [], template["name"]


def test_the_created_pod_carries_the_consumer_strings_unchanged() -> None:
    workflow = workflow_for(_hostile_spec(), StepImages(), {})
    (launcher,) = [t for t in workflow["spec"]["templates"] if "resource" in t]
    # The controller and kubectl read the manifest as YAML (sigs.k8s.io/yaml).
    (container,) = yaml.safe_load(launcher["resource"]["manifest"])["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert {name: env[name] for name in HOSTILE_ENVS} == HOSTILE_ENVS
    assert container["command"][-3:] == [
        "/data/transformations/algorithm",
        "{{=1+1}}",
        "{{workflow.uid}}",
    ]


def test_the_substitution_model_finds_what_argo_would_act_on() -> None:
    assert substitution_tags({"value": "{{workflow.name}} {{=1+1}}"}) == ["workflow.name", "=1+1"]
    with pytest.raises(UnclosedTag):
        substitution_tags({"value": "a{{b"})


def test_a_stopped_algorithm_pod_is_killed_within_seconds() -> None:
    # The runner shell (PID 1) ignores SIGTERM, so the kubelet's grace period is the delay.
    pod = _pods(did_spec())["algorithm-pod"]
    assert pod["spec"]["containers"][0]["command"][0] == "/bin/sh"
    assert pod["spec"]["terminationGracePeriodSeconds"] <= 5
