"""The Argo engine: jobs as Argo Workflows on a Kubernetes cluster (docs/deploy.md)."""

from workflows.engines.argo.api import ClusterApi, ClusterError
from workflows.engines.argo.engine import ArgoEngine
from workflows.engines.argo.kube import KubernetesApi
from workflows.engines.argo.render import check_cluster, workflow_for
from workflows.engines.argo.server import ArgoServerApi

__all__ = [
    "ArgoEngine",
    "ArgoServerApi",
    "ClusterApi",
    "ClusterError",
    "KubernetesApi",
    "check_cluster",
    "workflow_for",
]
