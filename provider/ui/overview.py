"""What the overview page shows, read from the services: environments with their slots and
queue, recent jobs, the metrics. Engines that cannot list jobs or slots (Argo) show less."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from provider.api.deps import Services
from provider.observability.metrics import JobCounter
from provider.ui.figures import STEPS, MetricsHistory, jobs_per_minute, queue_depth, step_durations
from provider.ui.models import environment_views, job_view
from provider.ui.pages import Overview
from workflows.engines.base import JobState

__all__ = ["JobLister", "SlotSource", "gather"]

# Jobs listed on the page besides every unfinished one.
RECENT_JOBS = 50


@runtime_checkable
class JobLister(Protocol):
    def recent_jobs(self, limit: int) -> list[JobState]: ...


@runtime_checkable
class SlotSource(Protocol):
    def slots(self, environment: str) -> tuple[int, int]: ...


def gather(services: Services, history: MetricsHistory, now: float) -> Overview:
    engine = services.engine
    environments = services.config.environments
    depths = engine.queue_depths() if isinstance(engine, JobCounter) else {}
    slots = (
        {env.id: engine.slots(env.id) for env in environments}
        if isinstance(engine, SlotSource)
        else {}
    )
    active = {env.id: engine.active_jobs(env.id) for env in environments}
    jobs = (
        [job_view(state, now) for state in engine.recent_jobs(RECENT_JOBS)]
        if isinstance(engine, JobLister)
        else None
    )
    current = history.sample()
    samples = history.samples()
    charts = [jobs_per_minute(samples, now), queue_depth(samples, now)]
    charts += [step_durations(current, step) for step in STEPS]
    return Overview(
        environments=environment_views(environments, active, depths, slots),
        jobs=jobs,
        metrics=current,
        charts=charts,
        now=now,
    )
