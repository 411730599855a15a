"""argo/: every manifest valid for its kind, the kustomizations whole, RBAC and policies tight."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider.environments import ProviderConfig
from tests.argo.network_policy import Destination, egress_allowed
from tests.argo.schemas import errors
from tests.workflows.support import REPO
from workflows import contract
from workflows.publisher_templates import PUBLISHER_TEMPLATE_LABEL, REGISTERED
from workflows.templates import step_templates

ARGO = REPO / "argo"
JOBS = "c2d-jobs"
SYSTEM = "c2d-system"
CLUSTER_SCOPED = {"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
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
        if "path" in patch and "target" not in patch:
            for target in _documents(overlay_dir / patch["path"]):
                found = _named(target["kind"], target["metadata"]["name"])
                assert found["metadata"].get("namespace") == target["metadata"].get("namespace")


def _in_jobs_namespace(template: dict[str, Any]) -> dict[str, Any]:
    template["metadata"]["namespace"] = JOBS
    return template


def test_workflow_templates_are_generated_from_the_python_definition() -> None:
    text = HEADER + yaml.safe_dump_all(
        [_in_jobs_namespace(t.to_dict()) for t in step_templates(contract.STEPS_IMAGE)],
        sort_keys=False,
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
    assert binding["metadata"]["namespace"] == JOBS
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "c2d-provider", "namespace": SYSTEM}
    ]


def _rules(role: str) -> dict[tuple[str, str], set[str]]:
    return {
        (group, resource): set(rule["verbs"])
        for rule in _named("Role", role)["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def test_only_the_launcher_may_create_pods() -> None:
    # A token that can create pods can mount any Secret of the namespace in a pod of its own.
    assert _rules("c2d-executor") == {("argoproj.io", "workflowtaskresults"): {"create", "patch"}}
    assert _rules("c2d-launcher") == {
        ("argoproj.io", "workflowtaskresults"): {"create", "patch"},
        ("", "pods"): {"create", "get", "delete"},
        ("argoproj.io", "workflows/finalizers"): {"update"},
    }
    roles = [d["metadata"]["name"] for d in _base_objects() if d["kind"] == "Role"]
    creators = [r for r in roles if "create" in _rules(r).get(("", "pods"), set())]
    assert creators == ["c2d-launcher"]
    bound = {
        d["roleRef"]["name"]: d["subjects"] for d in _base_objects() if d["kind"] == "RoleBinding"
    }
    assert "c2d-workflow" not in bound
    assert bound["c2d-launcher"] == [
        {"kind": "ServiceAccount", "name": "c2d-launcher", "namespace": JOBS}
    ]
    for account in ("c2d-executor", "c2d-launcher"):
        token = _named("Secret", f"{account}.service-account-token")
        assert token["type"] == "kubernetes.io/service-account-token"
        assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account


def test_owner_reference_enforcement_gets_the_verbs_it_checks() -> None:
    # gc_admission.go: an ownerReference needs delete on the object; blockOwnerDeletion needs
    # update on the owner's finalizers. The launcher's Pod carries Argo's controller reference
    # (blockOwnerDeletion), the provider's spec Secret a plain one.
    assert "delete" in _rules("c2d-launcher")[("", "pods")]
    assert _rules("c2d-launcher")[("argoproj.io", "workflows/finalizers")] == {"update"}
    assert "delete" in _rules("c2d-provider")[("", "secrets")]


def test_the_launcher_policy_binds_to_the_launcher_and_denies() -> None:
    policy = _named("ValidatingAdmissionPolicy", "c2d-launcher-creates-algorithm-pods-only")
    (condition,) = policy["spec"]["matchConditions"]
    assert "system:serviceaccount:c2d-jobs:c2d-launcher" in condition["expression"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    binding = _named("ValidatingAdmissionPolicyBinding", policy["metadata"]["name"])
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"],
        "validationActions": ["Deny"],
    }


def test_the_namespace_enforces_pod_security_restricted() -> None:
    labels = _named("Namespace", JOBS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_base_provider_runs_one_replica_on_its_state_claim() -> None:
    # SQLite on a ReadWriteOnce claim: several replicas need C2D_DATABASE_URL (the overlay).
    deployment = _named("Deployment", "c2d-provider")["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}
    assert _named("PersistentVolumeClaim", "c2d-provider-state")["spec"]["accessModes"] == [
        "ReadWriteOnce"
    ]


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
    assert env["C2D_ARGO_NAMESPACE"]["value"] == JOBS
    # Results come from the result store, not from a claim of the jobs' namespace.
    assert container["envFrom"] == [{"secretRef": {"name": "c2d-result-store"}}]
    volumes = {v["name"]: v for v in pod["volumes"]}
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in volumes.values()
        if "persistentVolumeClaim" in v
    ]
    assert claims == ["c2d-provider-state"]


def test_every_namespaced_object_names_its_namespace() -> None:
    # No kustomize `namespace:` rewrites them: the provider's objects are in c2d-system.
    for document in _base_objects():
        where = document["metadata"].get("namespace")
        assert (where is None) == (document["kind"] in CLUSTER_SCOPED), document["metadata"]
    provider_side = {
        (d["kind"], d["metadata"]["name"])
        for d in _base_objects()
        if d["metadata"].get("namespace") == SYSTEM
    }
    assert provider_side == {
        ("ServiceAccount", "c2d-provider"),
        ("ConfigMap", "c2d-environments"),
        ("Deployment", "c2d-provider"),
        ("Service", "c2d-provider"),
        ("NetworkPolicy", "c2d-provider"),
        ("PersistentVolumeClaim", "c2d-provider-state"),
    }


def test_the_provider_key_is_out_of_reach_of_job_pods() -> None:
    # A pod mounts Secrets of its own namespace only: whatever a job pod (or a pod that the
    # launcher creates) asks for, it cannot get the provider's key from c2d-system.
    deployment = _named("Deployment", "c2d-provider")
    assert deployment["metadata"]["namespace"] == SYSTEM
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    secrets = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert secrets == {"c2d-provider-key"}
    pod_creators = [
        d
        for d in _base_objects()
        if d["kind"] == "Role"
        and "create" in _rules(d["metadata"]["name"]).get(("", "pods"), set())
    ]
    assert [r["metadata"]["namespace"] for r in pod_creators] == [JOBS]
    # Nothing in c2d-system grants an account anything: no Role, no RoleBinding there.
    assert not [
        d
        for d in _base_objects()
        if d["kind"] in ("Role", "RoleBinding") and d["metadata"]["namespace"] == SYSTEM
    ]
    labels = _named("Namespace", SYSTEM)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_example_overlay_runs_replicas_on_postgresql() -> None:
    overlay = ARGO / "overlays" / "example"
    deployment, state = _documents(overlay / "provider-replicas.yaml")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["C2D_DATABASE_URL"] == {"name": "c2d-database", "key": "url"}
    assert env["C2D_PROVIDER_PRIVATE_KEY"]["optional"] is False
    (volume,) = deployment["spec"]["template"]["spec"]["volumes"]
    assert volume["name"] == "state" and "emptyDir" in volume
    assert volume["persistentVolumeClaim"] is None  # removes the claim in the merge
    assert state["$patch"] == "delete" and state["metadata"]["name"] == "c2d-provider-state"


_POLICIES = [d for d in _base_objects() if d["kind"] == "NetworkPolicy"]
_API_SERVER = "192.0.2.1"  # the base's placeholder, patched per cluster
_DNS = Destination("10.96.0.10", 53, "UDP", {"k8s-app": "kube-dns"}, "kube-system")
_NODE_LOCAL_DNS = Destination("169.254.20.10", 53, "UDP")
_MINIO = Destination(
    "10.1.0.9", 9000, labels={"app.kubernetes.io/name": "minio"}, namespace="c2d-jobs"
)
_OTHER_POD = Destination("10.1.0.8", 443, labels={"app": "other"}, namespace="c2d-jobs")
_INTERNET = [Destination("93.184.216.34", port) for port in (80, 443, 6443)]
_PRIVATE = [
    Destination(ip, port)
    for ip in ("10.2.3.4", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1")
    for port in (80, 443)
]


def _reaches(step: str | None, destination: Destination) -> bool:
    labels = {"c2d/job-id": "a" * 32} | ({"c2d/step": step} if step else {})
    return egress_allowed(_POLICIES, labels, destination)


@pytest.mark.parametrize("step", ["configure", "publish", "preprocess", "algorithm-launcher"])
def test_every_step_reaches_dns_the_api_server_and_minio_only_in_the_cluster(step: str) -> None:
    assert _reaches(step, _DNS) and _reaches(step, _NODE_LOCAL_DNS)
    assert _reaches(step, Destination(_API_SERVER, 443))
    assert _reaches(step, Destination(_API_SERVER, 6443))
    assert _reaches(step, _MINIO)
    assert not _reaches(step, _OTHER_POD)
    assert not any(_reaches(step, d) for d in _PRIVATE)


def test_only_configure_reaches_public_data_sources() -> None:
    assert all(_reaches("configure", d) for d in _INTERNET[:2])
    assert not _reaches("configure", _INTERNET[2])
    for step in ("publish", "preprocess", "algorithm-launcher"):
        assert not any(_reaches(step, d) for d in _INTERNET), step


@pytest.mark.parametrize("step", ["algorithm", None, "something-else"])
def test_the_algorithm_and_unknown_pods_reach_nothing(step: str | None) -> None:
    # The namespace's default deny: a pod that a step creates with another label is shut too.
    everything = [_DNS, _NODE_LOCAL_DNS, _MINIO, _OTHER_POD, Destination(_API_SERVER, 443)]
    assert not any(_reaches(step, d) for d in [*everything, *_INTERNET, *_PRIVATE])
    deny = _named("NetworkPolicy", "c2d-algorithm-deny-all")["spec"]
    assert not deny.get("ingress") and not deny.get("egress")


def test_the_policy_model_sees_an_open_rule() -> None:
    # The rule the review found (ports 443/6443 with no `to`) opens the whole internet.
    opened = {
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": 443}]}],
        }
    }
    assert egress_allowed([opened], {"c2d/step": "preprocess"}, _INTERNET[1])
