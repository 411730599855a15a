"""What the local engine can run: a job it cannot run as asked is refused before it is admitted.

The cluster resolves a publisher template from the WorkflowTemplates the operator installed; this
machine has no cluster, so it runs only templates registered as Python definitions
(workflows/publisher_templates.py) whose image has a local runtime. The sandbox has no network
namespace to share with an algorithm. Every refusal says so, never a silent difference from the
cluster.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflows.engines.base import Unsupported
from workflows.engines.local.runtime import ImageSource, Runtime
from workflows.publisher_templates import REGISTERED, publisher_template_image
from workflows.spec import JobSpec

__all__ = ["algorithm_runtime", "check_local", "pulls_image"]

Runtimes = Mapping[str, Mapping[str, Runtime]]


def check_local(spec: JobSpec, runtimes: Runtimes, images: ImageSource | None = None) -> None:
    """Raise ``Unsupported`` when this machine cannot run ``spec``; ``runtimes``: environment →
    image → the local stand-in for that image; ``images``: what registries may provide."""
    if not pulls_image(spec, runtimes, images):
        algorithm_runtime(spec, runtimes)
        if spec.registry_auth:
            raise Unsupported(
                f"encryptedDockerRegistryAuth: image {spec.algorithm.container.reference} runs"
                f" from this machine's own runtime, nothing is pulled; leave the credentials out"
            )
    if spec.network:
        raise Unsupported("the local engine cannot give an algorithm network access")
    if spec.preprocess_template:
        _check_template(spec.preprocess_template, spec.environment, runtimes)


def pulls_image(spec: JobSpec, runtimes: Runtimes, images: ImageSource | None) -> bool:
    """Whether the algorithm runs in a pulled image: a host runtime of the same name wins (the
    offline demo), then the environment's registry policy decides."""
    if spec.algorithm.container.reference in runtimes.get(spec.environment, {}):
        return False
    return images is not None and images.accepts(spec)


def algorithm_runtime(spec: JobSpec, runtimes: Runtimes) -> Runtime:
    images = runtimes.get(spec.environment, {})
    runtime = images.get(spec.algorithm.container.reference)
    if runtime is None:
        raise Unsupported(
            f"image {spec.algorithm.container.reference} has no local runtime in environment"
            f" {spec.environment}; it offers: {', '.join(images) or 'none'}"
        )
    return runtime


def _check_template(template: str, environment: str, runtimes: Runtimes) -> None:
    image = publisher_template_image(template)
    if image is None:
        registered = ", ".join(REGISTERED) or "none"
        raise Unsupported(
            f"environment {environment} cannot run template {template}: the local engine runs"
            f" only publisher templates registered in workflows/publisher_templates.py"
            f" ({registered})"
        )
    offered = runtimes.get(environment, {})
    if image not in offered:
        raise Unsupported(
            f"environment {environment} cannot run template {template}: its image {image} has"
            f" no local runtime; the environment offers: {', '.join(offered) or 'none'}"
        )
