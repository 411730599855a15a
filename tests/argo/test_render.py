"""``c2d render``: the Workflow the Argo engine would submit, from a start request, as YAML.

Golden file: ``tests/workflows/golden/render_did_job.yaml``; after an intended change:

    C2D_UPDATE_GOLDEN=1 .venv/bin/pytest tests/argo/test_render.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from devkit.demo import assets as demo
from provider.assets.ddo import Container, container_section_checksum, did_for
from provider.cli import main
from tests.argo.schemas import errors
from workflows.annotations import spec_from_annotations

GOLDEN = Path(__file__).parents[1] / "workflows" / "golden" / "render_did_job.yaml"
PUBLISHER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
CONSUMER = "0x" + "Cd" * 20
JOB_ID = "0123456789abcdef" * 2
# Read before the fixtures clear every C2D_ variable.
UPDATE_GOLDEN = os.environ.get("C2D_UPDATE_GOLDEN") == "1"


def _pinned(ddo: dict[str, Any], nft: str) -> dict[str, Any]:
    """The demo DDO with fixed addresses, so that its DID is the same on every run."""
    ddo["nftAddress"] = nft
    ddo["id"] = did_for(nft, ddo["chainId"])
    ddo["services"][0]["datatokenAddress"] = "0x" + "99" * 20
    return ddo


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("C2D_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("C2D_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _request(home: Path, tmp_path: Path) -> tuple[Path, str, str]:
    algorithm = _pinned(
        demo.algorithm_ddo("https://data.example.com/stats.py", PUBLISHER), "0x" + "a1" * 20
    )
    dataset = _pinned(
        demo.dataset_ddo(
            "https://data.example.com/secret-weather.csv",
            trusted_did=algorithm["id"],
            files_checksum="",
            container_checksum=container_section_checksum(Container(**demo.CONTAINER)),
            publisher=PUBLISHER,
        ),
        "0x" + "d1" * 20,
    )
    demo.save(algorithm, home / "assets", "algorithm")
    demo.save(dataset, home / "assets", "dataset")
    body = {
        "consumerAddress": CONSUMER,
        "environment": "ignored: --environment decides",
        "algorithm": {"documentId": algorithm["id"], "serviceId": "compute"},
        "datasets": [{"documentId": dataset["id"], "serviceId": "compute"}],
        "resources": [
            {"id": "cpu", "amount": 1},
            {"id": "ram", "amount": 1},
            {"id": "disk", "amount": 1},
        ],
        "maxJobDuration": 300,
    }
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))
    return request, algorithm["id"], dataset["id"]


def _render(request: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(
        [
            "render",
            "--environment",
            "free",
            "--job-id",
            JOB_ID,
            "--created-at",
            "1700000000",
            *extra,
            str(request),
        ]
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_prints_the_workflow_of_a_did_job(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request, algorithm_did, dataset_did = _request(home, tmp_path)
    code, out, err = _render(request, capsys)
    assert (code, err) == (0, "")
    workflow = yaml.safe_load(out)
    assert workflow["kind"] == "Workflow"
    assert workflow["metadata"]["name"] == f"c2d-{JOB_ID}"
    assert workflow["metadata"]["labels"]["c2d/owner"] == CONSUMER.lower()
    spec = spec_from_annotations(workflow["metadata"]["annotations"])
    assert spec is not None
    assert spec.input_dids == [dataset_did]
    assert spec.algorithm.did == algorithm_did
    assert spec.limits.max_job_duration == 300
    # File URLs stay in the job's Secret, never in the Workflow.
    assert "example.com" not in out
    if UPDATE_GOLDEN:
        GOLDEN.write_text(out)
    assert out == GOLDEN.read_text(), "the rendered Workflow changed: see the module docstring"


def test_render_refuses_what_admission_refuses(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "consumerAddress": CONSUMER,
                "algorithm": {"documentId": "did:op:" + "0" * 64, "serviceId": "x"},
            }
        )
    )
    code, out, err = _render(request, capsys)
    assert code == 2 and out == ""
    assert "did:op:" + "0" * 64 in err

    request.write_text("[]")
    code, out, err = _render(request, capsys)
    assert code == 2 and "JSON object" in err


def _with_template(
    home: Path, tmp_path: Path, allowed: list[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The DID request, its dataset naming a template only the cluster has, and a config."""
    request, _, _ = _request(home, tmp_path)
    path = home / "assets" / "dataset.json"
    ddo = json.loads(path.read_text())
    ddo["services"][0]["compute"]["preprocessTemplate"] = "cluster-only-template"
    path.write_text(json.dumps(ddo))
    environment = {
        "id": "free",
        "resources": [
            {"id": "cpu", "total": 4, "max": 2},
            {"id": "ram", "total": 4, "max": 2},
            {"id": "disk", "total": 4, "max": 2},
        ],
        "free": {"maxJobDuration": 600},
        "runtimes": [{"images": ["python:3.11"]}],
        "publisherTemplates": allowed,
    }
    config = tmp_path / "environments.yaml"
    config.write_text(yaml.safe_dump({"environments": [environment]}))
    monkeypatch.setenv("C2D_CONFIG", str(config))
    return request


def test_render_runs_an_allowed_publisher_template_before_the_algorithm(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a cluster the template need not be registered locally: the operator installed it.
    request = _with_template(home, tmp_path, ["cluster-only-template"], monkeypatch)
    code, out, err = _render(request, capsys)
    assert (code, err) == (0, "")
    workflow = yaml.safe_load(out)
    assert errors(workflow) == []
    main_dag = next(t for t in workflow["spec"]["templates"] if t["name"] == "main")
    tasks = {t["name"]: t for t in main_dag["dag"]["tasks"]}
    assert tasks["preprocess"]["templateRef"] == {
        "name": "cluster-only-template",
        "template": "preprocess",
    }
    assert tasks["algorithm"]["depends"] == "preprocess.Succeeded"
    assert workflow["spec"]["onExit"] == "exit-handler"
    spec = spec_from_annotations(workflow["metadata"]["annotations"])
    assert spec is not None and spec.preprocess_template == "cluster-only-template"


def test_render_refuses_a_template_the_environment_does_not_allow(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = _with_template(home, tmp_path, [], monkeypatch)
    code, out, err = _render(request, capsys)
    assert code == 2 and out == ""
    assert "preprocess template cluster-only-template is not allowed in environment free" in err
