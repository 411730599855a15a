"""GET /ui (the overview), /ui/jobs/{id} (a job, its DAG and live log), POST /ui/login.

Every route but the static files checks the operator token first; refusals are typed errors
that the app's one handler renders as a page (``pages.error_page``)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from provider.api.deps import Services, ServicesDep
from provider.errors import BadRequest, NotFound
from provider.observability.metrics import Metrics
from provider.ui.events import log_events
from provider.ui.figures import MetricsHistory, snapshot
from provider.ui.gate import COOKIE, OperatorGate
from provider.ui.models import job_view
from provider.ui.overview import gather
from provider.ui.pages import SECURITY_HEADERS, error_page, job_page, overview_page
from workflows.engines.base import JobNotFound, JobState

__all__ = ["PREFIX", "UiState", "build_ui", "error_page_response", "router", "sample_forever"]

# What the page streams of a log; log.txt serves up to the job's own log limit.
PAGE_LOG_BYTES = 1024 * 1024
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_STATIC = {
    "ui.css": "text/css; charset=utf-8",
    "ui.js": "text/javascript; charset=utf-8",
}

PREFIX = "/ui"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
_log = logging.getLogger("c2d.ui")


@dataclass(frozen=True)
class UiState:
    gate: OperatorGate
    history: MetricsHistory


def build_ui(token: str | None, metrics: Metrics) -> UiState:
    history = MetricsHistory(lambda: snapshot(metrics.registry.collect()), time.time)
    return UiState(gate=OperatorGate(token), history=history)


async def sample_forever(history: MetricsHistory) -> None:
    """Record the figures every interval (the settlement backlog is read from SQLite: off the
    event loop)."""
    while True:
        try:
            await asyncio.to_thread(history.sample)
        except Exception:
            # A figure that cannot be read now (the settlement store busy) is tried next time.
            _log.exception("could not sample the metrics for the operator's page")
        await asyncio.sleep(history.interval)


def _operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> UiState:
    ui: UiState = request.app.state.ui
    bearer = (authorization or "").removeprefix("Bearer ").strip() or None
    ui.gate.check(bearer=bearer, cookie=request.cookies.get(COOKIE))
    return ui


Operator = Annotated[UiState, Depends(_operator)]


def error_page_response(status: int, message: str, headers: Mapping[str, str]) -> HTMLResponse:
    """A refusal under /ui, as a page (the app's error handler calls it): a browser asked."""
    return HTMLResponse(
        error_page(status, message), status_code=status, headers={**SECURITY_HEADERS, **headers}
    )


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _job(services: Services, job_id: str) -> JobState:
    if not _JOB_ID.fullmatch(job_id):
        raise NotFound("a job id is 32 hexadecimal digits")
    try:
        return services.engine.get(job_id)
    except JobNotFound as error:
        raise NotFound(f"job {job_id} not found") from error


@router.get("")
def overview(services: ServicesDep, ui: Operator) -> HTMLResponse:
    # A plain def route: the job store is read in Starlette's thread pool.
    return _page(overview_page(gather(services, ui.history, time.time())))


@router.post("/login")
async def login(request: Request) -> Response:
    ui: UiState = request.app.state.ui
    try:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    except ValueError:
        form = {"": []}  # more fields than the form has
    if set(form) - {"token"}:
        raise BadRequest("the sign-in form has one field: token")
    session = ui.gate.sign_in((form.get("token") or [""])[0])
    answer = RedirectResponse("/ui", status_code=303, headers=SECURITY_HEADERS)
    answer.set_cookie(
        COOKIE,
        session,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.get("/jobs/{job_id}")
def job(services: ServicesDep, ui: Operator, job_id: str) -> HTMLResponse:
    return _page(job_page(job_view(_job(services, job_id), time.time()), log_limit=PAGE_LOG_BYTES))


@router.get("/jobs/{job_id}/log")
def job_log_events(services: ServicesDep, ui: Operator, job_id: str) -> StreamingResponse:
    chunks = services.jobs.operator_log(_job(services, job_id).spec.job_id)
    return StreamingResponse(
        log_events(chunks, PAGE_LOG_BYTES),
        media_type="text/event-stream",
        headers=SECURITY_HEADERS,
    )


@router.get("/jobs/{job_id}/log.txt")
def job_log_text(services: ServicesDep, ui: Operator, job_id: str) -> StreamingResponse:
    chunks: AsyncIterator[bytes] = services.jobs.operator_log(_job(services, job_id).spec.job_id)
    return StreamingResponse(
        chunks, media_type="text/plain; charset=utf-8", headers=SECURITY_HEADERS
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    media_type = _STATIC.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name}")
    body = files("provider.ui").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers=SECURITY_HEADERS)
