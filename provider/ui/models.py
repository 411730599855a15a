"""View models of the operator's page: environments with their slots and queue, jobs with their
DAG. Pure: built from what the engine reports, rendered by ``pages`` and ``svg``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from provider.commands.consumer.steps import job_steps
from provider.environments import EnvironmentConfig
from provider.jobs.render import render_job_public
from workflows.engines.base import JobState
from workflows.status import status_text

__all__ = ["EnvironmentView", "JobView", "StepView", "environment_view", "job_view"]


@dataclass(frozen=True)
class EnvironmentView:
    id: str
    description: str
    free: bool
    slots: int | None  # None: the engine does not say (a cluster's scheduler decides)
    running: int
    queued: int


@dataclass(frozen=True)
class StepView:
    name: str
    phase: str  # Pending, Running, Succeeded, Failed or Skipped
    seconds: float | None  # so far while it runs; None before it starts
    message: str


@dataclass(frozen=True)
class JobView:
    job_id: str
    owner: str
    environment: str
    status: int
    status_text: str
    reason: str
    created: int
    finished: int | None
    seconds: float
    steps: tuple[StepView, ...]
    results: tuple[tuple[str, str, int], ...]  # (type, file name, size)

    @property
    def phase(self) -> str:
        """The job's overall state, as its worst or latest step says."""
        phases = [step.phase for step in self.steps]
        for phase in ("Failed", "Running"):
            if phase in phases:
                return phase
        if self.finished is not None:
            return "Succeeded" if all(p == "Succeeded" for p in phases) else "Skipped"
        return "Pending"


def environment_view(
    env: EnvironmentConfig, active: int, queued: int, slots: tuple[int, int] | None
) -> EnvironmentView:
    """``active``: the environment's unfinished jobs, ``queued`` of them waiting for a slot;
    ``slots``: (slots, running) where the engine schedules them itself."""
    running = slots[1] if slots else max(0, active - queued)
    return EnvironmentView(
        id=env.id,
        description=env.description or "",
        free=env.free is not None,
        slots=slots[0] if slots else None,
        running=running,
        queued=queued,
    )


def job_view(state: JobState, now: float) -> JobView:
    body = render_job_public(state, storage_expiry=0)
    steps = tuple(
        StepView(
            name=step.name,
            phase=step.phase,
            seconds=None if step.start is None else max(0.0, (step.end or now) - step.start),
            message=step.message,
        )
        for step in job_steps(body)
    )
    created = state.spec.created_at
    return JobView(
        job_id=state.spec.job_id,
        owner=state.spec.owner,
        environment=state.spec.environment,
        status=int(state.status),
        status_text=status_text(state.status).strip(),
        reason=state.reason,
        created=created,
        finished=state.date_finished,
        seconds=max(0.0, (state.date_finished or now) - created),
        steps=steps,
        results=tuple((r.type, r.filename, r.filesize) for r in state.results),
    )


def environment_views(
    environments: Iterable[EnvironmentConfig],
    active: Mapping[str, int],
    queued: Mapping[str, int],
    slots: Mapping[str, tuple[int, int]],
) -> list[EnvironmentView]:
    return [
        environment_view(env, active.get(env.id, 0), queued.get(env.id, 0), slots.get(env.id))
        for env in environments
    ]
