"""Labels and annotations a job's Workflow carries: filters in the Argo UI, and the job's view.

The view (``c2d/job``) is the JobSpec without anything secret or bulky — no file URLs or
headers, no code, no DDOs, no user data — so that a provider that restarts can rebuild every
job's status JSON from the cluster alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import ValidationError

from workflows.spec import JobSpec

__all__ = [
    "ENVIRONMENT_LABEL",
    "JOB_ANNOTATION",
    "JOB_ID_LABEL",
    "LABEL_PREFIX",
    "OWNER_LABEL",
    "STEP_LABEL",
    "job_annotations",
    "job_labels",
    "public_spec",
    "spec_from_annotations",
]

LABEL_PREFIX = "c2d"
JOB_ANNOTATION = f"{LABEL_PREFIX}/job"
JOB_ID_LABEL = f"{LABEL_PREFIX}/job-id"
OWNER_LABEL = f"{LABEL_PREFIX}/owner"
ENVIRONMENT_LABEL = f"{LABEL_PREFIX}/environment"
# Which step a pod runs (configure, preprocess, algorithm, ...): network policies select on it.
STEP_LABEL = f"{LABEL_PREFIX}/step"


def job_labels(spec: JobSpec) -> dict[str, str]:
    """Label selectors operators and the provider filter on (values are valid label values)."""
    return {
        JOB_ID_LABEL: spec.job_id,
        OWNER_LABEL: spec.owner.lower(),
        ENVIRONMENT_LABEL: spec.environment,
    }


def public_spec(spec: JobSpec) -> JobSpec:
    """The spec without secrets: what the Workflow may show to anyone who can list it."""
    inputs = tuple(
        i.model_copy(update={"files": (), "ddo": None, "userdata": None}) for i in spec.inputs
    )
    algorithm = spec.algorithm.model_copy(
        update={"files": (), "rawcode": None, "ddo": None, "custom_data": None, "envs": {}}
    )
    return spec.model_copy(
        update={"inputs": inputs, "algorithm": algorithm, "output": None, "registry_auth": None}
    )


def job_annotations(spec: JobSpec) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}/input-dids": json.dumps(spec.input_dids),
        f"{LABEL_PREFIX}/owner": spec.owner,
        f"{LABEL_PREFIX}/created-at": str(spec.created_at),
        JOB_ANNOTATION: public_spec(spec).model_dump_json(),
    }


def spec_from_annotations(annotations: Mapping[str, str]) -> JobSpec | None:
    """The job's public spec, or None when the Workflow is not a c2d job (or was tampered with)."""
    text = annotations.get(JOB_ANNOTATION)
    if text is None:
        return None
    try:
        return JobSpec.model_validate_json(text)
    except ValidationError:
        return None
