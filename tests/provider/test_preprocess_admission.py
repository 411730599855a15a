"""Which publisher template a job runs (provider/jobs/preprocess.py), or why it is refused."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from devkit.demo import assets
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest, Forbidden
from provider.jobs.preprocess import named_template, preprocess_template
from workflows.spec import FileObject, InputSpec

TEMPLATE = "publisher-preprocess-csv"
FILES = (FileObject(url="https://example.com/a.csv"),)


def _env(templates: list[str], images: list[str] | None = None) -> EnvironmentConfig:
    return EnvironmentConfig.model_validate(
        {
            "id": "e",
            "resources": [
                {"id": "cpu", "total": 1, "max": 1},
                {"id": "ram", "total": 1, "max": 1},
                {"id": "disk", "total": 1, "max": 1},
            ],
            "runtimes": [{"images": images or ["python:3.11", "python:3.11-slim"]}],
            "publisherTemplates": templates,
        }
    )


def _input(template: str | None) -> InputSpec:
    ddo: dict[str, Any] = assets.dataset_ddo(
        "https://example.com/a.csv",
        trusted_did="",
        files_checksum="",
        container_checksum="",
        publisher=Account.create().address,
    )
    if template:
        ddo["services"][0]["compute"]["preprocessTemplate"] = template
    folder = ddo["id"].removeprefix("did:op:")
    return InputSpec(folder=folder, did=ddo["id"], service_id="compute", files=FILES, ddo=ddo)


RAW = InputSpec(folder="0", files=FILES)


def test_the_compute_block_names_the_template() -> None:
    assert named_template(_input(TEMPLATE)) == TEMPLATE
    assert named_template(_input(None)) is None
    assert named_template(RAW) is None


def test_no_template_named_runs_none() -> None:
    assert preprocess_template([], _env([])) is None
    assert preprocess_template([_input(None), RAW], _env([])) is None


def test_an_allowed_template_runs() -> None:
    inputs = [_input(TEMPLATE), _input(TEMPLATE)]
    assert preprocess_template(inputs, _env([TEMPLATE])) == TEMPLATE
    # Whether the engine has it is the engine's answer (tests/workflows/test_capability.py).
    assert preprocess_template([_input("cluster-only")], _env(["cluster-only"])) == "cluster-only"


def test_the_operator_allow_list_decides() -> None:
    with pytest.raises(Forbidden, match=r"datasets\[0\]: preprocess template .* not allowed"):
        preprocess_template([_input(TEMPLATE)], _env([]))
    with pytest.raises(Forbidden, match="allowed: other"):
        preprocess_template([_input(TEMPLATE)], _env(["other"]))


def test_one_template_per_job_and_it_must_not_see_other_data() -> None:
    env = _env([TEMPLATE, "other"])
    with pytest.raises(BadRequest, match=r"datasets\[1\]: names preprocess template other"):
        preprocess_template([_input(TEMPLATE), _input("other")], env)
    for other in (_input(None), RAW):
        with pytest.raises(Forbidden, match=r"datasets\[1\]: datasets\[0\] requires"):
            preprocess_template([_input(TEMPLATE), other], env)
    with pytest.raises(Forbidden, match=r"datasets\[0\]: datasets\[1\] requires"):
        preprocess_template([RAW, _input(TEMPLATE)], env)


def test_the_allow_list_holds_template_names_only() -> None:
    with pytest.raises(ValueError, match="publisherTemplates"):
        _env(["Not A Name"])
