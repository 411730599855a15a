"""The Secrets a job needs before its Workflow is created; the Workflow then owns them.

``<workflow>-jobspec`` holds the spec the steps read (never the sealed registry credentials);
``<workflow>-registry``, for a job that brought registry credentials, is the algorithm Pod's
image pull Secret, its ``.dockerconfigjson`` made by the provider (which alone opens them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workflows import contract
from workflows.algorithm_pod import pull_secret_name
from workflows.spec import JobSpec

__all__ = ["PullSecretConfig", "SecretData", "job_secrets"]

# A job's registry credentials as a ``.dockerconfigjson``.
PullSecretConfig = Callable[[JobSpec], str]
# Name → (string data, Secret type).
SecretData = dict[str, tuple[dict[str, str], str]]


def job_secrets(spec: JobSpec, pull_secret: PullSecretConfig | None) -> SecretData:
    spec_file = Path(contract.SPEC_FILE).name
    secrets = {f"{spec.workflow_name}-jobspec": ({spec_file: spec.steps_json()}, "Opaque")}
    name = pull_secret_name(spec)
    if name and pull_secret is not None:
        secrets[name] = ({".dockerconfigjson": pull_secret(spec)}, "kubernetes.io/dockerconfigjson")
    return secrets
