"""The status poll answered before routing: which requests it takes, and that it hands on the
rest untouched (the route answers those, and every error)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.types import Message, Receive, Scope, Send

from provider.api.routes.compute import STATUS_ROUTE
from provider.api.status_poll import PATH, Poll, StatusPolls, poll_of

OWNER = "0x" + "aB" * 20
JOB = "f" * 32


def _scope(
    query: list[tuple[str, str]] | None = None,
    *,
    method: str = "GET",
    path: str = PATH,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Scope:
    pairs = [("consumerAddress", OWNER), ("jobId", JOB)] if query is None else query
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": urlencode(pairs).encode(),
        "headers": headers or [],
    }


def test_a_plain_poll_is_taken() -> None:
    assert poll_of(_scope()) == Poll(OWNER, JOB, None)
    agreement = [("consumerAddress", OWNER), ("jobId", JOB), ("agreementId", "0xab")]
    assert poll_of(_scope(agreement)) == Poll(OWNER, JOB, "0xab")


@pytest.mark.parametrize("authorization", [b"", b"undefined", b"Bearer undefined", b"null"])
def test_a_header_that_carries_no_token_is_a_plain_poll(authorization: bytes) -> None:
    assert poll_of(_scope(headers=[(b"authorization", authorization)])) is not None


@pytest.mark.parametrize(
    "scope",
    [
        _scope(headers=[(b"authorization", b"Bearer a-token")]),
        _scope(headers=[(b"authorization", b"undefined"), (b"authorization", b"undefined")]),
        _scope(method="POST"),
        _scope(method="HEAD"),
        _scope(path=PATH + "/"),
        _scope([("consumerAddress", OWNER)]),  # all of an owner's jobs
        _scope([("consumerAddress", OWNER), ("jobId", "")]),
        _scope([("consumerAddress", OWNER), ("jobId", "j" * 65)]),
        _scope([("consumerAddress", OWNER), ("jobId", JOB), ("agreementId", "a" * 129)]),
        _scope([("consumerAddress", OWNER[:-1]), ("jobId", JOB)]),
        _scope([("consumerAddress", OWNER + "\n"), ("jobId", JOB)]),
        _scope([("consumerAddress", "0X" + OWNER[2:]), ("jobId", JOB)]),
        _scope([("consumerAddress", OWNER), ("jobId", JOB), ("jobId", "other")]),
        _scope([("consumerAddress", OWNER), ("jobId", JOB), ("unknown", "1")]),
    ],
)
def test_anything_else_is_the_routes(scope: Scope) -> None:
    assert poll_of(scope) is None


class _Jobs:
    def __init__(self, answer: list[dict[str, Any]] | Exception | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str | None]] = []

    async def public_status(
        self, consumer_address: str, job_id: str, agreement_id: str | None
    ) -> list[dict[str, Any]] | None:
        self.asked.append((consumer_address, job_id, agreement_id))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class _Route:
    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"route"})


def _call(middleware: StatusPolls, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


def test_the_poll_is_answered_as_the_route_answers_it() -> None:
    job = [{"jobId": JOB, "status": 70, "statusText": "Job finished"}]
    jobs, route = _Jobs(job), _Route()
    scope = _scope()
    sent = _call(StatusPolls(route, jobs), scope)  # type: ignore[arg-type]
    assert jobs.asked == [(OWNER, JOB, None)] and route.scopes == []
    assert sent[0]["status"] == 200
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == job
    # Counted under the route's template by the metrics around it.
    assert scope["route"] is STATUS_ROUTE


@pytest.mark.parametrize("answer", [None, RuntimeError("the helper has gone")])
def test_what_it_cannot_answer_goes_to_the_route(answer: Exception | None) -> None:
    jobs, route = _Jobs(answer), _Route()
    sent = _call(StatusPolls(route, jobs), _scope())  # type: ignore[arg-type]
    assert len(jobs.asked) == 1 and len(route.scopes) == 1
    assert sent[0]["status"] == 299


def test_other_requests_never_reach_the_jobs() -> None:
    jobs, route = _Jobs([]), _Route()
    _call(StatusPolls(route, jobs), _scope(method="PUT"))  # type: ignore[arg-type]
    assert jobs.asked == [] and len(route.scopes) == 1
