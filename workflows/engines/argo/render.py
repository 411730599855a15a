"""The Workflow the Argo engine submits for a job, and what a cluster cannot run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.dag import Placement, StepImages, build_workflow
from workflows.engines.base import Unsupported
from workflows.spec import JobSpec

__all__ = ["check_cluster", "workflow_for"]


def workflow_for(
    spec: JobSpec, images: StepImages, placements: Mapping[str, Placement]
) -> dict[str, Any]:
    """Exactly the Workflow ``ArgoEngine.submit`` creates for ``spec`` (``c2d render`` prints it).

    What the cluster cannot do is refused here, before anything is created.
    """
    check_cluster(spec)
    built: dict[str, Any] = build_workflow(spec, images, placements.get(spec.environment)).to_dict()
    return built


def check_cluster(spec: JobSpec) -> None:
    """Raise ``Unsupported`` for what the cluster cannot run; a publisher template is looked up
    among the WorkflowTemplates the operator installed, so any allowed name may run."""
    if spec.network:
        raise Unsupported(
            "the Argo engine cannot give an algorithm network access:"
            " its pods are selected by a deny-all NetworkPolicy"
        )
