"""Resources and duration of a start request → the job's Limits: below a minimum is raised to
it (as Ocean Node does), above the (free) maximum is refused, and nothing crashes on edge
values."""

from __future__ import annotations

from typing import Any

import pytest

from provider.api.schemas import StartComputeRequest
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest
from provider.jobs.resources import job_limits, resource_amounts

_GIB = 2**30


def _env(**overrides: Any) -> EnvironmentConfig:
    body: dict[str, Any] = {
        "id": "free",
        "maxJobDuration": 600,
        "minJobDuration": 30,
        "resources": [
            {"id": "cpu", "total": 8, "max": 4, "min": 2},
            {"id": "ram", "total": 16, "max": 8, "min": 0.5},
            {"id": "disk", "total": 100, "max": 20, "min": 0},
        ],
        "free": {"maxJobDuration": 300, "resources": [{"id": "disk", "max": 5}]},
        "runtimes": [{"images": ["python:3.11"]}],
        **overrides,
    }
    return EnvironmentConfig.model_validate(body)


def _request(**fields: Any) -> StartComputeRequest:
    return StartComputeRequest.model_validate(
        {
            "consumerAddress": "0x" + "a" * 40,
            "environment": "free",
            "algorithm": {"meta": {"rawcode": "1", "container": {"entrypoint": "x", "image": "x"}}},
            **fields,
        }
    )


def test_amounts_below_the_minimum_are_raised_to_it() -> None:
    amounts = resource_amounts(
        _request(resources=[{"id": "cpu", "amount": 0}, {"id": "ram", "amount": 1e-12}]).resources,
        _env(),
        free=True,
    )
    # cpu and ram to their minimum; disk (minimum 0, not asked for) gets one unit.
    assert amounts == {"cpu": 2, "ram": 0.5, "disk": 1.0}


def test_a_tiny_amount_of_a_resource_without_minimum_still_makes_valid_limits() -> None:
    limits = job_limits(_request(resources=[{"id": "disk", "amount": 1e-12}]), _env(), free=True)
    assert limits.disk_bytes == 2**20 and limits.max_download_bytes == 2**20


def test_above_the_free_maximum_and_duplicates_are_400() -> None:
    with pytest.raises(BadRequest, match="disk 6 exceeds the free maximum 5 of environment free"):
        resource_amounts(
            _request(resources=[{"id": "disk", "amount": 6}]).resources, _env(), free=True
        )
    with pytest.raises(BadRequest, match="resources: cpu is listed twice"):
        resource_amounts(
            _request(resources=[{"id": "cpu", "amount": 2}, {"id": "cpu", "amount": 3}]).resources,
            _env(),
            free=True,
        )


def test_a_minimum_above_the_free_maximum_is_named() -> None:
    env = _env(free={"resources": [{"id": "cpu", "max": 1}]})
    with pytest.raises(BadRequest, match="cpu minimum 2 exceeds the free maximum 1"):
        resource_amounts([], env, free=True)


def test_duration_below_the_minimum_is_raised_and_above_the_maximum_refused() -> None:
    assert job_limits(_request(maxJobDuration=1), _env(), free=True).max_job_duration == 30
    assert job_limits(_request(maxJobDuration=0.5), _env(), free=True).max_job_duration == 30
    assert job_limits(_request(), _env(), free=True).max_job_duration == 300
    with pytest.raises(BadRequest, match="maxJobDuration 301 exceeds the free maximum 300 s"):
        job_limits(_request(maxJobDuration=301), _env(), free=True)
