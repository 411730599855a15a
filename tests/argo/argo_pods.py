"""The pods Argo's controller would create for a Workflow's templates (no cluster here).

A model of ``workflow/controller/workflowpod.go`` (``createWorkflowPod``, ``newExecContainer``,
``setupServiceAccount``) and ``operator.go`` (``executeResource``) as read at v3.5.15, v3.6.19
and v3.7.18, reduced to what admission and RBAC look at: containers and their securityContext,
the pod securityContext, service account, token volumes, labels and volumes.

- a container template: an ``init`` and a ``wait`` executor container beside ``main``; each
  executor container gets the controller's executor securityContext (nil in the upstream
  install, ``CONTROLLER_EXECUTOR_SECURITY_CONTEXT``);
- a resource template: ``init`` and ``main`` executor containers with Argo's minimal
  securityContext (``common.MinimalCtrSC``), no ``wait``;
- the pod securityContext is the template's, else the Workflow's; the service account the
  template's, else the Workflow's; ``automountServiceAccountToken: false`` from either;
- an executor service account (template's, else Workflow's) becomes a Secret volume
  ``exec-sa-token`` (its token Secret) mounted into the executor containers only;
- ``podSpecPatch`` (Workflow's, then the template's) merges containers by name, as Kubernetes'
  strategic merge does for ``containers``/``initContainers``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

CONTROLLER_EXECUTOR_SECURITY_CONTEXT: dict[str, Any] | None = None
TOKEN_VOLUME = "exec-sa-token"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
_MINIMAL = {
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "runAsNonRoot": True,
    "runAsUser": 8737,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def token_secret(service_account: str) -> str:
    """util/secrets TokenName: the Secret Argo mounts for an SA with no ``secrets`` listed."""
    return f"{service_account}.service-account-token"


def argo_pod(
    workflow: Mapping[str, Any], template: Mapping[str, Any], labels: Mapping[str, str] = {}
) -> dict[str, Any]:
    """The pod the controller creates for ``template`` (already resolved) of ``workflow``."""
    spec = workflow["spec"]
    resource = "resource" in template
    executor = _executor_container("init", resource)
    containers: list[dict[str, Any]]
    if resource:
        main = _executor_container("main", resource)
        main["securityContext"] = {**main["securityContext"], "readOnlyRootFilesystem": True}
        containers = [main]
    else:
        main = {"name": "main", **copy.deepcopy(template["container"])}
        containers = [_executor_container("wait", resource), main]
    pod_spec: dict[str, Any] = {
        "initContainers": [executor],
        "containers": containers,
        "volumes": [{"name": "var-run-argo", "emptyDir": {}}],
    }
    context = template.get("securityContext") or spec.get("securityContext")
    if context:
        pod_spec["securityContext"] = copy.deepcopy(context)
    account = template.get("serviceAccountName") or spec.get("serviceAccountName")
    if account:
        pod_spec["serviceAccountName"] = account
    automount = template.get("automountServiceAccountToken")
    if automount is None:
        automount = spec.get("automountServiceAccountToken")
    if automount is False:
        pod_spec["automountServiceAccountToken"] = False
    executor_account = (template.get("executor") or {}).get("serviceAccountName") or (
        spec.get("executor") or {}
    ).get("serviceAccountName")
    if executor_account:
        secret = {"secretName": token_secret(executor_account)}
        pod_spec["volumes"].append({"name": TOKEN_VOLUME, "secret": secret})
        for container in [*pod_spec["initContainers"], *containers]:
            if container["name"] in ("init", "wait") or resource:
                container.setdefault("volumeMounts", []).append(
                    {"name": TOKEN_VOLUME, "mountPath": TOKEN_PATH, "readOnly": True}
                )
    elif automount is False:
        raise ValueError("executor.serviceAccountName must not be empty")
    mounted = {m["name"] for c in containers for m in c.get("volumeMounts", [])}
    pod_spec["volumes"] += [v for v in spec.get("volumes", []) if v["name"] in mounted]
    for patch in (spec.get("podSpecPatch"), template.get("podSpecPatch")):
        if patch:
            _merge_pod_spec(pod_spec, json.loads(patch))
    pod_labels = {**labels, **((template.get("metadata") or {}).get("labels") or {})}
    pod_labels.update((spec.get("podMetadata") or {}).get("labels") or {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": template["name"], "labels": pod_labels},
        "spec": pod_spec,
    }


def _executor_container(name: str, resource: bool) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": "quay.io/argoproj/argoexec"}
    context = CONTROLLER_EXECUTOR_SECURITY_CONTEXT
    if resource and context is None:
        context = _MINIMAL
    if context is not None:
        container["securityContext"] = copy.deepcopy(context)
    return container


def _merge_pod_spec(pod_spec: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if key in ("containers", "initContainers"):
            by_name = {c["name"]: c for c in pod_spec.setdefault(key, [])}
            for change in value:
                if change["name"] in by_name:
                    _merge(by_name[change["name"]], change)
                else:
                    pod_spec[key].append(copy.deepcopy(change))
        elif isinstance(value, dict) and isinstance(pod_spec.get(key), dict):
            _merge(pod_spec[key], value)
        else:
            pod_spec[key] = copy.deepcopy(value)


def _merge(base: dict[str, Any], change: Mapping[str, Any]) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
