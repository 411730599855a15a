"""ClusterApi: the few cluster calls the Argo engine makes, behind one Protocol.

Two implementations: ``KubernetesApi`` (the Kubernetes API: CustomObjects for Workflows) and
``ArgoServerApi`` (Workflows through the Argo Server, Secrets and Pods still through Kubernetes).
Objects cross this boundary as plain JSON dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["ClusterApi", "ClusterError", "Kind", "Listing", "WatchEvent", "WatchExpired"]

Kind = Literal["workflows", "pods"]


class ClusterError(Exception):
    """A cluster call failed (the message holds no credentials)."""


class WatchExpired(ClusterError):
    """The watch's resourceVersion is too old (HTTP 410): list again."""


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, or BOOKMARK (only its resourceVersion counts)
    object: dict[str, Any]


class ClusterApi(Protocol):
    namespace: str

    def create_secret(
        self, name: str, data: dict[str, str], labels: dict[str, str], kind: str = "Opaque"
    ) -> None:
        """Create a Secret of type ``kind`` in the jobs namespace (``data`` as plain strings)."""
        ...

    def adopt_secret(self, name: str, owner: dict[str, Any]) -> None:
        """Make the Secret owned by ``owner`` (a Workflow), so it goes with it."""
        ...

    def delete_secret(self, name: str) -> None:
        """Delete a Secret; one that is already gone is not an error."""
        ...

    def create_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]: ...

    def delete_workflow(self, name: str) -> None:
        """Delete a Workflow (its pods, claim and owned Secret go with it); gone is no error."""
        ...

    def stop_workflow(self, name: str) -> None:
        """Argo ``stop``: running steps are killed, exit handlers still run."""
        ...

    def annotate_workflow(self, name: str, annotations: dict[str, str]) -> None:
        """Add annotations to a Workflow (the provider's notes on it, e.g. why it stopped it)."""
        ...

    def delete_pod(self, name: str) -> None:
        """Delete a Pod; one that is already gone is not an error."""
        ...

    def list(self, kind: Kind, selector: str) -> Listing: ...

    def watch(
        self, kind: Kind, selector: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[WatchEvent]: ...

    def pod_log(self, name: str, container: str, follow: bool) -> Iterator[bytes]: ...
