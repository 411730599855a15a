"""ClusterCache: the jobs' Workflows and algorithm Pods, kept current by list + watch.

One thread per kind lists the objects by label selector (on start, after an expired watch or
an error), then watches from the list's resourceVersion. Status requests read this cache; none
of them calls the cluster. A provider that restarts rebuilds everything from the first list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from workflows.annotations import JOB_ID_LABEL, STEP_LABEL
from workflows.engines.argo.api import ClusterApi, ClusterError, Kind, WatchEvent, WatchExpired

__all__ = ["ClusterCache", "job_id_of"]

_log = logging.getLogger("c2d.engine.argo")
SELECTORS: dict[Kind, str] = {
    "workflows": JOB_ID_LABEL,
    "pods": f"{JOB_ID_LABEL},{STEP_LABEL}=algorithm",
}


def job_id_of(obj: dict[str, Any]) -> str | None:
    labels = obj.get("metadata", {}).get("labels") or {}
    value = labels.get(JOB_ID_LABEL)
    return str(value) if value else None


def _version(obj: dict[str, Any]) -> int:
    try:
        return int(obj.get("metadata", {}).get("resourceVersion", ""))
    except ValueError:
        return -1


class ClusterCache:
    def __init__(
        self,
        api: ClusterApi,
        *,
        watch_timeout: int = 300,
        retry_seconds: float = 2.0,
        on_change: Callable[[Kind, str], None] | None = None,
    ) -> None:
        self._api = api
        self._watch_timeout = watch_timeout
        self._retry_seconds = retry_seconds
        self._on_change = on_change
        self._lock = threading.Lock()
        self._objects: dict[Kind, dict[str, dict[str, Any]]] = {"workflows": {}, "pods": {}}
        self._synced = {kind: threading.Event() for kind in SELECTORS}
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for kind in SELECTORS:
            thread = threading.Thread(
                target=self._follow, args=(kind,), name=f"argo-watch-{kind}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def wait_synced(self, timeout: float) -> bool:
        """True once both kinds have been listed at least once."""
        return all(event.wait(timeout) for event in self._synced.values())

    def get(self, kind: Kind, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._objects[kind].get(job_id)

    def all(self, kind: Kind) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._objects[kind].values())

    def put(self, kind: Kind, obj: dict[str, Any]) -> None:
        """Record an object the engine just created or changed (newer versions win)."""
        job_id = job_id_of(obj)
        if job_id is None:
            return
        with self._lock:
            known = self._objects[kind].get(job_id)
            if known is not None and _version(known) > _version(obj):
                return
            self._objects[kind][job_id] = obj
        self._changed(kind, job_id)

    def close(self) -> None:
        self._closing.set()
        for thread in self._threads:
            thread.join(timeout=0.5)

    # --- the list + watch loop ----------------------------------------------------------------
    def _follow(self, kind: Kind) -> None:
        while not self._closing.is_set():
            try:
                version = self._relist(kind)
                while not self._closing.is_set():
                    version = self._watch(kind, version)
                    # A watch ends at its timeout; go on from where it stopped.
                    self._closing.wait(self._retry_seconds / 20)
            except WatchExpired:
                _log.info("watch of %s expired; listing again", kind)
            except ClusterError as error:
                _log.warning("watching %s failed (%s); retrying", kind, error)
                self._closing.wait(self._retry_seconds)

    def _relist(self, kind: Kind) -> str:
        listing = self._api.list(kind, SELECTORS[kind])
        fresh = {job_id: obj for obj in listing.items if (job_id := job_id_of(obj))}
        with self._lock:
            gone = set(self._objects[kind]) - set(fresh)
            self._objects[kind] = fresh
        self._synced[kind].set()
        for job_id in set(fresh) | gone:
            self._changed(kind, job_id)
        return listing.resource_version

    def _watch(self, kind: Kind, version: str) -> str:
        for event in self._api.watch(kind, SELECTORS[kind], version, self._watch_timeout):
            version = str(event.object.get("metadata", {}).get("resourceVersion") or version)
            if self._closing.is_set():
                break
            self._apply(kind, event)
        return version

    def _apply(self, kind: Kind, event: WatchEvent) -> None:
        if event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return
        job_id = job_id_of(event.object)
        if job_id is None:
            return
        with self._lock:
            if event.type == "DELETED":
                self._objects[kind].pop(job_id, None)
            else:
                self._objects[kind][job_id] = event.object
        self._changed(kind, job_id)

    def _changed(self, kind: Kind, job_id: str) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(kind, job_id)
        except Exception:
            _log.exception("job %s: a cache listener failed", job_id)
