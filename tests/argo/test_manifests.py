"""argo/: every manifest valid for its kind, the kustomizations whole, RBAC and policies tight."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider.environments import ProviderConfig
from tests.argo.schemas import errors
from tests.workflows.support import REPO
from workflows import contract
from workflows.publisher_templates import PUBLISHER_TEMPLATE_LABEL, REGISTERED
from workflows.templates import step_templates

ARGO = REPO / "argo"
BASE = ARGO / "base"
GENERATED = BASE / "workflow-templates.yaml"
HEADER = (
    "# Generated from workflows/templates.py (tests/argo/test_manifests.py); do not edit by hand.\n"
)
EXAMPLE = ARGO / "examples" / "preprocess-template.yaml"
EXAMPLE_HEADER = """\
# A publisher-defined step: a WorkflowTemplate a dataset's compute service may name
# (compute.preprocessTemplate) to prepare its inputs before the algorithm; here: drop a header
# row from every input file. Install it (kubectl -n c2d-jobs apply -f this file) and list its
# name in the environment's publisherTemplates: the provider runs no other. docs/deploy.md §9.
# Generated from workflows/publisher_templates.py (tests/argo/test_manifests.py); do not edit
# by hand: the local engine runs the same definition.
"""


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _kustomization(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return loaded


def _base_objects() -> list[dict[str, Any]]:
    return [d for name in _kustomization(BASE)["resources"] for d in _documents(BASE / name)]


def _named(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in _base_objects() if d["kind"] == kind and d["metadata"]["name"] == name)


MANIFESTS = sorted([*BASE.glob("*.yaml"), *(ARGO / "examples").glob("*.yaml")])


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(ARGO)) for p in MANIFESTS])
def test_every_manifest_is_valid_for_its_kind(path: Path) -> None:
    for document in _documents(path):
        if document.get("kind") == "Kustomization":
            continue
        assert errors(document) == [], (document["kind"], document["metadata"]["name"])


def test_the_validators_catch_a_misspelt_field() -> None:
    deployment = _named("Deployment", "c2d-provider")
    deployment["spec"]["replicaz"] = 1
    template = _named("WorkflowTemplate", "c2d-configure")
    template["spec"]["templates"][0]["container"]["securityContex"] = {}
    assert any("replicaz" in e for e in errors(deployment))
    assert any("securityContex" in e for e in errors(template))


def test_kustomizations_name_only_files_that_exist() -> None:
    base = _kustomization(BASE)
    listed = set(base["resources"])
    assert listed == {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    overlay_dir = ARGO / "overlays" / "example"
    overlay = _kustomization(overlay_dir)
    assert overlay["resources"] == ["../../base"]
    for patch in overlay["patches"]:
        if "path" in patch:
            (target,) = _documents(overlay_dir / patch["path"])
            assert _named(target["kind"], target["metadata"]["name"])


def test_workflow_templates_are_generated_from_the_python_definition() -> None:
    text = HEADER + yaml.safe_dump_all(
        [t.to_dict() for t in step_templates(contract.STEPS_IMAGE)], sort_keys=False
    )
    if os.environ.get("C2D_UPDATE_GOLDEN") == "1":
        GENERATED.write_text(text)
    assert GENERATED.read_text() == text, "regenerate with C2D_UPDATE_GOLDEN=1"


def test_publisher_template_example_is_generated_from_the_registered_definition() -> None:
    text = EXAMPLE_HEADER + yaml.safe_dump_all(
        [build().to_dict() for build in REGISTERED.values()], sort_keys=False
    )
    if os.environ.get("C2D_UPDATE_GOLDEN") == "1":
        EXAMPLE.write_text(text)
    assert EXAMPLE.read_text() == text, "regenerate with C2D_UPDATE_GOLDEN=1"
    for document in _documents(EXAMPLE):
        assert document["metadata"]["labels"][PUBLISHER_TEMPLATE_LABEL] == "true"
        (step,) = document["spec"]["templates"]
        assert step["name"] == "preprocess"
        assert step["metadata"]["labels"]["c2d/step"] == "preprocess"


def test_overlay_environments_allow_only_templates_shipped_here() -> None:
    patch = _documents(ARGO / "overlays" / "example" / "environments.yaml")[0]
    config = ProviderConfig.model_validate(yaml.safe_load(patch["data"]["environments.yaml"]))
    shipped = {d["metadata"]["name"] for d in _documents(EXAMPLE)}
    allowed = {name for env in config.environments for name in env.publisher_templates}
    assert allowed and allowed <= shipped


def test_provider_role_is_namespaced_and_minimal() -> None:
    kinds = {d["kind"] for d in _base_objects()}
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    rules = {
        (group, resource): set(rule["verbs"])
        for rule in _named("Role", "c2d-provider")["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert rules[("argoproj.io", "workflows")] >= {"create", "get", "list", "watch", "delete"}
    assert rules[("", "pods/log")] == {"get"}
    assert "get" not in rules[("", "secrets")] and "list" not in rules[("", "secrets")]
    assert not any("*" in verbs or "*" in key for key, verbs in rules.items())
    binding = _named("RoleBinding", "c2d-provider")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "c2d-provider"}]


def test_workflow_pods_get_only_what_the_executor_needs() -> None:
    rules = {
        (group, resource): set(rule["verbs"])
        for rule in _named("Role", "c2d-workflow")["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert rules == {
        ("argoproj.io", "workflowtaskresults"): {"create", "patch"},
        ("", "pods"): {"create", "get", "list", "watch"},
    }


def test_the_algorithm_gets_no_traffic_and_the_steps_no_private_addresses() -> None:
    deny = _named("NetworkPolicy", "c2d-algorithm-deny-all")["spec"]
    assert deny["podSelector"] == {"matchLabels": {"c2d/step": "algorithm"}}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress") and not deny.get("egress")
    selected = {}
    for name in ("c2d-steps-cluster-egress", "c2d-steps-data-sources"):
        policy = _named("NetworkPolicy", name)["spec"]
        (expression,) = policy["podSelector"]["matchExpressions"]
        assert "algorithm" not in expression["values"]
        assert {"configure", "publish"} <= set(expression["values"])
        assert not policy.get("ingress")
        selected[name] = set(expression["values"])
    # A publisher's preprocess step: selected by an egress policy (else it could reach anything),
    # the cluster one only: no data sources.
    assert "preprocess" in selected["c2d-steps-cluster-egress"]
    assert "preprocess" not in selected["c2d-steps-data-sources"]
    sources = _named("NetworkPolicy", "c2d-steps-data-sources")["spec"]["egress"]
    (block,) = [peer["ipBlock"] for rule in sources for peer in rule["to"]]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        block["except"]
    )


def test_provider_runs_non_root_with_probes_and_limits() -> None:
    pod = _named("Deployment", "c2d-provider")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "c2d-provider"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"] and container["livenessProbe"]
    assert container["resources"]["limits"]
    env = {e["name"]: e for e in container["env"]}
    assert env["C2D_ENGINE"]["value"] == "argo"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/lib/c2d/results"] == "results"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["results"]["persistentVolumeClaim"]["claimName"] == "c2d-results"
