"""A job whose algorithm Pod no node can take ends with a reason, instead of showing "running"
until the Workflow's deadline (``maxJobDuration + 3600`` s; the Pod's own deadline starts only
once it runs).

Every ``interval`` seconds, each algorithm Pod the scheduler has called unschedulable for more
than ``deadline`` seconds gets its Workflow annotated with the scheduler's message (the job's
reason, status 32), the Workflow stopped (publish still stores the logs) and the Pod deleted,
so that it never starts late. A condition's time comes from the API server, so a replica's
clock only decides when to look.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from workflows.engines.argo.api import ClusterApi, ClusterError
from workflows.engines.argo.cache import ClusterCache
from workflows.engines.argo.status_map import STOP_REASON_ANNOTATION, is_finished, unschedulable

__all__ = ["UnschedulableWatchdog"]

_log = logging.getLogger("c2d.engine.argo")


class UnschedulableWatchdog:
    def __init__(
        self,
        api: ClusterApi,
        cache: ClusterCache,
        *,
        deadline: float,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api = api
        self._cache = cache
        self._deadline = deadline
        self._interval = interval
        self._clock = clock
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="argo-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=0.5)

    def check(self) -> list[str]:
        """One pass; the job ids whose Workflows it stopped."""
        stopped = []
        for pod in self._cache.all("pods"):
            job_id = ((pod.get("metadata") or {}).get("labels") or {}).get("c2d/job-id")
            workflow = self._cache.get("workflows", str(job_id)) if job_id else None
            found = unschedulable(pod)
            if workflow is None or found is None or is_finished(workflow):
                continue
            since, message = found
            waited = self._clock() - since
            if waited < self._deadline or (workflow.get("spec") or {}).get("shutdown"):
                continue
            name = str(workflow["metadata"]["name"])
            reason = f"the algorithm pod could not be scheduled for {int(waited)} s: {message}"
            _log.info("job %s: %s; stopping", job_id, reason)
            with contextlib.suppress(ClusterError):
                self._api.annotate_workflow(name, {STOP_REASON_ANNOTATION: reason})
                self._api.stop_workflow(name)
                self._api.delete_pod(f"{name}-algorithm")
                stopped.append(str(job_id))
        return stopped

    def _run(self) -> None:
        while not self._closing.wait(self._interval):
            try:
                self.check()
            except Exception:
                _log.exception(
                    "the unschedulable-pod watchdog failed; next in %s s", self._interval
                )
