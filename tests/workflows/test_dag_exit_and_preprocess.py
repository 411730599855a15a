"""The Workflow's exit handler (publish) and a publisher's preprocess step, as built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.workflows.support import (
    PREPROCESS_TEMPLATE,
    SPECS,
    did_spec,
    preprocess_spec,
    template,
    workflow_dict,
)
from workflows import contract
from workflows.dag import EXIT_HANDLER, StepImages, build_workflow
from workflows.spec import JobSpec

spec_factories = pytest.mark.parametrize("make", list(SPECS.values()), ids=list(SPECS))


def _tasks(workflow: dict[str, Any], dag: str) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in template(workflow, dag)["dag"]["tasks"]}


@spec_factories
def test_publish_is_the_exit_handler(make: Callable[[], JobSpec]) -> None:
    # onExit runs after the DAG however it ended, and after Argo's stop (not terminate).
    spec = make()
    workflow = workflow_dict(spec)
    assert workflow["spec"]["onExit"] == EXIT_HANDLER
    exit_tasks = _tasks(workflow, EXIT_HANDLER)
    assert set(exit_tasks) == {"publish"}
    assert "depends" not in exit_tasks["publish"]
    assert template(workflow, exit_tasks["publish"]["template"])["container"]
    main = _tasks(workflow, "main")
    assert "publish" not in main
    assert "depends" not in main["configure"]
    if spec.preprocess_template:
        assert list(main) == ["configure", "preprocess", "algorithm"]
        assert main["preprocess"]["depends"] == "configure.Succeeded"
        assert main["algorithm"]["depends"] == "preprocess.Succeeded"
    else:
        assert list(main) == ["configure", "algorithm"]
        assert main["algorithm"]["depends"] == "configure.Succeeded"


def test_preprocess_is_a_template_ref_to_the_named_template() -> None:
    submitted = build_workflow(preprocess_spec(), StepImages()).to_dict()
    main = _tasks(submitted, "main")
    assert main["preprocess"]["templateRef"] == {
        "name": PREPROCESS_TEMPLATE,
        "template": "preprocess",
    }
    assert "preprocess" not in _tasks(build_workflow(did_spec(), StepImages()).to_dict(), "main")


def test_preprocess_sees_the_inputs_and_nothing_of_the_algorithm() -> None:
    step = template(workflow_dict(preprocess_spec()), "preprocess")
    container = step["container"]
    assert step["metadata"]["labels"]["c2d/step"] == "preprocess"  # never "algorithm"'s policy
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts) == {contract.INPUTS, contract.DDOS}
    assert not mounts[contract.INPUTS].get("readOnly")
    assert mounts[contract.INPUTS]["subPath"] == "data/inputs"
    assert mounts[contract.DDOS]["readOnly"] is True
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 1000
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert step["activeDeadlineSeconds"] > 0
