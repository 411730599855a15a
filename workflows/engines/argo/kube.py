"""KubernetesApi: the ClusterApi over the Kubernetes API (the ``kubernetes`` client).

Workflows are ``argoproj.io/v1alpha1`` custom objects; stop and terminate set
``spec.shutdown`` with a merge patch, exactly what ``argo stop``/``argo terminate`` do
without an Argo Server.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines
from urllib3.exceptions import HTTPError

from workflows.engines.argo.api import ClusterError, Kind, Listing, WatchEvent, WatchExpired

__all__ = ["GROUP", "PLURAL", "VERSION", "KubernetesApi"]

GROUP = "argoproj.io"
VERSION = "v1alpha1"
PLURAL = "workflows"
_MERGE_PATCH = "application/merge-patch+json"
_LOG_CHUNK = 64 * 1024


class KubernetesApi:
    def __init__(self, api_client: k8s.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self._custom = k8s.CustomObjectsApi(api_client)
        self._core = k8s.CoreV1Api(api_client)

    def create_secret(
        self, name: str, data: dict[str, str], labels: dict[str, str], kind: str = "Opaque"
    ) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": labels},
            "type": kind,
            "stringData": data,
        }
        with _errors(f"create Secret {name}"):
            self._core.create_namespaced_secret(
                self.namespace,
                body,  # type: ignore[arg-type]
                _preload_content=False,
            )

    def adopt_secret(self, name: str, owner: dict[str, Any]) -> None:
        body = {"metadata": {"ownerReferences": [owner]}}
        with _errors(f"patch Secret {name}"):
            self._core.patch_namespaced_secret(
                name, self.namespace, body, _content_type=_MERGE_PATCH, _preload_content=False
            )

    def delete_secret(self, name: str) -> None:
        with _errors(f"delete Secret {name}"), _gone_is_fine():
            self._core.delete_namespaced_secret(name, self.namespace, _preload_content=False)

    def delete_workflow(self, name: str) -> None:
        with _errors(f"delete Workflow {name}"), _gone_is_fine():
            self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, propagation_policy="Background"
            )

    def create_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        with _errors("create Workflow"):
            created = self._custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, workflow
            )
        result: dict[str, Any] = dict(created)  # type: ignore[call-overload]
        return result

    def stop_workflow(self, name: str) -> None:
        self._merge_patch(name, {"spec": {"shutdown": "Stop"}}, f"stop Workflow {name}")

    def annotate_workflow(self, name: str, annotations: dict[str, str]) -> None:
        body = {"metadata": {"annotations": annotations}}
        self._merge_patch(name, body, f"annotate Workflow {name}")

    def _merge_patch(self, name: str, body: dict[str, Any], what: str) -> None:
        with _errors(what):
            self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, body, _content_type=_MERGE_PATCH
            )

    def delete_pod(self, name: str) -> None:
        try:
            self._core.delete_namespaced_pod(name, self.namespace, _preload_content=False)
        except ApiException as error:
            if error.status != 404:
                raise ClusterError(f"delete Pod {name}: HTTP {error.status}") from None
        except HTTPError as error:
            raise ClusterError(f"delete Pod {name}: {type(error).__name__}") from None

    def list(self, kind: Kind, selector: str) -> Listing:
        with _errors(f"list {kind}"):
            response = self._call(kind, label_selector=selector, _preload_content=False)
            body = json.loads(response.data)
        return Listing(
            items=list(body.get("items") or []),
            resource_version=str(body.get("metadata", {}).get("resourceVersion", "")),
        )

    def watch(
        self, kind: Kind, selector: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[WatchEvent]:
        with _errors(f"watch {kind}"):
            response = self._call(
                kind,
                label_selector=selector,
                watch=True,
                allow_watch_bookmarks=True,
                resource_version=resource_version or None,
                timeout_seconds=timeout_seconds,
                _preload_content=False,
            )
            try:
                for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        if event.get("object", {}).get("code") == 410:
                            raise WatchExpired(f"watch {kind}: resourceVersion expired")
                        raise ClusterError(f"watch {kind}: {event['object'].get('reason')}")
                    yield WatchEvent(type=str(event.get("type")), object=event.get("object", {}))
            finally:
                response.release_conn()

    def pod_log(self, name: str, container: str, follow: bool) -> Iterator[bytes]:
        with _errors(f"read the log of Pod {name}"):
            response: Any = self._core.read_namespaced_pod_log(
                name, self.namespace, container=container, follow=follow, _preload_content=False
            )
            try:
                yield from response.stream(_LOG_CHUNK)
            finally:
                response.release_conn()

    def _call(self, kind: Kind, **query: Any) -> Any:
        if kind == "workflows":
            return self._custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, **query
            )
        return self._core.list_namespaced_pod(self.namespace, **query)


@contextlib.contextmanager
def _gone_is_fine() -> Iterator[None]:
    try:
        yield
    except ApiException as error:
        if error.status != 404:
            raise


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    """Turn client and transport exceptions into ClusterError with a short, safe message."""
    try:
        yield
    except ApiException as error:
        if error.status == 410:
            raise WatchExpired(f"{what}: HTTP 410") from None
        raise ClusterError(f"{what}: HTTP {error.status} {error.reason}") from None
    except (HTTPError, OSError, ValueError) as error:
        raise ClusterError(f"{what}: {type(error).__name__}") from None
