"""After a restart: the unfinished jobs in the order they go back, with crash leftovers cleared
and the disks of interrupted algorithms mounted again."""

from __future__ import annotations

import logging
from pathlib import Path

from workflows import contract
from workflows.engines.local import outcomes as judge
from workflows.engines.local.cgroups import Cgroups
from workflows.engines.local.dispatcher import volume_path
from workflows.engines.local.quota import DiskQuotas
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus

__all__ = ["resumable_jobs"]

_log = logging.getLogger("c2d.engine")


def resumable_jobs(
    store: JobStore,
    now: int,
    jobs_dir: Path,
    *,
    cgroups: Cgroups | None,
    quotas: DiskQuotas | None,
) -> list[JobRecord]:
    """Jobs that were running first, queued ones after in their order; an algorithm that was
    running is failed (never re-run), its leftover cgroup is removed and its disk mounted."""
    unfinished = store.unfinished()
    unfinished.sort(key=lambda r: r.status == JobStatus.QUEUED)
    records = []
    for record in unfinished:
        if cgroups is not None:
            leftover = cgroups.existing(f"job-{record.spec.job_id}")
            if leftover is not None:
                leftover.remove()
        if quotas is not None:
            _restore_disk(quotas, jobs_dir, record.spec.job_id)
        changes = judge.interrupted(record, now)
        records.append(store.update(record, **changes) if changes else record)
    return records


def _restore_disk(quotas: DiskQuotas, jobs_dir: Path, job_id: str) -> None:
    """What the algorithm wrote is on its disk image, unmounted when the provider stopped (or by
    a reboot): mounted again, publish stores it, and the job's end releases it."""
    outputs = volume_path(jobs_dir, job_id, contract.OUTPUTS)
    logs = volume_path(jobs_dir, job_id, contract.LOGS)
    try:
        quotas.restore(jobs_dir / job_id, outputs, logs)
    except OSError:
        _log.exception("the disk of job %s could not be mounted again", job_id)
