"""One template of the Workflow → what to launch locally: command, env, mounts and limits.

The dispatcher reads the same Workflow JSON the Argo engine submits; only volume sources differ:
each Workflow volume becomes a host folder of the job (or a fresh tmpfs for an ``emptyDir``).
``templateRef``s resolve against the local template library: c2d's own steps (``trusted``, run
with this installation's Python) and the registered publisher templates (``publisher``, run in
the algorithm's sandbox with the runtime of their image, as uid 1000).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from workflows import contract
from workflows.jobfiles import JobFilePath
from workflows.publisher_templates import local_template_library
from workflows.templates import has_template_refs, inline_template_refs

__all__ = [
    "TRUSTED_STEPS",
    "JobVolumes",
    "Mount",
    "StepPlan",
    "admin_log",
    "hand_over_writable_mounts",
    "job_volumes",
    "local_workflow",
    "log_sources",
    "parse_quantity",
    "plan_step",
    "volume_path",
]

# Templates of c2d's own WorkflowTemplates: the only ones that run outside the sandbox.
TRUSTED_STEPS = frozenset({"configure", "publish"})
# The folder of a job's working folder that stands for its data volume.
_DATA_VOLUME = "volume"

# The algorithm's log as publish stores it in result storage.
_STORED_ALGORITHM_LOG = "algorithm.log"
# libyaml's safe loader when present: the pure-Python one takes ~8 ms per algorithm pod.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _manifest(text: str) -> Any:
    """A resource template's manifest: YAML, as Argo reads it. c2d writes JSON (a subset of
    YAML, ``manifest_text``), which the JSON parser reads in a tenth of libyaml's time."""
    try:
        return json.loads(text)
    except ValueError:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)


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


def job_volumes(jobs_dir: Path, job_id: str, results_dir: Path) -> JobVolumes:
    """Where a job's volumes live under the engine's working folder."""
    job_dir = jobs_dir / job_id
    return JobVolumes(data=job_dir / _DATA_VOLUME, spec=job_dir / "spec", results=results_dir)


def volume_path(jobs_dir: Path, job_id: str, contract_path: str) -> Path:
    """The host path of a contract path on the job's data volume (``/data/outputs`` ...)."""
    return jobs_dir / job_id / volume_relative(contract_path)


def volume_relative(contract_path: str) -> str:
    """A contract path on the data volume, relative to the job's working folder."""
    return f"{_DATA_VOLUME}/{contract_path.lstrip('/')}"


def admin_log(jobs_dir: Path, job_id: str, task: str) -> JobFilePath:
    """The log a trusted step (configure, publish) writes on the job's volume."""
    return JobFilePath(jobs_dir / job_id, f"{_DATA_VOLUME}/{contract.SUBPATH_ADMIN}/{task}.log")


def log_sources(jobs_dir: Path, results_dir: Path, job_id: str) -> tuple[JobFilePath, JobFilePath]:
    """The algorithm's log while the job runs, and its copy in result storage afterwards: each
    below a folder only trusted code writes to, for ``workflows.jobfiles`` to open."""
    live = JobFilePath(jobs_dir / job_id, volume_relative(contract.ALGORITHM_LOG))
    return live, JobFilePath(results_dir / job_id, _STORED_ALGORITHM_LOG)


@dataclass(frozen=True)
class Mount:
    target: str
    source: Path | None  # None: a fresh tmpfs
    read_only: bool = False
    size_bytes: int | None = None


@dataclass(frozen=True)
class StepPlan:
    task: str
    kind: Literal["trusted", "algorithm", "publisher"]
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


def local_workflow(workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    """``workflow`` with its ``templateRef``s resolved as in the cluster (local library); as it
    is when none is left (the runner resolves a job's once, then plans each step from it)."""
    if not has_template_refs(workflow):
        return workflow
    return inline_template_refs(workflow, local_template_library())


def plan_step(workflow: Mapping[str, Any], template_name: str, volumes: JobVolumes) -> StepPlan:
    """The plan of one template of ``workflow`` (see ``local_workflow``)."""
    workflow = local_workflow(workflow)
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
    trusted = template["name"] in TRUSTED_STEPS
    limits = container.get("resources", {}).get("limits", {})
    deadline = template.get("activeDeadlineSeconds")
    return StepPlan(
        task=template["name"],
        kind="trusted" if trusted else "publisher",
        argv=tuple(container.get("command", [])) + tuple(container.get("args", [])),
        env={e["name"]: e.get("value", "") for e in container.get("env", [])},
        mounts=mounts,
        working_dir=None if trusted else container.get("workingDir"),
        image=container.get("image", ""),
        deadline_seconds=None if trusted or deadline is None else int(deadline),
        cpus=parse_quantity(limits["cpu"]) if "cpu" in limits else None,
        memory_bytes=int(parse_quantity(limits["memory"])) if "memory" in limits else None,
    )


def hand_over_writable_mounts(plan: StepPlan, uid: int = contract.ALGORITHM_UID) -> None:
    """Let a sandboxed publisher step (uid 1000) write its writable mounts, as in a pod where
    configure itself ran as uid 1000; a no-op unless this process may change owners (root)."""
    if plan.kind != "publisher" or os.geteuid() != 0:
        return
    for mount in plan.mounts:
        if mount.source is None or mount.read_only or not mount.source.exists():
            continue
        os.chown(mount.source, uid, uid)
        for folder, dirs, files in os.walk(mount.source):
            for name in dirs + files:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def _pod_step(template: Mapping[str, Any], volumes: JobVolumes) -> StepPlan:
    resource = template["resource"]
    pod = _manifest(resource["manifest"])
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
