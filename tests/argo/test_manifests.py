"""argo/: every manifest valid for its kind, the kustomizations whole, RBAC and policies tight."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argo.schemas import errors
from tests.workflows.support import REPO
from workflows.templates import step_templates

ARGO = REPO / "argo"
BASE = ARGO / "base"
GENERATED = BASE / "workflow-templates.yaml"
HEADER = (
    "# Generated from workflows/templates.py (tests/argo/test_manifests.py); do not edit by hand.\n"
)


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
        [t.to_dict() for t in step_templates("c2d:0.1.0")], sort_keys=False
    )
    if os.environ.get("C2D_UPDATE_GOLDEN") == "1":
        GENERATED.write_text(text)
    assert GENERATED.read_text() == text, "regenerate with C2D_UPDATE_GOLDEN=1"


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
    for name in ("c2d-steps-cluster-egress", "c2d-steps-data-sources"):
        policy = _named("NetworkPolicy", name)["spec"]
        (expression,) = policy["podSelector"]["matchExpressions"]
        assert "algorithm" not in expression["values"]
        assert {"configure", "publish"} <= set(expression["values"])
        assert not policy.get("ingress")
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
