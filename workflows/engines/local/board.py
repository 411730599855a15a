"""Every job's current record in memory, written through to SQLite, each change announced.

Status reads are served from here: unfinished jobs always live in memory, finished ones are kept
(with their rendered state and result list) in a bounded cache filled from SQLite on a miss.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workflows.engines.base import JobNotFound, JobState, ResultFile
from workflows.engines.local.follow import JobEvents
from workflows.engines.local.store import JobRecord, JobStore
from workflows.manifest import read_manifest

__all__ = ["JobBoard", "StepEvent"]

_FINISHED_CACHE = 10_000


@dataclass(frozen=True)
class StepEvent:
    """One step of a job has ended (for metrics and logs)."""

    job_id: str
    environment: str
    step: str
    seconds: float
    outcome: str
    exit_code: int
    # Why the sandbox killed it: "oom", "deadline", "stop", "shutdown", or "" (it exited).
    killed: str = ""


class JobBoard:
    def __init__(self, store: JobStore, results_dir: Path) -> None:
        self.events = JobEvents()
        self._store = store
        self._results_dir = results_dir
        self._lock = threading.Lock()
        self._live: dict[str, JobRecord] = {}
        self._done: OrderedDict[str, JobState] = OrderedDict()
        self._owners: dict[str, list[str]] = {}
        self._finished: Counter[tuple[str, int]] = Counter(store.finished_counts())

    def add(self, record: JobRecord, *, stored: bool = False) -> None:
        """A new job (``stored``: already in SQLite, e.g. resumed after a restart)."""
        if not stored:
            self._store.insert(record)
        with self._lock:
            self._live[record.spec.job_id] = record
            ids = self._owners.get(record.spec.owner.lower())
            if ids is not None and record.spec.job_id not in ids:
                ids.append(record.spec.job_id)

    def save(self, record: JobRecord, **changes: Any) -> JobRecord:
        """Apply and persist ``changes``; a stop asked for meanwhile is never lost."""
        job_id = record.spec.job_id
        with self._lock:
            current = self._live.get(job_id)
            if current is not None and current.stop_requested:
                changes.setdefault("stop_requested", True)
            record = replace(record, **changes)
            self._store.save(record)
            if record.date_finished is None:
                self._live[job_id] = record
            else:
                self._live.pop(job_id, None)
                self._finished[(record.spec.environment, int(record.status))] += 1
                self._remember(self._render(record))
        self.events.publish(job_id)
        return record

    def request_stop(self, job_id: str) -> JobRecord:
        """Mark an unfinished job as to be stopped (persisted); a finished job is left as is."""
        with self._lock:
            record = self._live.get(job_id)
            if record is not None:
                record = replace(record, stop_requested=True)
                self._store.save(record)
                self._live[job_id] = record
        if record is None:
            return self.record(job_id)
        self.events.publish(job_id)
        return record

    def record(self, job_id: str) -> JobRecord:
        with self._lock:
            record = self._live.get(job_id)
        if record is None:
            record = self._store.get(job_id)
        if record is None:
            raise JobNotFound(f"job {job_id} not found")
        return record

    def state(self, job_id: str) -> JobState:
        with self._lock:
            live = self._live.get(job_id)
            done = self._done.get(job_id)
            if done is not None:
                self._done.move_to_end(job_id)
        if live is not None:
            return self._render(live)
        if done is not None:
            return done
        state = self._render(self.record(job_id))
        if state.date_finished is not None:
            with self._lock:
                self._remember(state)
        return state

    def for_owner(self, owner: str) -> list[JobState]:
        key = owner.lower()
        with self._lock:
            ids = self._owners.get(key)
        if ids is None:
            ids = self._store.ids_for_owner(key)
            with self._lock:
                # Jobs added while SQLite was read are in both lists; keep each once, in order.
                known = self._owners.setdefault(key, ids)
                for job_id, record in self._live.items():
                    if record.spec.owner.lower() == key and job_id not in known:
                        known.append(job_id)
                ids = known
        with self._lock:
            snapshot = list(ids)
        return [self.state(job_id) for job_id in snapshot]

    def forget(self, job_id: str) -> None:
        """Drop the cached view of a finished job (its results were removed at expiry)."""
        with self._lock:
            self._done.pop(job_id, None)
        self.events.publish(job_id)

    def unfinished(self) -> list[JobRecord]:
        with self._lock:
            return list(self._live.values())

    def recent(self, limit: int) -> list[JobState]:
        """Every unfinished job and the last ``limit`` ones created, newest first."""
        stored = [record.spec.job_id for record in self._store.recent(limit)]
        with self._lock:
            live = list(self._live)
        states = [self.state(job_id) for job_id in dict.fromkeys([*live, *stored])]
        return sorted(states, key=lambda state: state.spec.created_at, reverse=True)

    def counts(self) -> dict[tuple[str, int], int]:
        """Jobs per (environment, status): the unfinished ones now, the finished ones ever."""
        with self._lock:
            counts = Counter(self._finished)
            for record in self._live.values():
                counts[(record.spec.environment, int(record.status))] += 1
        return dict(counts)

    def _remember(self, state: JobState) -> None:
        self._done[state.spec.job_id] = state
        self._done.move_to_end(state.spec.job_id)
        while len(self._done) > _FINISHED_CACHE:
            self._done.popitem(last=False)

    def _render(self, record: JobRecord) -> JobState:
        finished = record.date_finished is not None
        return record.as_state(tuple(self._results(record.spec.job_id)) if finished else ())

    def _results(self, job_id: str) -> list[ResultFile]:
        try:
            return list(read_manifest(self._results_dir / job_id))
        except (OSError, ValueError):
            return []
