"""plan_step on the real Workflow: what each template becomes on this machine."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows.support import (
    did_spec,
    preprocess_spec,
    raw_spec,
    template,
    workflow_dict,
)
from workflows import contract
from workflows.dag import StepImages, build_workflow
from workflows.engines.local.dispatcher import (
    JobVolumes,
    Mount,
    StepPlan,
    hand_over_writable_mounts,
    parse_quantity,
    plan_step,
)
from workflows.publisher_templates import local_template_library
from workflows.spec import JobSpec
from workflows.templates import inline_template_refs


@pytest.fixture
def volumes(tmp_path: Path) -> JobVolumes:
    return JobVolumes(
        data=tmp_path / "volume", spec=tmp_path / "spec", results=tmp_path / "results"
    )


def _mounts(plan: StepPlan) -> dict[str, Mount]:
    mounts = {m.target: m for m in plan.mounts}
    assert len(mounts) == len(plan.mounts), "two mounts on one target"
    return mounts


def test_configure_is_trusted_with_its_folders(volumes: JobVolumes) -> None:
    plan = plan_step(workflow_dict(raw_spec()), "configure", volumes)
    assert plan.task == "configure"
    assert plan.kind == "trusted"
    assert plan.argv == ("python", "-m", "steps.configure")
    assert plan.image == contract.STEPS_IMAGE
    assert _mounts(plan) == {
        contract.DATA: Mount(contract.DATA, volumes.data / "data"),
        contract.ADMIN_LOGS: Mount(contract.ADMIN_LOGS, volumes.data / "admin"),
        contract.SPEC_DIR: Mount(contract.SPEC_DIR, volumes.spec, read_only=True),
    }
    assert plan.deadline_seconds is None


def test_publish_is_trusted_and_writes_to_the_job_results(volumes: JobVolumes) -> None:
    spec = raw_spec()
    plan = plan_step(workflow_dict(spec), "publish", volumes)
    assert plan.kind == "trusted"
    assert plan.argv == ("python", "-m", "steps.publish")
    assert _mounts(plan) == {
        contract.DATA: Mount(contract.DATA, volumes.data / "data", read_only=True),
        contract.ADMIN_LOGS: Mount(contract.ADMIN_LOGS, volumes.data / "admin"),
        contract.SPEC_DIR: Mount(contract.SPEC_DIR, volumes.spec, read_only=True),
        contract.RESULTS: Mount(contract.RESULTS, volumes.results / spec.job_id),
    }


@pytest.mark.parametrize("make", [raw_spec, did_spec], ids=["raw", "dids"])
def test_algorithm_runs_the_pod(volumes: JobVolumes, make: Any) -> None:
    spec: JobSpec = make()
    workflow = workflow_dict(spec)
    pod = yaml.safe_load(template(workflow, "algorithm")["resource"]["manifest"])
    (container,) = pod["spec"]["containers"]
    plan = plan_step(workflow, "algorithm", volumes)
    assert plan.task == "algorithm"
    assert plan.kind == "algorithm"
    assert plan.argv == tuple(container["command"])
    assert contract.ALGORITHM_PATH in plan.argv
    assert plan.image == spec.algorithm.container.reference
    assert plan.working_dir == contract.OUTPUTS
    assert plan.deadline_seconds == spec.limits.max_job_duration
    assert plan.cpus == pytest.approx(spec.limits.cpus)
    assert plan.memory_bytes == spec.limits.memory_bytes
    for name, value in {
        "VOLUME": contract.DATA,
        "INPUTS": contract.INPUTS,
        "OUTPUTS": contract.OUTPUTS,
        "LOGS": contract.LOGS,
        "ALGO": contract.ALGORITHM_PATH,
    }.items():
        assert plan.env[name] == value
    assert "DIDS" in plan.env
    assert "TRANSFORMATION_DID" in plan.env


def test_algorithm_mounts(volumes: JobVolumes) -> None:
    plan = plan_step(workflow_dict(raw_spec()), "algorithm", volumes)
    data = volumes.data / "data"
    assert _mounts(plan) == {
        contract.INPUTS: Mount(contract.INPUTS, data / "inputs", read_only=True),
        contract.DDOS: Mount(contract.DDOS, data / "ddos", read_only=True),
        contract.TRANSFORMATIONS: Mount(
            contract.TRANSFORMATIONS, data / "transformations", read_only=True
        ),
        contract.OUTPUTS: Mount(contract.OUTPUTS, data / "outputs"),
        contract.LOGS: Mount(contract.LOGS, data / "logs"),
        "/tmp": Mount("/tmp", None, size_bytes=256 * 2**20),
    }
    for mount in plan.mounts:
        # Never the spec, the admin logs, the results, or the volume's root.
        if mount.source is not None:
            assert mount.source.is_relative_to(data)
            assert mount.source != data


def test_cpus_and_memory_come_from_the_limits(volumes: JobVolumes) -> None:
    plan = plan_step(workflow_dict(did_spec()), "algorithm", volumes)
    assert plan.cpus == pytest.approx(2.5)
    assert plan.memory_bytes == 512 * 2**20


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("1000m", 1.0),
        ("2500m", 2.5),
        ("250m", 0.25),
        ("2", 2.0),
        ("0.5", 0.5),
        ("2Gi", 2 * 2**30),
        ("512Mi", 512 * 2**20),
        ("64Ki", 64 * 1024),
        ("1G", 10**9),
        ("1k", 1000),
        ("1073741824", 2**30),
        (" 1Gi ", 2**30),
        (1073741824, 2**30),
        (1.5, 1.5),
    ],
)
def test_parse_quantity(quantity: str | int | float, expected: float) -> None:
    assert parse_quantity(quantity) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["", "Gi", "1GB", "1gi", "-1", "1 Gi", "1.2.3", "abc", "1Zi"])
def test_parse_quantity_refuses_bad_values(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)


@pytest.mark.parametrize("sub_path", ["../other-job", "data/../../x", "/etc"])
def test_a_container_sub_path_leaving_its_volume_is_refused(
    volumes: JobVolumes, sub_path: str
) -> None:
    workflow = workflow_dict(raw_spec())
    template(workflow, "configure")["container"]["volumeMounts"][0]["subPath"] = sub_path
    with pytest.raises(ValueError, match="subPath"):
        plan_step(workflow, "configure", volumes)


@pytest.mark.parametrize("sub_path", ["data/../admin", "../spec"])
def test_a_pod_sub_path_leaving_its_volume_is_refused(volumes: JobVolumes, sub_path: str) -> None:
    workflow = workflow_dict(raw_spec())
    _edit_pod(workflow, lambda pod: _set_first_sub_path(pod, sub_path))
    with pytest.raises(ValueError, match="subPath"):
        plan_step(workflow, "algorithm", volumes)


def _set_first_sub_path(pod: dict[str, Any], sub_path: str) -> None:
    pod["spec"]["containers"][0]["volumeMounts"][0]["subPath"] = sub_path


def _edit_pod(workflow: dict[str, Any], edit: Any) -> None:
    resource = template(workflow, "algorithm")["resource"]
    pod = yaml.safe_load(resource["manifest"])
    edit(pod)
    resource["manifest"] = yaml.safe_dump(pod)


def test_a_host_path_volume_in_the_pod_is_refused(volumes: JobVolumes) -> None:
    workflow = workflow_dict(raw_spec())

    def add_host_path(pod: dict[str, Any]) -> None:
        pod["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}})

    _edit_pod(workflow, add_host_path)
    with pytest.raises(ValueError, match="unsupported"):
        plan_step(workflow, "algorithm", volumes)


def test_a_mount_of_an_unknown_volume_is_refused(volumes: JobVolumes) -> None:
    workflow = workflow_dict(raw_spec())
    template(workflow, "configure")["container"]["volumeMounts"][0]["name"] = "nope"
    with pytest.raises(ValueError, match="names no volume"):
        plan_step(workflow, "configure", volumes)


def test_a_workflow_volume_without_local_stand_in_is_refused(volumes: JobVolumes) -> None:
    workflow = workflow_dict(raw_spec())
    workflow["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    with pytest.raises(ValueError, match="no local stand-in"):
        plan_step(workflow, "configure", volumes)


def test_only_a_created_pod_runs(volumes: JobVolumes) -> None:
    workflow = workflow_dict(raw_spec())
    applied = copy.deepcopy(workflow)
    template(applied, "algorithm")["resource"]["action"] = "apply"
    with pytest.raises(ValueError, match="only a created Pod"):
        plan_step(applied, "algorithm", volumes)

    def make_job(pod: dict[str, Any]) -> None:
        pod["kind"] = "Job"

    _edit_pod(workflow, make_job)
    with pytest.raises(ValueError, match="only a created Pod"):
        plan_step(workflow, "algorithm", volumes)


def test_a_dag_template_is_not_a_step(volumes: JobVolumes) -> None:
    with pytest.raises(ValueError, match="only container and resource"):
        plan_step(workflow_dict(raw_spec()), "main", volumes)


# --- a publisher template ----------------------------------------------------------------------


def test_a_publisher_template_runs_sandboxed_with_only_the_inputs(volumes: JobVolumes) -> None:
    plan = plan_step(workflow_dict(preprocess_spec()), "preprocess", volumes)
    assert plan.kind == "publisher"  # the algorithm's sandbox, never the trusted steps' host
    assert plan.image == "python:3.11-slim"
    assert plan.argv[:2] == ("python", "-c")
    assert plan.deadline_seconds == 600
    mounts = _mounts(plan)
    assert set(mounts) == {contract.INPUTS, contract.DDOS}
    assert mounts[contract.INPUTS].source == volumes.data / "data" / "inputs"
    assert not mounts[contract.INPUTS].read_only
    assert mounts[contract.DDOS].read_only


def test_a_template_ref_the_local_engine_cannot_resolve_is_refused(volumes: JobVolumes) -> None:
    workflow = workflow_dict(raw_spec())
    workflow = copy.deepcopy(workflow)
    main = template(workflow, "main")
    main["dag"]["tasks"].append(
        {"name": "extra", "templateRef": {"name": "someone-elses", "template": "preprocess"}}
    )
    with pytest.raises(ValueError, match="unknown WorkflowTemplate 'someone-elses'"):
        plan_step(workflow, "configure", volumes)


def test_resolving_a_workflow_never_changes_the_shared_template_library() -> None:
    """Every job resolves against one library built per process: what one job's inlined
    templates become (its own arguments, a change made to them) must not reach the next."""
    library = local_template_library()
    before = copy.deepcopy(library)
    resolved = inline_template_refs(build_workflow(raw_spec(), StepImages()).to_dict(), library)
    publish = template(resolved, "publish")
    publish["container"]["env"].append({"name": "CHANGED", "value": "by one job"})
    publish["container"]["command"].append("--changed")
    inline_template_refs(build_workflow(preprocess_spec(), StepImages()).to_dict(), library)
    assert library == before


def test_writable_mounts_are_handed_to_the_sandbox_uid(tmp_path: Path) -> None:
    inputs, ddos = tmp_path / "inputs", tmp_path / "ddos"
    (inputs / "a").mkdir(parents=True)
    (inputs / "a" / "0").write_text("x")
    ddos.mkdir()
    plan = StepPlan(
        task="preprocess",
        kind="publisher",
        argv=("true",),
        env={},
        mounts=(Mount("/data/inputs", inputs), Mount("/data/ddos", ddos, read_only=True)),
    )
    hand_over_writable_mounts(plan, uid=4321)
    if os.geteuid() != 0:
        assert (inputs / "a" / "0").stat().st_uid == os.geteuid()
        return
    for path in (inputs, inputs / "a", inputs / "a" / "0"):
        assert path.stat().st_uid == 4321, path
    assert ddos.stat().st_uid == 0
    trusted = StepPlan(task="configure", kind="trusted", argv=(), env={}, mounts=plan.mounts)
    (inputs / "b").write_text("y")
    hand_over_writable_mounts(trusted, uid=4321)
    assert (inputs / "b").stat().st_uid == 0
