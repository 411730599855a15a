"""ArgoEngine: every job submitted as an Argo Workflow; its state read from a watch-fed cache.

The provider keeps no job database in this mode: a Workflow carries the job's labels and its
public spec (``workflows.annotations``), so a restarted provider lists them and knows every job
again. Results are read where the ``publish`` step wrote them: the result store on S3 when the
provider has one (``result_reader``), else the ``c2d-results`` volume mounted at ``results_dir``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from workflows.annotations import ENVIRONMENT_LABEL, OWNER_LABEL, spec_from_annotations
from workflows.dag import Placement, StepImages
from workflows.engines.argo.api import ClusterApi, ClusterError, Kind
from workflows.engines.argo.cache import ClusterCache
from workflows.engines.argo.job_secrets import PullSecretConfig, job_secrets
from workflows.engines.argo.render import check_cluster, workflow_for
from workflows.engines.argo.results import ClusterResults
from workflows.engines.argo.status_map import image_pull_failure, is_finished, map_status
from workflows.engines.argo.watchdog import UnschedulableWatchdog
from workflows.engines.base import (
    EngineError,
    JobNotFound,
    JobState,
    RemoteResult,
    ResultFile,
    ResultReader,
    StoredResult,
    Unsupported,
)
from workflows.jobfiles import truncated_note
from workflows.spec import JobSpec

__all__ = ["ArgoEngine"]

_log = logging.getLogger("c2d.engine.argo")
_LOG_CHUNK = 64 * 1024


class ArgoEngine:
    def __init__(
        self,
        api: ClusterApi,
        *,
        results_dir: Path,
        images: StepImages | None = None,
        placements: Mapping[str, Placement] | None = None,
        watch_timeout: int = 300,
        retry_seconds: float = 2.0,
        sync_timeout: float = 30.0,
        result_reader: ResultReader | None = None,
        unschedulable_deadline: float = 600.0,
        watchdog_interval: float = 30.0,
        pull_secret: PullSecretConfig | None = None,
    ) -> None:
        self._api = api
        self._stored = ClusterResults(results_dir, result_reader)
        # A job's registry credentials as a ``.dockerconfigjson`` (the provider opens them).
        self._pull_secret = pull_secret
        self._images = images or StepImages()
        self._placements = dict(placements or {})
        self._lock = threading.Lock()
        self._listeners: list[Callable[[JobState], None]] = []
        self._finished: set[str] = set()
        self._pull_stopped: set[str] = set()
        # Algorithm Pods (by uid) this provider deleted, on stop or found orphaned: once each.
        self._pod_deleted: set[str] = set()
        self._cache = ClusterCache(
            api, watch_timeout=watch_timeout, retry_seconds=retry_seconds, on_change=self._changed
        )
        self._cache.start()
        if not self._cache.wait_synced(sync_timeout):
            self._cache.close()
            raise EngineError(f"cannot list the jobs in namespace {api.namespace}")
        self._watchdog = UnschedulableWatchdog(
            api, self._cache, deadline=unschedulable_deadline, interval=watchdog_interval
        )
        self._watchdog.start()

    @property
    def description(self) -> str:
        return f"Argo Workflows in namespace {self._api.namespace}"

    def workflow_for(self, spec: JobSpec) -> dict[str, Any]:
        return workflow_for(spec, self._images, self._placements)

    # --- Engine protocol ----------------------------------------------------------------------
    def check(self, spec: JobSpec) -> None:
        check_cluster(spec)
        if spec.registry_auth and self._pull_secret is None:
            raise Unsupported(
                "encryptedDockerRegistryAuth: this provider cannot make image pull Secrets"
            )

    def submit(self, spec: JobSpec) -> JobState:
        self.check(spec)
        workflow = self.workflow_for(spec)
        secrets = job_secrets(spec, self._pull_secret)
        labels = dict(workflow["metadata"]["labels"])
        made: list[str] = []
        try:
            for name, (data, kind) in secrets.items():
                self._api.create_secret(name, data, labels, kind)
                made.append(name)
        except ClusterError as error:
            self._undo(spec, made, workflow_created=False)
            raise EngineError(f"the cluster refused the job: {error}") from error
        try:
            created = self._api.create_workflow(workflow)
        except ClusterError as error:
            self._undo(spec, made, workflow_created=False)
            raise EngineError(f"the cluster refused the job: {error}") from error
        uid = created.get("metadata", {}).get("uid")
        try:
            if uid:
                owner = {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Workflow",
                    "name": spec.workflow_name,
                    "uid": uid,
                }
                for name in made:
                    self._api.adopt_secret(name, owner)
        except ClusterError as error:
            # A job the API calls refused must not run: take the Workflow back, and the Secrets
            # that no owner would ever collect (owner-reference enforcement refuses the patch
            # without delete on Secrets).
            self._undo(spec, made, workflow_created=True)
            raise EngineError(f"the cluster refused the job: {error}") from error
        self._cache.put("workflows", created)
        return self.get(spec.job_id)

    def get(self, job_id: str) -> JobState:
        workflow = self._cache.get("workflows", job_id)
        state = self._state(workflow) if workflow is not None else None
        if state is None:
            raise JobNotFound(f"job {job_id} not found")
        return state

    async def get_async(self, job_id: str) -> JobState:
        # The watch cache's lock is shared with the threads that fill it.
        return await asyncio.to_thread(self.get, job_id)

    def list_for_owner(self, owner: str) -> list[JobState]:
        wanted = owner.lower()
        states = (
            self._state(w) for w in self._cache.all("workflows") if _label(w, OWNER_LABEL) == wanted
        )
        return sorted((s for s in states if s), key=lambda s: s.spec.created_at)

    def active_jobs(self, environment: str) -> int:
        return sum(
            1
            for w in self._cache.all("workflows")
            if _label(w, ENVIRONMENT_LABEL) == environment and not is_finished(w)
        )

    def unfinished(self, environment: str) -> list[JobState]:
        states = (
            self._state(w)
            for w in self._cache.all("workflows")
            if _label(w, ENVIRONMENT_LABEL) == environment and not is_finished(w)
        )
        return [s for s in states if s is not None]

    def stop(self, job_id: str) -> JobState:
        state = self.get(job_id)
        if state.date_finished is None:
            self._halt(state.spec)
        return self.get(job_id)

    def result(self, job_id: str, index: int) -> StoredResult | RemoteResult:
        for file in self._results(self.get(job_id)):
            if file.index == index:
                return self._stored.stored(job_id, file)
        raise JobNotFound(f"job {job_id} has no result {index}")

    async def algorithm_log(self, job_id: str) -> AsyncIterator[bytes]:
        state = self.get(job_id)
        cap = state.spec.limits.log_bytes
        if state.date_finished is not None:
            async for chunk in self._stored.algorithm_log(job_id, cap):
                yield chunk
            return
        stream = self._api.pod_log(f"{state.spec.workflow_name}-algorithm", "algorithm", True)
        sent = 0
        while sent < cap:
            chunk = await asyncio.to_thread(_next_chunk, stream)
            if not chunk:
                return
            chunk = chunk[: cap - sent]
            sent += len(chunk)
            yield chunk
        yield truncated_note(cap)

    def on_finished(self, listener: Callable[[JobState], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        self._watchdog.close()
        self._cache.close()

    # --- helpers ------------------------------------------------------------------------------
    def _undo(self, spec: JobSpec, secrets: list[str], *, workflow_created: bool) -> None:
        try:
            if workflow_created:
                self._api.delete_workflow(spec.workflow_name)
            for secret in secrets:
                self._api.delete_secret(secret)
        except ClusterError as error:
            _log.error("job %s: cannot take back what was created: %s", spec.job_id, error)

    def _halt(self, spec: JobSpec) -> None:
        """Argo ``stop``, and delete the algorithm Pod: the Workflow owns it (garbage
        collection), but Argo's stop acts only on its own pods, so it would keep running."""
        pod = self._cache.get("pods", spec.job_id)
        with self._lock:
            self._pod_deleted.add(_uid(pod))
        try:
            self._api.stop_workflow(spec.workflow_name)
            self._api.delete_pod(f"{spec.workflow_name}-algorithm")
        except ClusterError as error:
            raise EngineError(f"cannot stop job {spec.job_id}: {error}") from error

    def _state(self, workflow: dict[str, Any]) -> JobState | None:
        spec = spec_from_annotations(workflow.get("metadata", {}).get("annotations") or {})
        if spec is None:
            return None
        state = map_status(spec, workflow, self._cache.get("pods", spec.job_id))
        if state.date_finished is None:
            return state
        return state.as_state(tuple(self._results(state)))

    def _results(self, state: JobState) -> list[ResultFile]:
        if state.date_finished is None:
            return []
        return self._stored.files(state.spec.job_id)

    def _changed(self, kind: Kind, job_id: str) -> None:
        workflow = self._cache.get("workflows", job_id)
        if workflow is None:
            return
        self._delete_orphaned_pod(job_id, workflow)
        if kind == "pods":
            self._stop_on_pull_failure(job_id, workflow)
            return
        if not is_finished(workflow):
            return
        with self._lock:
            if job_id in self._finished:
                return
            self._finished.add(job_id)
            listeners = list(self._listeners)
        state = self._state(workflow)
        for listener in listeners if state else ():
            try:
                listener(state)  # type: ignore[arg-type]
            except Exception:
                _log.exception("job %s: a finish listener failed", job_id)

    def _delete_orphaned_pod(self, job_id: str, workflow: dict[str, Any]) -> None:
        """Delete an algorithm Pod still pending or running when its Workflow is stopped or over.

        Argo does not act on the Pod a ``resource`` template created; ``stop`` deletes it, but
        a launcher that creates it after the stop, or dies (Workflow over, Pod running), leaves
        it holding its node and the job volume until its own deadline.
        """
        pod = self._cache.get("pods", job_id)
        if pod is None or (pod.get("status") or {}).get("phase") not in ("Pending", "Running"):
            return
        if not is_finished(workflow) and not (workflow.get("spec") or {}).get("shutdown"):
            return
        # A Pod whose image cannot be pulled runs nothing and names the error in the status.
        if (pod.get("metadata") or {}).get("deletionTimestamp") or image_pull_failure(pod):
            return
        with self._lock:
            if _uid(pod) in self._pod_deleted:
                return
            self._pod_deleted.add(_uid(pod))
        _log.info("job %s: deleting the algorithm pod its Workflow no longer follows", job_id)
        with contextlib.suppress(ClusterError):
            self._api.delete_pod(f"{workflow['metadata']['name']}-algorithm")

    def _stop_on_pull_failure(self, job_id: str, workflow: dict[str, Any]) -> None:
        # A Pod whose image cannot be pulled waits forever; end the job (status 32) instead.
        if is_finished(workflow) or image_pull_failure(self._cache.get("pods", job_id)) is None:
            return
        with self._lock:
            if job_id in self._pull_stopped:
                return
            self._pull_stopped.add(job_id)
        # The Pod stays (it runs nothing) so that the final status can name the pull error.
        _log.info("job %s: the algorithm image cannot be pulled; stopping", job_id)
        with contextlib.suppress(ClusterError):
            self._api.stop_workflow(str(workflow["metadata"]["name"]))


def _uid(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("uid", ""))


def _label(workflow: Mapping[str, Any], name: str) -> str | None:
    labels = workflow.get("metadata", {}).get("labels") or {}
    value = labels.get(name)
    return None if value is None else str(value)


def _next_chunk(stream: Iterator[bytes]) -> bytes:
    """The next chunk, or b"" at the end of the stream (or when the cluster stops answering)."""
    try:
        return next(stream)
    except (StopIteration, ClusterError):
        return b""
