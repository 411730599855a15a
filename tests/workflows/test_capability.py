"""What the local engine can run (workflows/engines/local/capability.py): admission asks it."""

from __future__ import annotations

import pytest

from tests.workflows.support import make_spec
from workflows.engines.base import Unsupported
from workflows.engines.local.capability import check_local
from workflows.engines.local.runtime import Runtime
from workflows.publisher_templates import publisher_template_image
from workflows.spec import JobSpec

TEMPLATE = "publisher-preprocess-csv"
RUNTIMES = {"local": {"python:3.11": Runtime(), "python:3.11-slim": Runtime()}}


def _with_template(name: str) -> JobSpec:
    return make_spec().model_copy(update={"preprocess_template": name})


def test_a_job_with_a_runtime_and_no_network_runs() -> None:
    check_local(make_spec(), RUNTIMES)
    assert publisher_template_image(TEMPLATE) == "python:3.11-slim"
    check_local(_with_template(TEMPLATE), RUNTIMES)


def test_an_image_without_a_local_runtime_is_refused() -> None:
    with pytest.raises(Unsupported, match=r"3\.11 has no local runtime in environment local"):
        check_local(make_spec(), {"local": {"python:3.12": Runtime()}})
    with pytest.raises(Unsupported, match="it offers: none"):
        check_local(make_spec(), {})


def test_network_access_is_refused() -> None:
    with pytest.raises(Unsupported, match="cannot give an algorithm network access"):
        check_local(make_spec(network=True), RUNTIMES)


def test_a_template_without_local_definition_is_refused() -> None:
    with pytest.raises(Unsupported, match="environment local cannot run template cluster-only"):
        check_local(_with_template("cluster-only"), RUNTIMES)


def test_a_template_whose_image_has_no_runtime_is_refused() -> None:
    only_algorithm = {"local": {"python:3.11": Runtime()}}
    with pytest.raises(Unsupported, match=r"its image python:3\.11-slim has no local runtime"):
        check_local(_with_template(TEMPLATE), only_algorithm)
