"""After a restart: the unfinished jobs in the order they go back, with crash leftovers cleared."""

from __future__ import annotations

from workflows.engines.local import outcomes as judge
from workflows.engines.local.cgroups import Cgroups
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus

__all__ = ["resumable_jobs"]


def resumable_jobs(store: JobStore, cgroups: Cgroups | None, now: int) -> list[JobRecord]:
    """Jobs that were running first, queued ones after in their order; an algorithm that was
    running is failed (never re-run), and its leftover cgroup is removed."""
    unfinished = store.unfinished()
    unfinished.sort(key=lambda r: r.status == JobStatus.QUEUED)
    records = []
    for record in unfinished:
        if cgroups is not None:
            leftover = cgroups.existing(f"job-{record.spec.job_id}")
            if leftover is not None:
                leftover.remove()
        changes = judge.interrupted(record, now)
        records.append(store.update(record, **changes) if changes else record)
    return records
