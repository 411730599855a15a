"""The provider's Prometheus metrics: jobs, steps, queue, sandbox kills, requests, auth failures,
settlements, the asset index's progress per chain.

Each app gets its own registry (no process-wide state). Job counts, queue depth and the
settlement backlog are read when scraped; the rest are counted as events happen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from workflows.engines.base import JobState
from workflows.engines.local.board import StepEvent
from workflows.status import JobStatus

if TYPE_CHECKING:
    from provider.indexer.store import Cursor
    from provider.payments.settlement import SettlementBacklog

__all__ = ["CONTENT_TYPE", "KILL_REASONS", "IndexProgress", "Metrics", "SettlementSource"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KILL_REASONS = ("oom", "deadline", "stop", "shutdown")
_STEP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


@runtime_checkable
class JobCounter(Protocol):
    """An engine that can count its jobs from memory (the local engine can)."""

    def job_counts(self) -> dict[tuple[str, int], int]: ...

    def queue_depths(self) -> dict[str, int]: ...


@runtime_checkable
class StepSource(Protocol):
    def on_step(self, listener: object) -> None: ...


class _EngineCollector(Collector):
    def __init__(self, engine: JobCounter, environments: Iterable[str]) -> None:
        self._engine = engine
        self._environments = tuple(environments)

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "c2d_jobs",
            "Jobs by environment and status: unfinished ones now, finished ones since created",
            labels=["environment", "status", "code"],
        )
        for (env, code), count in sorted(self._engine.job_counts().items()):
            jobs.add_metric([env, JobStatus(code).name.lower(), str(code)], count)
        yield jobs
        queue = GaugeMetricFamily(
            "c2d_queue_depth", "Jobs waiting for a slot (status 1)", labels=["environment"]
        )
        depths = self._engine.queue_depths()
        for env in sorted({*self._environments, *depths}):
            queue.add_metric([env], depths.get(env, 0))
        yield queue


@runtime_checkable
class ImageStats(Protocol):
    """What the image cache counted (steps/images/cache.py ``CacheStats``)."""

    hits: int
    pulls: int
    fetched_bytes: int
    pull_seconds: float


@runtime_checkable
class ImagePuller(Protocol):
    """An engine that pulls algorithm images (the local engine with registry images)."""

    def image_stats(self) -> ImageStats | None: ...


class _ImageCollector(Collector):
    def __init__(self, engine: ImagePuller) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        stats = self._engine.image_stats()
        if stats is None:
            return
        yield CounterMetricFamily(
            "c2d_image_cache_hits", "Jobs whose image was in the cache", value=stats.hits
        )
        yield CounterMetricFamily(
            "c2d_image_pulls", "Images pulled and unpacked into the cache", value=stats.pulls
        )
        yield CounterMetricFamily(
            "c2d_image_pulled_bytes", "Bytes fetched from registries", value=stats.fetched_bytes
        )
        yield CounterMetricFamily(
            "c2d_image_pull_seconds",
            "Time jobs spent getting their image (pulls and cache hits)",
            value=stats.pull_seconds,
        )


class SettlementSource(Protocol):
    def backlog(self) -> SettlementBacklog: ...


class _SettlementCollector(Collector):
    def __init__(self, settler: SettlementSource) -> None:
        self._settler = settler

    def collect(self) -> Iterator[Metric]:
        backlog = self._settler.backlog()
        yield CounterMetricFamily(
            "c2d_settlement_failures",
            "Escrow claims and releases that failed (each is retried by the next sweep)",
            value=backlog.failures,
        )
        rows = GaugeMetricFamily(
            "c2d_settlements", "Paid jobs not yet settled, by state", labels=["state"]
        )
        rows.add_metric(["locked"], backlog.locked)
        rows.add_metric(["settling"], backlog.settling)
        yield rows
        yield GaugeMetricFamily(
            "c2d_settlement_oldest_settling_seconds",
            "How long the oldest ended paid job has waited for its claim (0: none waits)",
            value=backlog.oldest_settling_seconds,
        )


class IndexProgress(Protocol):
    def progress(self) -> list[Cursor]: ...


class _IndexCollector(Collector):
    def __init__(self, index: IndexProgress) -> None:
        self._index = index

    def collect(self) -> Iterator[Metric]:
        families = {
            "block": GaugeMetricFamily(
                "c2d_index_block", "The last block the asset index holds", labels=["chain"]
            ),
            "head": GaugeMetricFamily(
                "c2d_index_head", "The chain's head when the indexer last read it", labels=["chain"]
            ),
            "behind": GaugeMetricFamily(
                "c2d_index_behind_blocks",
                "Blocks the asset index lags its chain's head",
                labels=["chain"],
            ),
            "failing": GaugeMetricFamily(
                "c2d_index_failing",
                "1 when the last indexing pass failed (see c2d chains)",
                labels=["chain"],
            ),
        }
        for cursor in self._index.progress():
            chain = [str(cursor.chain_id)]
            families["block"].add_metric(chain, cursor.block)
            families["head"].add_metric(chain, cursor.head)
            families["behind"].add_metric(chain, cursor.behind)
            families["failing"].add_metric(chain, 1 if cursor.error else 0)
        yield from families.values()


class Metrics:
    def __init__(self, environments: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._environments = tuple(environments)
        registry = self.registry
        self.jobs_finished = Counter(
            "c2d_jobs_finished",
            "Jobs that ended, by environment and final status",
            ["environment", "status"],
            registry=registry,
        )
        self.step_seconds = Histogram(
            "c2d_step_duration_seconds",
            "Wall-clock time of each Workflow step (configure, algorithm, publish)",
            ["environment", "step", "outcome"],
            buckets=_STEP_BUCKETS,
            registry=registry,
        )
        self.sandbox_kills = Counter(
            "c2d_sandbox_kills",
            "Algorithms killed by the sandbox, by reason (oom, deadline, stop, shutdown)",
            ["environment", "reason"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "c2d_http_request_duration_seconds",
            "HTTP request latency by route (the route's template, not the URL)",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "c2d_http_requests",
            "HTTP requests by route and response status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.auth_failures = Counter(
            "c2d_auth_failures",
            "Requests refused with 401: bad signature, stale nonce or invalid token",
            ["route"],
            registry=registry,
        )
        for env in self._environments:
            for reason in KILL_REASONS:
                self.sandbox_kills.labels(env, reason)

    def watch(self, engine: object) -> None:
        """Follow an engine's events; count its jobs and queue when scraped, if it can."""
        on_finished = getattr(engine, "on_finished", None)
        if on_finished is not None:
            on_finished(self.job_finished)
        if isinstance(engine, StepSource):
            engine.on_step(self.step_ended)
        if isinstance(engine, JobCounter):
            self.registry.register(_EngineCollector(engine, self._environments))
        if isinstance(engine, ImagePuller):
            self.registry.register(_ImageCollector(engine))

    def watch_settlements(self, settler: SettlementSource) -> None:
        """Report the settlement backlog (read from its store when scraped)."""
        self.registry.register(_SettlementCollector(settler))

    def watch_index(self, index: IndexProgress) -> None:
        """Report the asset index's progress per chain (read from its store when scraped)."""
        self.registry.register(_IndexCollector(index))

    def job_finished(self, state: JobState) -> None:
        self.jobs_finished.labels(state.spec.environment, state.status.name.lower()).inc()

    def step_ended(self, event: StepEvent) -> None:
        self.step_seconds.labels(event.environment, event.step, event.outcome.lower()).observe(
            event.seconds
        )
        if event.killed:
            self.sandbox_kills.labels(event.environment, event.killed).inc()

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_seconds.labels(method, route).observe(seconds)
        self.requests.labels(method, route, str(status)).inc()
        if status == 401:
            self.auth_failures.labels(route).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
