"""The operator's routes over HTTP (the real router and error handler, an engine stand-in):
who is refused and how, the security headers, the sign-in cookie, the log's event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from provider.api.errors import install_error_handlers
from provider.environments import default_config
from provider.observability.metrics import Metrics
from provider.ui import routes
from provider.ui.gate import COOKIE
from tests.workflows.support import JOB_ID, make_spec
from workflows.engines.base import JobNotFound, JobState
from workflows.status import JobStatus

TOKEN = "operator-token-0123456789"
HOSTILE_LINE = b"<script>alert(1)</script>\n"


class _Engine:
    def __init__(self) -> None:
        self.state = JobState(spec=make_spec(), status=JobStatus.RUNNING_ALGORITHM)

    def get(self, job_id: str) -> JobState:
        if job_id != JOB_ID:
            raise JobNotFound(f"job {job_id} not found")
        return self.state

    def recent_jobs(self, limit: int) -> list[JobState]:
        return [self.state]

    def active_jobs(self, environment: str) -> int:
        return 1

    def slots(self, environment: str) -> tuple[int, int]:
        return 4, 1

    def queue_depths(self) -> dict[str, int]:
        return {}

    def job_counts(self) -> dict[tuple[str, int], int]:
        return {}


class _Jobs:
    def operator_log(self, job_id: str) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"hello\n"
            yield HOSTILE_LINE

        return chunks()


def _app(tmp_path: Path, token: str | None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, pages={routes.PREFIX: routes.error_page_response})
    app.include_router(routes.router)
    metrics = Metrics(["free"])
    app.state.ui = routes.build_ui(token, metrics)
    app.state.services = SimpleNamespace(
        engine=_Engine(), config=default_config(tmp_path), jobs=_Jobs(), metrics=metrics
    )
    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(_app(tmp_path, TOKEN), follow_redirects=False) as client:
        yield client


def _bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_configured_token_the_page_is_off_and_says_how_to_turn_it_on(
    tmp_path: Path,
) -> None:
    with TestClient(_app(tmp_path, None)) as client:
        for path in ("/ui", f"/ui/jobs/{JOB_ID}"):
            answer = client.get(path, headers=_bearer())
            assert answer.status_code == 404
            assert "C2D_OPERATOR_TOKEN" in answer.text and "docs/ui.md" in answer.text
        assert client.post("/ui/login", data={"token": TOKEN}).status_code == 404


def test_no_token_is_401_with_a_sign_in_form_and_a_wrong_one_403(client: TestClient) -> None:
    for path in (
        "/ui",
        f"/ui/jobs/{JOB_ID}",
        f"/ui/jobs/{JOB_ID}/log",
        f"/ui/jobs/{JOB_ID}/log.txt",
    ):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["content-type"].startswith("text/html")
        assert '<form method="post" action="/ui/login">' in refused.text
        assert "hello" not in refused.text
        assert client.get(path, headers=_bearer("wrong-token-0123456789")).status_code == 403
        assert client.get(path, headers={"Cookie": f"{COOKIE}={TOKEN}"}).status_code == 403


def test_the_page_has_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/ui", headers=_bearer())
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert f'data-job="{JOB_ID}"' in page.text and '<td class="num">1 / 4</td>' in page.text


def test_signing_in_sets_a_session_cookie_that_opens_the_page(client: TestClient) -> None:
    wrong = client.post("/ui/login", data={"token": "not-the-token-at-all"})
    assert wrong.status_code == 403 and COOKIE not in wrong.cookies
    assert client.post("/ui/login", data={"token": TOKEN, "more": "x"}).status_code == 400
    many = "&".join(f"f{n}=x" for n in range(10))
    crowded = client.post("/ui/login", content=many, headers={"Content-Type": "text/plain"})
    assert crowded.status_code == 400 and "one field: token" in crowded.text
    signed_in = client.post("/ui/login", data={"token": TOKEN})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ui"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert TOKEN not in cookie
    session = signed_in.cookies[COOKIE]
    client.cookies.clear()
    assert client.get("/ui", headers={"Cookie": f"{COOKIE}={session}"}).status_code == 200


def test_a_job_page_and_its_log_stream(client: TestClient) -> None:
    page = client.get(f"/ui/jobs/{JOB_ID}", headers=_bearer())
    assert page.status_code == 200
    assert 'data-step="algorithm" data-phase="Running"' in page.text
    assert f'data-stream="/ui/jobs/{JOB_ID}/log"' in page.text
    events = client.get(f"/ui/jobs/{JOB_ID}/log", headers=_bearer())
    assert events.headers["content-type"].startswith("text/event-stream")
    data = [
        json.loads(line.removeprefix("data: "))
        for line in events.text.split("\n")
        if line.startswith("data: ") and line != "data: "
    ]
    assert "".join(data) == "hello\n" + HOSTILE_LINE.decode()
    assert events.text.endswith("event: end\ndata: \n\n")
    text = client.get(f"/ui/jobs/{JOB_ID}/log.txt", headers=_bearer())
    assert text.content == b"hello\n" + HOSTILE_LINE
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["x-content-type-options"] == "nosniff"


def test_unknown_and_malformed_job_ids_are_404_pages(client: TestClient) -> None:
    unknown = client.get(f"/ui/jobs/{'cd' * 16}", headers=_bearer())
    assert unknown.status_code == 404 and "not found" in unknown.text
    hostile = client.get("/ui/jobs/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", headers=_bearer())
    assert hostile.status_code == 404 and "<img" not in hostile.text
    assert "32 hexadecimal digits" in hostile.text


def test_only_the_pages_own_static_files_are_served(client: TestClient) -> None:
    css = client.get("/ui/static/ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    script = client.get("/ui/static/ui.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert "http" not in script.text.replace("https", "")  # nothing fetched from elsewhere
    assert client.get("/ui/static/..%2F..%2Fsettings.py").status_code == 404
    assert client.get("/ui/static/gate.py").status_code == 404


def test_a_short_operator_token_stops_the_provider_with_a_line_that_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from provider.errors import ConfigError
    from provider.settings import load_settings

    monkeypatch.setenv("C2D_OPERATOR_TOKEN", "  tiny-secret  ")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "C2D_OPERATOR_TOKEN" in str(refused.value) and "16 characters" in str(refused.value)
    assert "tiny-secret" not in str(refused.value)  # a token is never echoed
    monkeypatch.setenv("C2D_OPERATOR_TOKEN", f"  {TOKEN}\n")
    token = load_settings().operator_token
    assert token is not None and token.get_secret_value() == TOKEN
