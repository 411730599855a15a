"""The operator page's view models and HTML: steps and durations, figures read from a real
metrics registry, the log's events, and every untrusted value escaped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from provider.environments import default_config
from provider.observability.metrics import Metrics
from provider.ui.events import END, log_events
from provider.ui.figures import (
    MetricsHistory,
    Sample,
    jobs_per_minute,
    queue_depth,
    snapshot,
    step_durations,
)
from provider.ui.gate import OperatorGate
from provider.ui.models import environment_view, job_view
from provider.ui.pages import Overview, error_page, job_page, overview_page
from provider.ui.svg import dag
from tests.workflows.support import make_spec
from workflows.engines.base import JobState, ResultFile
from workflows.engines.local.board import StepEvent
from workflows.status import JobStatus

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'
CREATED = 1_700_000_000


def _state(**changes: object) -> JobState:
    spec = make_spec().model_copy(update={"environment": HOSTILE, "owner": HOSTILE})
    fields: dict[str, object] = {"spec": spec, "status": JobStatus.RUNNING_ALGORITHM}
    fields.update(changes)
    return JobState(**fields)  # type: ignore[arg-type]


def _ended(status: JobStatus, **changes: object) -> JobState:
    """A job whose algorithm ran from second 1 to 3 and which ended at second 5."""
    times = {
        "algorithm_started_at": CREATED + 1,
        "algorithm_finished_at": CREATED + 3,
        "date_finished": CREATED + 5,
    }
    return _state(status=status, **times, **changes)


def test_a_running_job_has_its_configure_done_and_its_algorithm_running() -> None:
    job = job_view(_state(algorithm_started_at=CREATED + 4), now=CREATED + 10)
    phases = {step.name: (step.phase, step.seconds) for step in job.steps}
    assert phases == {
        "configure": ("Succeeded", 4.0),
        "algorithm": ("Running", 6.0),
        "publish": ("Pending", None),
    }
    assert job.phase == "Running" and job.seconds == 10.0


def test_a_failed_algorithm_fails_its_step_and_skips_publish() -> None:
    state = _ended(JobStatus.ALGORITHM_FAILED, reason=HOSTILE)
    job = job_view(state, now=CREATED + 99)
    assert [step.phase for step in job.steps] == ["Succeeded", "Failed", "Skipped"]
    assert job.steps[1].message == HOSTILE and job.phase == "Failed"
    assert job.seconds == 5.0


def test_a_finished_job_is_green_end_to_end() -> None:
    state = _ended(JobStatus.FINISHED, results=(ResultFile(HOSTILE, 12, "output", 0),))
    job = job_view(state, now=CREATED + 99)
    assert job.phase == "Succeeded"
    svg = dag(job)
    assert svg.count('data-phase="Succeeded"') == 3 and svg.count('class="step succeeded"') == 3


def test_every_untrusted_value_is_escaped_in_the_pages() -> None:
    state = _ended(
        JobStatus.ALGORITHM_FAILED,
        reason=HOSTILE,
        results=(ResultFile(HOSTILE, 12, "algorithmLog", 0),),
    )
    job = job_view(state, now=CREATED + 9)
    env = default_config(Path("/nonexistent")).environments[0]
    env = env.model_copy(update={"id": HOSTILE, "description": HOSTILE})
    overview = Overview(
        environments=[environment_view(env, active=3, queued=1, slots=(4, 2))],
        jobs=[job],
        metrics=snapshot(Metrics([HOSTILE]).registry.collect()),
        charts=[step_durations(snapshot(Metrics([]).registry.collect()), "algorithm")],
        now=CREATED + 9,
    )
    for html in (overview_page(overview), job_page(job, log_limit=1024), error_page(404, HOSTILE)):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        # The only scripts are the provider's own file; no inline style, nothing from elsewhere.
        assert html.count("<script") == 1 and '<script src="/ui/static/ui.js" defer>' in html
        assert "style=" not in html and "http://" not in html and "https://" not in html
    assert "&amp;amp;" in job_page(job, log_limit=1024)


def test_environment_slots_running_and_queue() -> None:
    env = default_config(Path("/nonexistent")).environments[0]
    scheduled = environment_view(env, active=5, queued=2, slots=(4, 3))
    assert (scheduled.slots, scheduled.running, scheduled.queued) == (4, 3, 2)
    # An engine that does not schedule itself (Argo): running is what is active and not queued.
    cluster = environment_view(env, active=5, queued=2, slots=None)
    assert (cluster.slots, cluster.running) == (None, 3)
    html = overview_page(
        Overview([scheduled], [], snapshot(Metrics([]).registry.collect()), [], now=CREATED)
    )
    assert '<td class="num">3 / 4</td><td class="num">2</td>' in html
    assert "No jobs yet." in html


class _Engine:
    def __init__(self) -> None:
        self.depth = 0

    def job_counts(self) -> dict[tuple[str, int], int]:
        return {}

    def queue_depths(self) -> dict[str, int]:
        return {"free": self.depth}


class _Settler:
    def backlog(self) -> object:
        from provider.payments.settlement import SettlementBacklog

        return SettlementBacklog(failures=2, locked=3, settling=1, oldest_settling_seconds=75.0)


def test_figures_are_read_from_the_metrics_registry() -> None:
    metrics = Metrics(["free"])
    engine = _Engine()
    metrics.watch(engine)
    metrics.watch_settlements(_Settler())
    for seconds in (0.3, 0.4, 7.0):
        metrics.step_ended(StepEvent("j", "free", "algorithm", seconds, "Succeeded", 0))
    engine.depth = 4
    current = snapshot(metrics.registry.collect())
    assert current.queue == {"free": 4}
    assert current.settlement is not None
    assert (current.settlement.locked, current.settlement.settling) == (3, 1)
    assert (current.settlement.failures, current.settlement.oldest_settling_seconds) == (2, 75.0)
    algorithm = step_durations(current, "algorithm")
    bars = dict(zip(algorithm.labels, algorithm.values, strict=True))
    assert bars["≤500ms"] == 2.0 and bars["≤10s"] == 1.0 and sum(bars.values()) == 3.0
    assert algorithm.labels[0] == "≤10ms" and algorithm.labels[-1] == "more"
    assert step_durations(current, "publish").values == ()  # none ended: "nothing yet"
    html = overview_page(Overview([], None, current, [algorithm], now=CREATED))
    assert "the cluster's Argo UI shows them" in html
    assert "<th>oldest settling</th><td>1m15s</td>" in html


def test_no_chain_says_there_is_no_settlement_backlog() -> None:
    current = snapshot(Metrics(["free"]).registry.collect())
    assert current.settlement is None
    html = overview_page(Overview([], [], current, [], now=CREATED))
    assert "nothing to settle on chain" in html


def test_jobs_per_minute_and_queue_depth_from_the_history() -> None:
    now = 60 * 1000 + 30.0
    samples = [
        Sample(now - 200, 0, 0),
        Sample(now - 130, 2, 1),  # two jobs ended two minutes ago, one waited
        Sample(now - 70, 2, 5),
        Sample(now - 40, 7, 2),  # five more in the minute before this one
        Sample(now, 8, 0),
    ]
    ended = jobs_per_minute(samples, now, minutes=4)
    assert ended.values == (0.0, 2.0, 5.0, 1.0)
    assert ended.labels == ("-3m", "-2m", "-1m", "now")
    deepest = queue_depth(samples, now, minutes=4)
    assert deepest.values == (0.0, 1.0, 5.0, 0.0)


def test_the_history_keeps_a_sample_an_interval_and_the_newest_fresh() -> None:
    metrics = Metrics(["free"])
    clock = [1000.0]
    history = MetricsHistory(
        lambda: snapshot(metrics.registry.collect()), lambda: clock[0], interval=5
    )
    finished = metrics.jobs_finished.labels("free", "finished")
    for _ in range(3):  # three jobs end a second apart: the newest reading replaces the last
        clock[0] += 1
        finished.inc()
        history.sample()
    clock[0] += 4
    history.sample()
    assert [(s.at, s.finished) for s in history.samples()] == [
        (1000.0, 0),
        (1003.0, 3),
        (1007.0, 3),
    ]


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _collect(parts: list[bytes], cap: int) -> list[bytes]:
    async def run() -> list[bytes]:
        return [event async for event in log_events(_chunks(parts), cap)]

    return asyncio.run(run())


def test_log_events_are_json_strings_that_no_log_byte_can_break() -> None:
    hostile = b"data: forged\n\nevent: end\r\n\xe2\x82"  # a split euro sign follows
    events = _collect([hostile, b"\xac done\n"], cap=1024)
    assert events[-1] == END
    texts = []
    for event in events[:-1]:
        assert event.startswith(b"data: ") and event.endswith(b"\n\n")
        assert event.count(b"\n") == 2 and b"\r" not in event
        texts.append(json.loads(event[len(b"data: ") : -2]))
    assert "".join(texts) == "data: forged\n\nevent: end\r\n€ done\n"


def test_log_events_stop_at_their_cap_and_say_so() -> None:
    events = _collect([b"a" * 10, b"b" * 10], cap=15)
    texts = [json.loads(event[len(b"data: ") : -2]) for event in events[:-1]]
    assert texts[0] == "a" * 10 and texts[1] == "b" * 5
    assert "first 15 bytes" in texts[2] and events[-1] == END


def test_the_gate_refuses_without_and_with_a_wrong_token() -> None:
    from provider.errors import Forbidden, NotFound, Unauthorized

    gate = OperatorGate("s3cret-operator-token")
    session = gate.sign_in("s3cret-operator-token")
    assert session != "s3cret-operator-token" and len(session) == 64
    gate.check(bearer="s3cret-operator-token", cookie=None)
    gate.check(bearer=None, cookie=session)
    for bearer, cookie, refusal in (
        (None, None, Unauthorized),
        ("wrong", None, Forbidden),
        (None, "s3cret-operator-token", Forbidden),  # the cookie holds the session, not the token
        ("wrong", session, Forbidden),
    ):
        try:
            gate.check(bearer=bearer, cookie=cookie)
        except refusal:
            pass
        else:
            raise AssertionError(f"{bearer!r}, {cookie!r} passed")
    off = OperatorGate(None)
    try:
        off.check(bearer="anything", cookie=None)
    except NotFound as error:
        assert "C2D_OPERATOR_TOKEN" in error.message
    else:
        raise AssertionError("a page without a token passed")
