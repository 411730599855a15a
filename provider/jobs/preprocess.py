"""Admission of a publisher-defined preprocess step: which template a job runs, or a refusal.

A dataset's compute service names a WorkflowTemplate in ``compute.preprocessTemplate`` (an
extra field Ocean tooling ignores). The provider never runs an arbitrary template a DDO names:

- the environment's operator allow-list (``publisherTemplates``) must list it (else 403);
- a job runs at most one (datasets naming different ones: 400), and that template sees every
  input, so each dataset of the job must name it (a dataset that does not: 403);
- the engine must be able to run it: admission asks ``Engine.check`` (the local engine runs
  only registered templates with a local runtime, workflows/engines/local/capability.py; else
  400 "environment X cannot run template Y"), never a silent difference from the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence

from provider.assets.ddo import Ddo, service_by_id
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest, Forbidden
from workflows.spec import InputSpec

__all__ = ["named_template", "preprocess_template"]


def named_template(spec: InputSpec) -> str | None:
    """The template the input's compute service names (raw inputs name none)."""
    if spec.ddo is None or spec.service_id is None:
        return None
    service = service_by_id(Ddo.model_validate(spec.ddo), spec.service_id)
    return service.compute.preprocess_template if service.compute else None


def preprocess_template(inputs: Sequence[InputSpec], env: EnvironmentConfig) -> str | None:
    """The one preprocess template the job runs, None when no dataset names one."""
    named = [(f"datasets[{i}]", named_template(spec)) for i, spec in enumerate(inputs)]
    chosen = [(label, name) for label, name in named if name]
    if not chosen:
        return None
    first_label, template = chosen[0]
    for label, name in chosen[1:]:
        if name != template:
            raise BadRequest(
                f"{label}: names preprocess template {name}, but {first_label} names"
                f" {template}; a job runs one preprocess template"
            )
    for label, named_one in named:
        if named_one is None:
            raise Forbidden(
                f"{label}: {first_label} requires preprocess template {template}, which would"
                " see this dataset's files too; combine it only with datasets naming the same"
                " template"
            )
    if template not in env.publisher_templates:
        allowed = ", ".join(env.publisher_templates) or "none"
        raise Forbidden(
            f"{first_label}: preprocess template {template} is not allowed in environment"
            f" {env.id} (allowed: {allowed})"
        )
    return template
