"""ArgoServerApi: Workflows through the Argo Server API (hera's WorkflowsService).

Create, list, stop and terminate go through hera's ``WorkflowsService``; the watch stream
(``/api/v1/workflow-events/{namespace}``, one ``{"result": event}`` JSON object a line) is read
here, since hera has no reader for it. The job spec Secret, the algorithm Pod and its log are
not Argo objects: those calls go to the Kubernetes API (``kube``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import requests
from hera.exceptions import HeraException
from hera.workflows import models as m
from hera.workflows.service import WorkflowsService

from workflows.engines.argo.api import (
    ClusterApi,
    ClusterError,
    Kind,
    Listing,
    WatchEvent,
    WatchExpired,
)

__all__ = ["ArgoServerApi"]


class ArgoServerApi:
    def __init__(
        self, host: str, *, kube: ClusterApi, token: str | None = None, verify: bool = True
    ) -> None:
        self.namespace = kube.namespace
        self._host = host.rstrip("/")
        self._kube = kube
        self._token = token
        self._verify = verify
        self._service = WorkflowsService(host=self._host, token=token, verify_ssl=verify)

    # --- Workflows, through the Argo Server ---------------------------------------------------
    def create_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        request = m.WorkflowCreateRequest(workflow=m.Workflow.model_validate(workflow))
        with _errors("create Workflow"):
            created = self._service.create_workflow(request, namespace=self.namespace)
        return _plain(created)

    def stop_workflow(self, name: str) -> None:
        request = m.WorkflowStopRequest(name=name, namespace=self.namespace)
        with _errors(f"stop Workflow {name}"):
            self._service.stop_workflow(name, request, namespace=self.namespace)

    def list(self, kind: Kind, selector: str) -> Listing:
        if kind != "workflows":
            return self._kube.list(kind, selector)
        with _errors("list workflows"):
            listed = self._service.list_workflows(namespace=self.namespace, label_selector=selector)
        body = _plain(listed)
        return Listing(
            items=list(body.get("items") or []),
            resource_version=str(body.get("metadata", {}).get("resourceVersion", "")),
        )

    def watch(
        self, kind: Kind, selector: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[WatchEvent]:
        if kind != "workflows":
            yield from self._kube.watch(kind, selector, resource_version, timeout_seconds)
            return
        params = {
            "listOptions.labelSelector": selector,
            "listOptions.resourceVersion": resource_version,
            "listOptions.timeoutSeconds": str(timeout_seconds),
        }
        headers = {"Authorization": self._auth()} if self._token else {}
        url = f"{self._host}/api/v1/workflow-events/{self.namespace}"
        timeout = httpx.Timeout(10.0, read=timeout_seconds + 10.0)
        try:
            with httpx.stream(
                "GET", url, params=params, headers=headers, verify=self._verify, timeout=timeout
            ) as response:
                if response.status_code == 410:
                    raise WatchExpired("watch workflows: HTTP 410")
                if response.status_code != 200:
                    raise ClusterError(f"watch workflows: HTTP {response.status_code}")
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line).get("result") or {}
                    yield WatchEvent(type=str(event.get("type")), object=event.get("object", {}))
        except (httpx.HTTPError, ValueError) as error:
            raise ClusterError(f"watch workflows: {type(error).__name__}") from None

    # --- not Argo objects: the Kubernetes API ------------------------------------------------
    def create_secret(
        self, name: str, data: dict[str, str], labels: dict[str, str], kind: str = "Opaque"
    ) -> None:
        self._kube.create_secret(name, data, labels, kind)

    def adopt_secret(self, name: str, owner: dict[str, Any]) -> None:
        self._kube.adopt_secret(name, owner)

    def delete_secret(self, name: str) -> None:
        self._kube.delete_secret(name)

    def delete_workflow(self, name: str) -> None:
        # Deleting is no Argo Server feature c2d needs: the Kubernetes API does it the same.
        self._kube.delete_workflow(name)

    def annotate_workflow(self, name: str, annotations: dict[str, str]) -> None:
        # The Argo Server has no metadata patch; the provider's Role allows it on Workflows.
        self._kube.annotate_workflow(name, annotations)

    def delete_pod(self, name: str) -> None:
        self._kube.delete_pod(name)

    def pod_log(self, name: str, container: str, follow: bool) -> Iterator[bytes]:
        return self._kube.pod_log(name, container, follow)

    def _auth(self) -> str:
        token = self._token or ""
        return token if token.startswith("Bearer ") else f"Bearer {token}"


def _plain(model: Any) -> dict[str, Any]:
    plain: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return plain


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    """hera and transport exceptions → ClusterError with a short message."""
    try:
        yield
    except (HeraException, requests.RequestException) as error:
        raise ClusterError(f"{what}: {type(error).__name__}") from None
