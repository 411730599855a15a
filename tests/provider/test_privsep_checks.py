"""The sandbox helper's own checks (provider/privsep/checks.py, user.py): pure, no root."""

from __future__ import annotations

import re

import pytest

from provider.environments import ProviderConfig
from provider.errors import ConfigError
from provider.privsep.checks import RefusedRequest, check_job
from provider.privsep.user import FALLBACK_ID, ApiUser, resolve_api_user
from tests.workflows.engine_support import sandboxed_spec
from workflows.spec import JobSpec

_GIB = 2**30
CONFIG = ProviderConfig.model_validate(
    {
        "environments": [
            {
                "id": "free",
                "maxJobDuration": 600,
                "downloadTimeout": 30,
                "resources": [
                    {"id": "cpu", "total": 4, "max": 2},
                    {"id": "ram", "total": 8, "max": 4},
                    {"id": "disk", "total": 10, "max": 5, "min": 0},
                ],
                "free": {"resources": [{"id": "ram", "max": 1}]},
                "runtimes": [{"images": ["python:3.11"], "binds": ["/usr"]}],
            }
        ]
    }
)


def _spec(**limits: float) -> JobSpec:
    spec = sandboxed_spec("print(1)")
    values = {**spec.limits.model_dump(), "download_timeout": 30, **limits}
    return spec.model_copy(update={"limits": spec.limits.model_validate(values)})


def test_a_job_up_to_the_paid_maximum_passes() -> None:
    # Above the free block's 1 GiB: the helper cannot tell paid from free, the API can.
    spec = _spec(cpus=2, memory_bytes=4 * _GIB, disk_bytes=5 * _GIB, max_download_bytes=5 * _GIB)
    assert check_job(spec, CONFIG).id == "free"


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        ({"cpus": 2.5}, "cpus 2.5 is above the most environment free allows (2)"),
        ({"memory_bytes": 4 * _GIB + 1}, "memory 4.29497e+09 is above"),
        ({"disk_bytes": 6 * _GIB}, "disk 6.44245e+09 is above"),
        ({"max_download_bytes": 6 * _GIB}, "download budget"),
        ({"gpus": 1}, "gpus 1 is above the most environment free allows (0)"),
        ({"max_job_duration": 601}, "duration 601 is above"),
        ({"download_timeout": 31}, "download timeout 31 is above"),
        ({"max_processes": 257}, "processes 257 is above"),
        ({"log_bytes": 2**30}, "log size"),
    ],
)
def test_each_limit_above_the_environment_is_refused(limits: dict[str, float], words: str) -> None:
    with pytest.raises(RefusedRequest, match=re.escape(words)):
        check_job(_spec(**limits), CONFIG)


def test_an_environment_the_helper_does_not_offer_is_refused() -> None:
    spec = sandboxed_spec("print(1)").model_copy(update={"environment": "gpu"})
    with pytest.raises(RefusedRequest, match="unknown environment 'gpu'"):
        check_job(spec, CONFIG)


def test_what_the_environment_does_not_allow_is_refused() -> None:
    spec = sandboxed_spec("print(1)")
    with pytest.raises(RefusedRequest, match="does not allow preprocess template mask-csv"):
        check_job(spec.model_copy(update={"preprocess_template": "mask-csv"}), CONFIG)
    with pytest.raises(RefusedRequest, match="environment free gives jobs no network"):
        check_job(spec.model_copy(update={"network": True}), CONFIG)


def test_the_api_user_is_never_root_and_has_a_fallback() -> None:
    assert resolve_api_user("1234:5678") == ApiUser(1234, 5678, "1234:5678")
    assert resolve_api_user("daemon").uid != 0
    fallback = resolve_api_user(None)
    assert fallback.uid != 0 and (fallback.name == "c2d" or fallback.uid == FALLBACK_ID)
    for root in ("0", "root", "1000:0"):
        with pytest.raises(ConfigError, match="must not run as root"):
            resolve_api_user(root)
    with pytest.raises(ConfigError, match="no user 'nobody-here'"):
        resolve_api_user("nobody-here")
