"""The trusted steps as WorkflowTemplates (``templateRef`` targets) and their local resolution.

``configure`` and ``publish`` live in WorkflowTemplates installed by the operator (``argo/`` holds
their YAML, generated from ``step_templates`` and golden-tested); each job's Workflow refers to
them with ``templateRef``. The local engine has no cluster to look them up in, so
``inline_template_refs`` replaces every reference by the very template built here, with the
task's arguments substituted, before the Workflow is walked.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from hera.workflows import models as m
from hera.workflows.container import Container
from hera.workflows.parameter import Parameter
from hera.workflows.workflow_template import WorkflowTemplate

from workflows import contract
from workflows.annotations import STEP_LABEL
from workflows.result_store import RESULT_STORE_REQUIRED_ENV

__all__ = [
    "CONFIGURE_TEMPLATE",
    "JOB_ID_PARAMETER",
    "PUBLISH_TEMPLATE",
    "RESULT_STORE_PARAMETER",
    "RESULT_STORE_SECRET",
    "executor_pod_spec_patch",
    "has_template_refs",
    "inline_template_refs",
    "restricted_security_context",
    "step_pod_security_context",
    "step_template_dicts",
    "step_templates",
]

CONFIGURE_TEMPLATE = "c2d-configure"
PUBLISH_TEMPLATE = "c2d-publish"
JOB_ID_PARAMETER = "job-id"
RESULT_STORE_PARAMETER = "result-store"
_PARAMETER = re.compile(r"\{\{\s*inputs\.parameters\.([A-Za-z0-9_-]+)\s*\}\}")


def restricted_security_context() -> m.SecurityContext:
    """Non-root uid 1000, no privilege escalation, no capabilities, read-only root, seccomp."""
    return m.SecurityContext(
        run_as_non_root=True,
        run_as_user=contract.ALGORITHM_UID,
        run_as_group=contract.ALGORITHM_UID,
        allow_privilege_escalation=False,
        capabilities=m.Capabilities(drop=["ALL"]),
        read_only_root_filesystem=True,
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def step_pod_security_context() -> m.PodSecurityContext:
    """Pod level, for every step pod: uid 1000, and fsGroup so the kubelet-made subPaths (root
    owned, kubelet_pods.go makeMounts) become group-writable; OnRootMismatch skips a re-chown of
    every file when the volume root already matches."""
    return m.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=contract.ALGORITHM_UID,
        run_as_group=contract.ALGORITHM_UID,
        fs_group=contract.ALGORITHM_UID,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def executor_pod_spec_patch() -> str:
    """``podSpecPatch`` of a container template: Argo adds its ``init`` and ``wait`` containers
    with the controller's executor securityContext, nil unless configured (workflowpod.go
    newExecContainer), which PodSecurity "restricted" refuses; this sets theirs. Argo ≥ 3.5
    adds both to every container template, so the patch never creates a container."""
    context = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    patch = {
        "initContainers": [{"name": "init", "securityContext": context}],
        "containers": [{"name": "wait", "securityContext": context}],
    }
    return json.dumps(patch, separators=(",", ":"), sort_keys=True)


RESULT_STORE_SECRET = "c2d-result-store"  # noqa: S105 (a Secret's name)

# publish is the exit handler, which Argo exempts from the Workflow's deadline (workflowpod.go):
# without its own, a hung storage mount would keep the job "publishing" for ever.
_PUBLISH_DEADLINE_SECONDS = 1800


def _mount(
    volume: str, path: str, *, sub_path: str | None = None, read_only: bool = False
) -> m.VolumeMount:
    return m.VolumeMount(
        name=volume, mount_path=path, sub_path=sub_path, read_only=read_only or None
    )


def step_templates(steps_image: str) -> list[WorkflowTemplate]:
    """The two WorkflowTemplates: ``c2d-configure`` (template ``configure``) and ``c2d-publish``.

    Their volume mounts name the volumes every job Workflow declares (the job volume, the spec
    Secret, result storage); the job id arrives as the ``job-id`` parameter.
    """
    configure = Container(
        name="configure",
        image=steps_image,
        command=["python", "-m", "steps.configure"],
        volume_mounts=[
            _mount(contract.VOLUME_DATA, contract.DATA, sub_path=contract.SUBPATH_DATA),
            _mount(contract.VOLUME_DATA, contract.ADMIN_LOGS, sub_path=contract.SUBPATH_ADMIN),
            _mount(contract.VOLUME_SPEC, contract.SPEC_DIR, read_only=True),
        ],
        security_context=restricted_security_context(),
        labels={STEP_LABEL: "configure"},
        pod_spec_patch=executor_pod_spec_patch(),
    )
    publish = Container(
        name="publish",
        image=steps_image,
        command=["python", "-m", "steps.publish"],
        inputs=[
            Parameter(name=JOB_ID_PARAMETER),
            Parameter(name=RESULT_STORE_PARAMETER, default=""),
        ],
        # "required" when the provider serves results from the store: publish then fails
        # (62) rather than leave them on a scratch volume if the Secret below is missing.
        env=[
            m.EnvVar(
                name=RESULT_STORE_REQUIRED_ENV,
                value=f"{{{{inputs.parameters.{RESULT_STORE_PARAMETER}}}}}",
            )
        ],
        volume_mounts=[
            _mount(
                contract.VOLUME_DATA, contract.DATA, sub_path=contract.SUBPATH_DATA, read_only=True
            ),
            _mount(contract.VOLUME_DATA, contract.ADMIN_LOGS, sub_path=contract.SUBPATH_ADMIN),
            _mount(contract.VOLUME_SPEC, contract.SPEC_DIR, read_only=True),
            _mount(
                contract.VOLUME_RESULTS,
                contract.RESULTS,
                sub_path=f"{{{{inputs.parameters.{JOB_ID_PARAMETER}}}}}",
            ),
        ],
        # The result store's address and keys (workflows/result_store.py), when the operator
        # made the Secret; without it publish writes to the result volume only.
        env_from=[
            m.EnvFromSource(secret_ref=m.SecretEnvSource(name=RESULT_STORE_SECRET, optional=True))
        ],
        security_context=restricted_security_context(),
        labels={STEP_LABEL: "publish"},
        pod_spec_patch=executor_pod_spec_patch(),
        active_deadline_seconds=_PUBLISH_DEADLINE_SECONDS,
    )
    labels = {"app.kubernetes.io/part-of": "c2d"}
    built = []
    for name, container in ((CONFIGURE_TEMPLATE, configure), (PUBLISH_TEMPLATE, publish)):
        with WorkflowTemplate(name=name, labels=labels) as template:
            template.templates.append(container)
        built.append(template)
    return built


def step_template_dicts(steps_image: str) -> dict[str, dict[str, Any]]:
    """``step_templates`` as JSON objects, by WorkflowTemplate name."""
    return {t.name or "": t.to_dict() for t in step_templates(steps_image)}


def has_template_refs(workflow: Mapping[str, Any]) -> bool:
    """Whether a DAG task of ``workflow`` (JSON form) still names a ``templateRef``."""
    return any(
        "templateRef" in task
        for template in workflow["spec"]["templates"]
        for task in template.get("dag", {}).get("tasks", [])
    )


def inline_template_refs(
    workflow: Mapping[str, Any], library: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """A copy of ``workflow`` whose DAG tasks name local templates instead of ``templateRef``s.

    Each referenced template is copied from ``library`` (default: ``step_template_dicts`` with
    the default image) under its own name, its ``{{inputs.parameters.x}}`` replaced by the
    task's arguments. A reference to an unknown WorkflowTemplate is a ``ValueError``.
    """
    resolved: dict[str, Any] = copy.deepcopy(dict(workflow))
    templates: list[dict[str, Any]] = resolved["spec"]["templates"]
    known = {t["name"] for t in templates}
    for dag_template in [t for t in templates if "dag" in t]:
        for task in dag_template["dag"]["tasks"]:
            ref = task.pop("templateRef", None)
            if ref is None:
                continue
            found = _referenced(ref, library if library is not None else _default_library())
            arguments = {
                p["name"]: str(p.get("value", ""))
                for p in task.pop("arguments", {}).get("parameters", [])
            }
            inlined = _substitute(found, _parameter_values(found, arguments))
            inlined.pop("inputs", None)
            name = inlined["name"]
            if name in known:
                raise ValueError(f"templateRef {ref['name']}/{name}: a template has that name")
            templates.append(inlined)
            known.add(name)
            task["template"] = name
    return resolved


def _default_library() -> dict[str, dict[str, Any]]:
    return step_template_dicts(contract.STEPS_IMAGE)


def _referenced(ref: Mapping[str, Any], library: Mapping[str, Mapping[str, Any]]) -> Any:
    """The library's own template (shared: never changed; ``_substitute`` builds a new one)."""
    source = library.get(ref["name"])
    if source is None:
        raise ValueError(f"templateRef names an unknown WorkflowTemplate {ref['name']!r}")
    for template in source["spec"]["templates"]:
        if template["name"] == ref["template"]:
            return template
    raise ValueError(f"WorkflowTemplate {ref['name']!r} has no template {ref['template']!r}")


def _parameter_values(template: Mapping[str, Any], arguments: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for parameter in template.get("inputs", {}).get("parameters", []):
        name = parameter["name"]
        if name in arguments:
            values[name] = arguments[name]
        elif "default" in parameter:
            values[name] = str(parameter["default"])
        else:
            raise ValueError(f"template {template['name']!r}: no value for parameter {name!r}")
    return values


def _substitute(node: Any, values: Mapping[str, str]) -> Any:
    """A new copy of ``node`` (JSON data) with its parameters replaced; nothing of it shared."""
    if isinstance(node, str):

        def value(match: re.Match[str]) -> str:
            if match.group(1) not in values:
                raise ValueError(f"unknown parameter {match.group(1)!r}")
            return values[match.group(1)]

        return _PARAMETER.sub(value, node)
    if isinstance(node, list):
        return [_substitute(item, values) for item in node]
    if isinstance(node, dict):
        return {key: _substitute(item, values) for key, item in node.items()}
    return node
