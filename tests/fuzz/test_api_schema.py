"""schemathesis against /openapi.json of a running provider: no 5xx, every error is JSON with a
message. Cases that fit the schema and cases that do not (negative mode) for every operation,
then JSON bodies with hostile values put anywhere (non-finite numbers, huge integers, lone
surrogates, NUL) sent with a valid token, so that they reach the code behind authentication."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server

_SETTINGS = settings(
    max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(Path(tmp_path_factory.mktemp("schema-home")))
    yield process
    process.stop()


def _json_error(status: int, body: Any) -> None:
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body
        assert body["error"], body


def _operations(api: ServerProcess) -> list[Any]:
    schema = schemathesis.openapi.from_url(api.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_5xx_and_errors_are_json(
    api: ServerProcess, mode: GenerationMode
) -> None:
    # schemathesis' pytest plugin predates pytest 9; its strategies are driven by hand here.
    tested = 0
    for operation in _operations(api):

        @_SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: Any) -> None:
            response = case.call(timeout=30)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (where, response.text[:500])
            if response.status_code >= 400:
                _json_error(response.status_code, response.json())

        try:
            call()
        except Unsatisfiable:
            # Nothing can break the schema of an operation without parameters (GET /).
            assert mode == GenerationMode.NEGATIVE, operation.path
            continue
        tested += 1
    assert tested >= 8


# Values JSON can carry (Python's json writes Infinity and NaN) that no field should choke on.
HOSTILE = [
    float("inf"),
    float("-inf"),
    float("nan"),
    10**400,
    -(10**400),
    2**63,
    1e-12,
    0,
    "\ud800",
    "a\x00b",
]
# Fields worth a hostile value even when the generated body left them out.
_EXTRA_PATHS: list[tuple[str | int, ...]] = [
    ("maxJobDuration",),
    ("queueMaxWaitTime",),
    ("resources", 0, "amount"),
    ("validUntil",),
    ("chainId",),
    ("nonce",),
    ("metadata", "note"),
    ("algorithm", "envs", "NAME"),
    ("payment", "resources", 0, "amount"),
    ("payment", "resources"),
]


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _put(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = body
    for step, following in itertools.pairwise(path):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(node, list):
            assert isinstance(step, int)
            while len(node) <= step:
                node.append(copy.deepcopy(empty))
            if not isinstance(node[step], dict | list):
                node[step] = empty
            node = node[step]
        else:
            if not isinstance(node.get(step), dict | list):
                node[step] = empty
            node = node[step]
    last = path[-1]
    if isinstance(node, list):
        assert isinstance(last, int)
        while len(node) <= last:
            node.append(None)
    node[last] = value


@pytest.fixture(scope="module")
def signed_in(api: ServerProcess) -> Iterator[tuple[str, str]]:
    account = Account.create()
    with C2DClient(api.url, account) as client:
        yield account.address, client.login()


def test_hostile_values_anywhere_in_a_body_never_get_a_5xx(
    api: ServerProcess, signed_in: tuple[str, str]
) -> None:
    address, token = signed_in
    posts = [
        op
        for op in _operations(api)
        if op.method.upper() == "POST" and op.path != "/api/services/encrypt"
    ]
    assert len(posts) >= 5
    for operation in posts:
        _send_hostile_bodies(api.url + operation.path, operation.as_strategy(), address, token)


def _send_hostile_bodies(url: str, cases: st.SearchStrategy[Any], address: str, token: str) -> None:
    @settings(_SETTINGS, max_examples=30)
    @given(case=cases, data=st.data())
    def call(case: Any, data: st.DataObject) -> None:
        body = copy.deepcopy(case.body) if isinstance(case.body, dict) else {}
        # Past authentication: the token's address, and an environment that exists.
        for field in ("consumerAddress", "address"):
            if field in body:
                body[field] = address
        if data.draw(st.booleans()):
            body["environment"] = "free"
        path = data.draw(st.sampled_from(_EXTRA_PATHS) | st.sampled_from(_paths(body) or [("x",)]))
        _put(body, path, data.draw(st.sampled_from(HOSTILE)))
        response = httpx.post(
            url,
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": token},
            timeout=30,
        )
        assert response.status_code < 500, (url, path, response.text[:500])
        _json_error(response.status_code, response.json())

    call()
