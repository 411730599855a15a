"""One template of the Workflow → what to launch locally: command, env, mounts and limits.

The dispatcher reads the same Workflow JSON the Argo engine submits; only volume sources differ:
each Workflow volume becomes a host folder of the job (or a fresh tmpfs for an ``emptyDir``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from workflows import contract
from workflows.templates import inline_template_refs

__all__ = ["JobVolumes", "Mount", "StepPlan", "parse_quantity", "plan_step"]

_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")
_SUFFIXES = {
    "": 1,
    "m": 0.001,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}


@dataclass(frozen=True)
class JobVolumes:
    """Host folders standing in for the Workflow's volumes."""

    data: Path  # the per-job volume (volumeClaimTemplates "data")
    spec: Path  # the job spec Secret
    results: Path  # the result storage claim


@dataclass(frozen=True)
class Mount:
    target: str
    source: Path | None  # None: a fresh tmpfs
    read_only: bool = False
    size_bytes: int | None = None


@dataclass(frozen=True)
class StepPlan:
    task: str
    kind: Literal["trusted", "algorithm"]
    argv: tuple[str, ...]
    env: dict[str, str]
    mounts: tuple[Mount, ...]
    working_dir: str | None = None
    image: str = ""
    deadline_seconds: int | None = None
    cpus: float | None = None
    memory_bytes: int | None = None


def parse_quantity(value: str | int | float) -> float:
    """A Kubernetes quantity ("1000m", "2Gi", "1073741824") as a number."""
    match = _QUANTITY.match(str(value).strip())
    if match is None or match.group(2) not in _SUFFIXES:
        raise ValueError(f"not a quantity: {value!r}")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def plan_step(workflow: Mapping[str, Any], template_name: str, volumes: JobVolumes) -> StepPlan:
    """The plan of one template; ``templateRef``s to the trusted steps resolve as in the cluster."""
    workflow = inline_template_refs(workflow)
    template = next(t for t in workflow["spec"]["templates"] if t["name"] == template_name)
    if "container" in template:
        return _container_step(workflow, template, volumes)
    if "resource" in template:
        return _pod_step(template, volumes)
    raise ValueError(f"template {template_name!r}: only container and resource templates run here")


def _container_step(
    workflow: Mapping[str, Any], template: Mapping[str, Any], volumes: JobVolumes
) -> StepPlan:
    container = template["container"]
    sources = _workflow_volume_sources(workflow, volumes)
    mounts = tuple(_mount(mount, sources) for mount in container.get("volumeMounts", []))
    return StepPlan(
        task=template["name"],
        kind="trusted",
        argv=tuple(container.get("command", [])) + tuple(container.get("args", [])),
        env={e["name"]: e.get("value", "") for e in container.get("env", [])},
        mounts=mounts,
        image=container.get("image", ""),
    )


def _pod_step(template: Mapping[str, Any], volumes: JobVolumes) -> StepPlan:
    resource = template["resource"]
    pod = yaml.safe_load(resource["manifest"])
    if resource.get("action") != "create" or pod.get("kind") != "Pod":
        raise ValueError(f"template {template['name']!r}: only a created Pod runs here")
    spec = pod["spec"]
    (container,) = spec["containers"]
    sources: dict[str, Path | tuple[None, int | None]] = {}
    for volume in spec.get("volumes", []):
        if "persistentVolumeClaim" in volume:
            sources[volume["name"]] = volumes.data
        elif "emptyDir" in volume:
            limit = volume["emptyDir"].get("sizeLimit")
            sources[volume["name"]] = (None, int(parse_quantity(limit)) if limit else None)
        else:
            raise ValueError(f"pod volume {volume['name']!r}: unsupported volume type")
    limits = container.get("resources", {}).get("limits", {})
    return StepPlan(
        task=template["name"],
        kind="algorithm",
        argv=tuple(container.get("command", [])) + tuple(container.get("args", [])),
        env={e["name"]: e.get("value", "") for e in container.get("env", [])},
        mounts=tuple(_mount(mount, sources) for mount in container.get("volumeMounts", [])),
        working_dir=container.get("workingDir"),
        image=container["image"],
        deadline_seconds=spec.get("activeDeadlineSeconds"),
        cpus=parse_quantity(limits["cpu"]) if "cpu" in limits else None,
        memory_bytes=int(parse_quantity(limits["memory"])) if "memory" in limits else None,
    )


def _workflow_volume_sources(
    workflow: Mapping[str, Any], volumes: JobVolumes
) -> dict[str, Path | tuple[None, int | None]]:
    sources: dict[str, Path | tuple[None, int | None]] = {}
    for claim in workflow["spec"].get("volumeClaimTemplates", []):
        if claim["metadata"]["name"] != contract.VOLUME_DATA:
            raise ValueError(f"volume claim {claim['metadata']['name']!r} is not the job volume")
        sources[contract.VOLUME_DATA] = volumes.data
    for volume in workflow["spec"].get("volumes", []):
        if volume["name"] == contract.VOLUME_SPEC:
            sources[volume["name"]] = volumes.spec
        elif volume["name"] == contract.VOLUME_RESULTS:
            sources[volume["name"]] = volumes.results
        else:
            raise ValueError(f"workflow volume {volume['name']!r} has no local stand-in")
    return sources


def _mount(
    mount: Mapping[str, Any], sources: Mapping[str, Path | tuple[None, int | None]]
) -> Mount:
    source = sources.get(mount["name"])
    if source is None:
        raise ValueError(f"volume mount {mount['name']!r} names no volume")
    read_only = bool(mount.get("readOnly", False))
    if isinstance(source, tuple):
        return Mount(target=mount["mountPath"], source=None, size_bytes=source[1])
    sub_path = mount.get("subPath")
    if sub_path:
        if sub_path.startswith("/") or ".." in Path(sub_path).parts:
            raise ValueError(f"volume mount subPath {sub_path!r} leaves its volume")
        source = source / sub_path
    return Mount(target=mount["mountPath"], source=source, read_only=read_only)
