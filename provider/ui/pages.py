"""The operator's pages as HTML: every value from a job, a consumer or the config is escaped
here, and the pages load nothing but the provider's own style sheet and script."""

from __future__ import annotations

import time
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from provider.ui.figures import MetricsSnapshot, Series, Settlement
from provider.ui.models import EnvironmentView, JobView
from provider.ui.svg import bar_chart, dag, duration

__all__ = ["SECURITY_HEADERS", "Overview", "error_page", "job_page", "overview_page"]

# Nothing from anywhere else, no inline script or style, no framing, no form posting away.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Overview:
    environments: list[EnvironmentView]
    jobs: list[JobView] | None  # None: this engine does not list its jobs (a cluster's Argo UI)
    metrics: MetricsSnapshot
    charts: list[Series]
    now: float


def _utc(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(stamp))


def _layout(title: str, body: str, *, refresh: bool = True) -> str:
    # Without JavaScript the page reloads itself; with it, ui.js refreshes the live parts.
    fallback = '<noscript><meta http-equiv="refresh" content="5"></noscript>' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · c2d</title>"
        '<link rel="stylesheet" href="/ui/static/ui.css">'
        f'<script src="/ui/static/ui.js" defer></script>{fallback}</head>'
        f'<body><header><a href="/ui">c2d operator</a></header><main>{body}</main></body></html>'
    )


def _job_link(job_id: str) -> str:
    return f'<a href="/ui/jobs/{quote(job_id, safe="")}">{escape(job_id)}</a>'


def _environments(environments: list[EnvironmentView]) -> str:
    rows = "".join(
        f"<tr><td>{escape(env.id)}</td><td>{escape(env.description)}</td>"
        f"<td>{'free' if env.free else 'paid'}</td>"
        f'<td class="num">{env.running} / {"-" if env.slots is None else env.slots}</td>'
        f'<td class="num">{env.queued}</td></tr>'
        for env in environments
    )
    return (
        '<section id="environments" data-live><h2>Environments</h2><table>'
        "<tr><th>id</th><th>description</th><th>kind</th><th>running / slots</th>"
        f"<th>queued</th></tr>{rows}</table></section>"
    )


def _jobs(jobs: list[JobView] | None) -> str:
    if jobs is None:
        body = "<p>This engine does not list its jobs: the cluster's Argo UI shows them.</p>"
    elif not jobs:
        body = "<p>No jobs yet.</p>"
    else:
        rows = "".join(
            f'<tr class="job" data-job="{escape(job.job_id)}" data-phase="{escape(job.phase)}">'
            f"<td>{_job_link(job.job_id)}</td><td>{escape(job.environment)}</td>"
            f"<td>{job.status} {escape(job.status_text)}</td><td>{_utc(job.created)}</td>"
            f'<td class="num">{escape(duration(job.seconds))}</td><td>{dag(job)}</td></tr>'
            for job in jobs
        )
        body = (
            "<table><tr><th>job</th><th>environment</th><th>status</th><th>created</th>"
            f"<th>duration</th><th>DAG</th></tr>{rows}</table>"
        )
    return f'<section id="jobs" data-live><h2>Jobs</h2>{body}</section>'


def _charts(charts: list[Series]) -> str:
    figures = "".join(
        f"<figure>{bar_chart(series)}<figcaption>{escape(series.title)}</figcaption></figure>"
        for series in charts
    )
    return (
        '<section id="charts" data-live><h2>Metrics</h2>'
        f'<div class="charts">{figures}</div></section>'
    )


def _pairs(rows: list[tuple[str, str]]) -> str:
    """A two-column table of (label, value), both escaped."""
    cells = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in rows
    )
    return f'<table class="figures">{cells}</table>'


def _settlement(settlement: Settlement | None) -> str:
    if settlement is None:
        body = "<p>No paid environment is served: nothing to settle on chain.</p>"
    else:
        body = _pairs(
            [
                ("locked (paid jobs not yet ended)", str(settlement.locked)),
                ("settling (ended, claim not yet through)", str(settlement.settling)),
                ("oldest settling", duration(settlement.oldest_settling_seconds)),
                ("failed claims since start", str(settlement.failures)),
            ]
        )
    return f'<section id="settlement" data-live><h2>Chain settlement backlog</h2>{body}</section>'


def overview_page(overview: Overview) -> str:
    body = (
        _environments(overview.environments)
        + _jobs(overview.jobs)
        + _charts(overview.charts)
        + _settlement(overview.metrics.settlement)
        + f'<p class="sub" id="updated" data-live>as of {_utc(overview.now)}</p>'
    )
    return _layout("operator", body)


def job_page(job: JobView, *, log_limit: int) -> str:
    link = quote(job.job_id, safe="")
    results = "".join(
        f'<tr><td>{escape(kind)}</td><td>{escape(name)}</td><td class="num">{size}</td></tr>'
        for kind, name, size in job.results
    )
    table = _pairs(
        [
            ("status", f"{job.status} {job.status_text}"),
            ("reason", job.reason or "-"),
            ("environment", job.environment),
            ("owner", job.owner),
            ("created", _utc(job.created)),
            ("finished", _utc(job.finished)),
            ("duration", duration(job.seconds)),
        ]
    )
    table += dag(job)
    if results:
        header = "<tr><th>type</th><th>file</th><th>bytes</th></tr>"
        table += f"<h3>Results</h3><table>{header}{results}</table>"
    details = (
        f'<section id="job" data-live data-phase="{escape(job.phase)}">'
        f"<h2>Job {escape(job.job_id)}</h2>{table}</section>"
    )
    log = (
        '<section id="log-section"><h2>Algorithm log</h2>'
        f'<p class="sub">live while the algorithm runs; the first {log_limit // 1024} KiB'
        f' (the whole log: <a href="/ui/jobs/{link}/log.txt">log.txt</a>)</p>'
        f'<pre id="log" data-stream="/ui/jobs/{link}/log"></pre></section>'
    )
    return _layout(f"job {job.job_id}", details + log)


def error_page(status: int, message: str) -> str:
    """A refusal in words; a 401 or 403 offers the sign-in form."""
    form = ""
    if status in (401, 403):
        form = (
            '<form method="post" action="/ui/login"><label>Operator token '
            '<input type="password" name="token" autocomplete="current-password" required>'
            '</label> <button type="submit">Sign in</button></form>'
        )
    body = f'<section id="error"><h2>{status}</h2><p>{escape(message)}</p>{form}</section>'
    return _layout(f"{status}", body, refresh=False)
