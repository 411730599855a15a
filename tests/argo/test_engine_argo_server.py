"""The Argo engine through the Argo Server API: every call checked against Argo's swagger."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped]

from tests.argo.conftest import argo_server_api
from tests.argo.fake_cluster import (
    ARGO_EVENTS,
    ARGO_WORKFLOWS,
    SECRETS,
    FakeServer,
    Recorded,
    wait_until,
)
from tests.argo.objects import node, succeeded_workflow, workflow
from tests.argo.schemas import SERVER_OPENAPI_FILE
from tests.workflows.support import did_spec, make_spec
from workflows.dag import StepImages
from workflows.engines.argo import ArgoEngine, workflow_for
from workflows.status import JobStatus

Start = Callable[..., ArgoEngine]
SPEC = did_spec()
NAME = SPEC.workflow_name


@cache
def _swagger() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SERVER_OPENAPI_FILE.read_text())
    return loaded


@cache
def _strict_definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = copy.deepcopy(_swagger()["definitions"])
    for definition in definitions.values():
        if "properties" in definition:
            definition["additionalProperties"] = False
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
    return definitions


def _operation(request: Recorded) -> dict[str, Any]:
    for template, operations in _swagger()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), request.path):
            assert request.method.lower() in operations, f"{request.method} {template}"
            operation: dict[str, Any] = operations[request.method.lower()]
            return operation
    raise AssertionError(f"not an Argo Server path: {request.method} {request.path}")


def _check_against_swagger(request: Recorded) -> None:
    operation = _operation(request)
    parameters = {p["name"]: p for p in operation.get("parameters", [])}
    assert set(request.query) <= {n for n, p in parameters.items() if p["in"] == "query"}, request
    body = parameters.get("body")
    if body is None:
        assert request.body is None
        return
    schema = {"definitions": _strict_definitions(), **body["schema"]}
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in Draft4Validator(schema).iter_errors(request.body)
    ]
    assert errors == [], errors[:5]


def _argo_calls(server: FakeServer) -> list[Recorded]:
    return [
        r
        for r in server.cluster.requests
        if r.path.startswith(("/api/v1/workflows", "/api/v1/workflow-events"))
    ]


def test_jobs_go_through_the_argo_server_and_match_its_api(
    server: FakeServer, start_engine: Start
) -> None:
    engine = start_engine(argo_server_api(server))
    engine.submit(SPEC)
    server.cluster.put("workflows", workflow(SPEC, "Running", [node(NAME, "configure", "Running")]))
    wait_until(lambda: engine.get(SPEC.job_id).status == JobStatus.CONFIGURING_VOLUMES)
    engine.stop(SPEC.job_id)

    calls = _argo_calls(server)
    for call in calls:
        _check_against_swagger(call)
        assert call.headers["Authorization"] == "Bearer t0ken"
    kinds = {(c.method, c.path) for c in calls}
    assert ("GET", ARGO_WORKFLOWS) in kinds  # the list that rebuilds the view
    assert ("GET", ARGO_EVENTS) in kinds  # the watch that keeps it current
    assert ("POST", ARGO_WORKFLOWS) in kinds
    assert ("PUT", f"{ARGO_WORKFLOWS}/{NAME}/stop") in kinds
    create = next(c for c in calls if c.method == "POST")
    assert create.body["workflow"] == workflow_for(SPEC, StepImages(), {})
    listing = next(c for c in calls if c.path == ARGO_WORKFLOWS and c.method == "GET")
    assert listing.query["listOptions.labelSelector"] == ["c2d/job-id"]
    # The spec Secret is no Argo object: it goes to the Kubernetes API.
    assert [c.path for c in server.cluster.calls("POST") if c not in calls] == [SECRETS]


def test_a_restarted_provider_lists_its_jobs_through_the_argo_server(
    server: FakeServer, start_engine: Start
) -> None:
    done = make_spec()
    server.cluster.put(
        "workflows",
        succeeded_workflow(done),
    )
    engine = start_engine(argo_server_api(server))
    (state,) = engine.list_for_owner(done.owner)
    assert state.status == JobStatus.FINISHED
    for call in _argo_calls(server):
        _check_against_swagger(call)


def test_the_swagger_check_catches_a_misspelt_field() -> None:
    bad = Recorded("POST", ARGO_WORKFLOWS, {}, {"workflow": {"metadata": {"nmae": "x"}}}, {})
    try:
        _check_against_swagger(bad)
    except AssertionError as error:
        assert "nmae" in str(error)
    else:
        raise AssertionError("a misspelt field passed")
