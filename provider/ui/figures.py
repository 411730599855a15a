"""The figures of ``/metrics`` as chart series: read from the metrics registry (pure), and a
short history of them sampled while the provider runs (jobs per minute and queue depth are
rates and levels over time; the registry holds only their value now)."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client.core import Metric

__all__ = [
    "STEPS",
    "MetricsHistory",
    "MetricsSnapshot",
    "Sample",
    "Series",
    "Settlement",
    "jobs_per_minute",
    "queue_depth",
    "snapshot",
    "step_durations",
]

STEPS = ("configure", "algorithm", "publish")


@dataclass(frozen=True)
class Settlement:
    locked: int
    settling: int
    failures: int
    oldest_settling_seconds: float


@dataclass(frozen=True)
class MetricsSnapshot:
    finished: int  # jobs ended since the provider started
    queue: dict[str, int]  # environment → jobs waiting for a slot
    # step → [(bucket's upper bound in seconds, steps that took at most that and more than the
    # previous bound)]; the last bound is +Inf
    step_buckets: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    settlement: Settlement | None = None  # None: no paid chain is served


@dataclass(frozen=True)
class Sample:
    at: float
    finished: int
    queued: int


@dataclass(frozen=True)
class Series:
    title: str
    unit: str
    labels: tuple[str, ...]
    values: tuple[float, ...]


def _samples(families: Iterable[Metric]) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in families:
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return found


def snapshot(families: Iterable[Metric]) -> MetricsSnapshot:
    """What the page shows of the registry's families (``registry.collect()``)."""
    found = _samples(families)
    queue: dict[str, int] = {}
    for labels, value in found.get("c2d_queue_depth", []):
        queue[labels["environment"]] = int(value)
    cumulative: dict[str, dict[float, float]] = {}
    for labels, value in found.get("c2d_step_duration_seconds_bucket", []):
        bounds = cumulative.setdefault(labels["step"], {})
        bound = float(labels["le"])
        bounds[bound] = bounds.get(bound, 0.0) + value
    step_buckets = {}
    for step, bounds in cumulative.items():
        previous = 0.0
        buckets = []
        for bound in sorted(bounds):
            buckets.append((bound, int(bounds[bound] - previous)))
            previous = bounds[bound]
        step_buckets[step] = buckets
    settlement = None
    if "c2d_settlements" in found:
        states = {labels["state"]: int(value) for labels, value in found["c2d_settlements"]}
        settlement = Settlement(
            locked=states.get("locked", 0),
            settling=states.get("settling", 0),
            failures=int(sum(v for _, v in found.get("c2d_settlement_failures_total", []))),
            oldest_settling_seconds=sum(
                v for _, v in found.get("c2d_settlement_oldest_settling_seconds", [])
            ),
        )
    return MetricsSnapshot(
        finished=int(sum(v for _, v in found.get("c2d_jobs_finished_total", []))),
        queue=queue,
        step_buckets=step_buckets,
        settlement=settlement,
    )


def _bound(seconds: float) -> str:
    if math.isinf(seconds):
        return "more"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s" if seconds < 60 else f"{seconds / 60:g}m"


def step_durations(current: MetricsSnapshot, step: str) -> Series:
    """How many ``step`` steps took up to each bucket's bound (a histogram over all buckets,
    so where the bars stand says how long the steps took)."""
    buckets = current.step_buckets.get(step, [])
    return Series(
        title=f"{step} step durations",
        unit="steps",
        labels=tuple(
            _bound(bound) if math.isinf(bound) else f"≤{_bound(bound)}" for bound, _ in buckets
        ),
        values=tuple(float(count) for _, count in buckets),
    )


def _minutes(count: int) -> tuple[str, ...]:
    return tuple(f"-{count - 1 - index}m" if index < count - 1 else "now" for index in range(count))


def jobs_per_minute(samples: Iterable[Sample], now: float, minutes: int = 30) -> Series:
    """Jobs that ended in each of the last ``minutes`` whole minutes (the last one so far)."""
    start = (math.floor(now / 60) - minutes + 1) * 60
    counts = [0.0] * minutes
    previous: Sample | None = None
    for sample in samples:
        if previous is not None and sample.at >= start:
            index = min(minutes - 1, int((sample.at - start) // 60))
            counts[index] += max(0, sample.finished - previous.finished)
        previous = sample
    return Series(
        title="jobs ended per minute",
        unit="jobs",
        labels=_minutes(minutes),
        values=tuple(counts),
    )


def queue_depth(samples: Iterable[Sample], now: float, minutes: int = 30) -> Series:
    """The deepest queue seen (all environments together) in each of the last ``minutes``."""
    start = (math.floor(now / 60) - minutes + 1) * 60
    depths = [0.0] * minutes
    for sample in samples:
        if sample.at >= start:
            index = min(minutes - 1, int((sample.at - start) // 60))
            depths[index] = max(depths[index], float(sample.queued))
    return Series(
        title="queue depth",
        unit="jobs waiting",
        labels=_minutes(minutes),
        values=tuple(depths),
    )


class MetricsHistory:
    """Samples of the registry's job and queue figures about ``interval`` seconds apart, the
    newest one always fresh, for the last ``keep`` seconds (memory only: a restart starts a new
    history)."""

    def __init__(
        self,
        read: Callable[[], MetricsSnapshot],
        clock: Callable[[], float],
        *,
        interval: float = 5.0,
        keep: float = 3600.0,
    ) -> None:
        self._read = read
        self._clock = clock
        self._interval = interval
        self._samples: deque[Sample] = deque(maxlen=max(2, int(keep / interval) + 1))
        self._lock = threading.Lock()
        # The baseline: jobs that end from now on are counted in the minute they end.
        self.sample()

    @property
    def interval(self) -> float:
        return self._interval

    def sample(self) -> MetricsSnapshot:
        """The registry's figures now, recorded as the newest sample."""
        current = self._read()
        now = self._clock()
        fresh = Sample(now, current.finished, sum(current.queue.values()))
        with self._lock:
            samples = self._samples
            if len(samples) >= 2 and now - samples[-2].at < self._interval:
                samples[-1] = fresh  # the newest reading stands in for the whole interval
            else:
                samples.append(fresh)
        return current

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)
