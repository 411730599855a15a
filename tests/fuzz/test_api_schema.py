"""schemathesis against /openapi.json of a running provider: no 5xx, every error is JSON with a
message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from devkit.launch import ServerProcess, start_server


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(Path(tmp_path_factory.mktemp("schema-home")))
    yield process
    process.stop()


def _json_error(response: Any) -> None:
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body
        assert body["error"], body


def test_no_request_gets_a_5xx_and_errors_are_json(api: ServerProcess) -> None:
    # schemathesis' pytest plugin predates pytest 9; its strategies are driven by hand here.
    schema = schemathesis.openapi.from_url(api.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(timeout=30)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (where, response.text[:500])
            _json_error(response)

        call()
