"""The Workflow as submitted (templateRefs, placement) against the schemas and the argo/ objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from provider.engine_factory import argo_placements
from provider.environments import ProviderConfig
from tests.argo.schemas import errors
from tests.workflows.support import REPO, SPECS
from workflows import contract
from workflows.dag import Placement, StepImages
from workflows.engines.argo import workflow_for
from workflows.spec import JobSpec
from workflows.templates import inline_template_refs, step_template_dicts

PLACEMENT = Placement(
    runtime_class_name="gvisor",
    node_selector={"pool": "jobs"},
    tolerations=({"key": "jobs", "operator": "Exists", "effect": "NoSchedule"},),
)
spec_factories = pytest.mark.parametrize("make", list(SPECS.values()), ids=list(SPECS))


def _submitted(spec: JobSpec, placement: Placement | None = None) -> dict[str, Any]:
    placements = {spec.environment: placement} if placement else {}
    return workflow_for(spec, StepImages(archive_logs=True), placements)


def _installed_templates() -> dict[str, dict[str, Any]]:
    path = REPO / "argo" / "base" / "workflow-templates.yaml"
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text()) if d}


def _pod(workflow: dict[str, Any]) -> dict[str, Any]:
    (template,) = [t for t in workflow["spec"]["templates"] if "resource" in t]
    pod: dict[str, Any] = yaml.safe_load(template["resource"]["manifest"])
    return pod


@spec_factories
def test_submitted_workflow_passes_the_strict_schema(make: Callable[[], JobSpec]) -> None:
    assert errors(_submitted(make(), PLACEMENT)) == []


@spec_factories
def test_algorithm_pod_is_a_valid_kubernetes_pod(make: Callable[[], JobSpec]) -> None:
    assert errors(_pod(_submitted(make(), PLACEMENT))) == []


def test_placement_reaches_every_pod_and_the_runtime_class_only_the_algorithm() -> None:
    spec = SPECS["raw"]()
    submitted = _submitted(spec, PLACEMENT)
    pod_spec = _pod(submitted)["spec"]
    assert pod_spec["runtimeClassName"] == "gvisor"
    assert pod_spec["nodeSelector"] == {"pool": "jobs"}
    tolerations = [{"key": "jobs", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod_spec["tolerations"] == tolerations
    # Argo puts the Workflow's nodeSelector and tolerations on every step pod, so the job
    # volume binds in a zone of the jobs pool (WaitForFirstConsumer binds where configure runs).
    assert submitted["spec"]["nodeSelector"] == {"pool": "jobs"}
    assert submitted["spec"]["tolerations"] == tolerations
    assert "runtimeClassName" not in submitted["spec"]
    plain = _submitted(spec)
    assert not {"runtimeClassName", "nodeSelector", "tolerations"} & set(_pod(plain)["spec"])
    assert not {"nodeSelector", "tolerations"} & set(plain["spec"])


def test_trusted_steps_come_from_the_installed_workflow_templates() -> None:
    spec = SPECS["dids"]()
    workflow = _submitted(spec)
    tasks = {
        t["name"]: t
        for template in workflow["spec"]["templates"]
        if "dag" in template
        for t in template["dag"]["tasks"]
    }
    assert tasks["configure"]["templateRef"] == {"name": "c2d-configure", "template": "configure"}
    assert tasks["publish"]["templateRef"] == {"name": "c2d-publish", "template": "publish"}
    assert tasks["publish"]["arguments"]["parameters"] == [{"name": "job-id", "value": spec.job_id}]
    installed = _installed_templates()
    for template in installed.values():
        assert template["metadata"].pop("namespace") == "c2d-jobs"
    assert installed == step_template_dicts(contract.STEPS_IMAGE)
    # What the local engine runs is what the cluster would: the references resolve to these.
    resolved = inline_template_refs(workflow, installed)
    publish = next(t for t in resolved["spec"]["templates"] if t["name"] == "publish")
    results = next(
        m for m in publish["container"]["volumeMounts"] if m["mountPath"] == contract.RESULTS
    )
    assert results["subPath"] == spec.job_id
    declared = {v["name"] for v in workflow["spec"]["volumes"]} | {
        c["metadata"]["name"] for c in workflow["spec"]["volumeClaimTemplates"]
    }
    for template in installed.values():
        for mount in template["spec"]["templates"][0]["container"]["volumeMounts"]:
            assert mount["name"] in declared


def test_every_pod_carries_the_job_labels_and_its_step() -> None:
    spec = SPECS["raw"]()
    workflow = _submitted(spec)
    job_labels = workflow["spec"]["podMetadata"]["labels"]
    assert job_labels == workflow["metadata"]["labels"]
    assert set(job_labels) == {"c2d/job-id", "c2d/owner", "c2d/environment"}
    steps = {
        t["spec"]["templates"][0]["metadata"]["labels"]["c2d/step"]
        for t in _installed_templates().values()
    }
    assert steps == {"configure", "publish"}
    assert _pod(workflow)["metadata"]["labels"]["c2d/step"] == "algorithm"


def test_workflow_names_objects_that_argo_installs() -> None:
    # As the provider of argo/base submits it: with the result store (no result volume).
    spec = SPECS["raw"]()
    workflow = workflow_for(spec, StepImages(archive_logs=True, result_store=True), {})
    base = [
        d
        for p in (REPO / "argo" / "base").glob("*.yaml")
        for d in yaml.safe_load_all(p.read_text())
        if d and "metadata" in d
    ]
    names = {(d["kind"], d["metadata"]["name"]) for d in base}
    assert ("ServiceAccount", workflow["spec"]["serviceAccountName"]) in names
    claims = [v for v in workflow["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == []
    assert workflow["spec"]["archiveLogs"] is True
    assert workflow["spec"]["podGC"] and workflow["spec"]["ttlStrategy"]


@pytest.mark.parametrize("manifest", ["base/provider.yaml", "overlays/example/environments.yaml"])
def test_shipped_environment_configs_load(manifest: str) -> None:
    documents = yaml.safe_load_all((REPO / "argo" / manifest).read_text())
    config_map = next(d for d in documents if d and d["kind"] == "ConfigMap")
    config = ProviderConfig.model_validate(yaml.safe_load(config_map["data"]["environments.yaml"]))
    placements = argo_placements(config)
    if "overlays" in manifest:
        assert placements["free"].runtime_class_name == "gvisor"
    else:
        assert placements == {}
