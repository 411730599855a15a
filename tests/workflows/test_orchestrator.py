"""The pure DAG walk: Argo ``depends`` expressions and which tasks are ready or omitted."""

from __future__ import annotations

import pytest

from tests.workflows.support import preprocess_spec, raw_spec, workflow_dict
from workflows.engines.local.orchestrator import DagTask, evaluate_depends, next_tasks, read_dag

END_STATES = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted")


@pytest.mark.parametrize(
    ("expression", "outcomes", "expected"),
    [
        ("", {}, True),
        ("   ", {}, True),
        ("a.Succeeded", {"a": "Succeeded"}, True),
        ("a.Succeeded", {"a": "Failed"}, False),
        ("a.Succeeded", {}, False),
        ("a.Succeeded || a.Failed", {"a": "Failed"}, True),
        ("a.Succeeded || a.Failed", {"a": "Errored"}, False),
        ("a.Succeeded && b.Succeeded", {"a": "Succeeded", "b": "Succeeded"}, True),
        ("a.Succeeded && b.Succeeded", {"a": "Succeeded", "b": "Skipped"}, False),
        ("a.Succeeded&&b.Failed", {"a": "Succeeded", "b": "Failed"}, True),
        ("!a.Failed", {"a": "Succeeded"}, True),
        ("!a.Failed", {"a": "Failed"}, False),
        ("!!a.Failed", {"a": "Failed"}, True),
        ("!(a.Failed || a.Errored)", {"a": "Errored"}, False),
        ("!(a.Failed || a.Errored)", {"a": "Omitted"}, True),
        # && binds tighter than ||
        ("a.Succeeded || b.Succeeded && c.Succeeded", {"a": "Succeeded", "b": "Failed"}, True),
        (
            "a.Succeeded || b.Succeeded && c.Succeeded",
            {"a": "Failed", "b": "Succeeded", "c": "Failed"},
            False,
        ),
        (
            "(a.Succeeded || b.Succeeded) && c.Succeeded",
            {"a": "Succeeded", "b": "Failed", "c": "Failed"},
            False,
        ),
        (
            "(a.Succeeded || b.Succeeded) && c.Succeeded",
            {"a": "Failed", "b": "Succeeded", "c": "Succeeded"},
            True,
        ),
        ("((a.Skipped))", {"a": "Skipped"}, True),
        ("my-task_2.Omitted", {"my-task_2": "Omitted"}, True),
        # A bare name is Argo's default: Succeeded or Skipped.
        ("a", {"a": "Succeeded"}, True),
        ("a", {"a": "Skipped"}, True),
        ("a", {"a": "Failed"}, False),
        ("a", {"a": "Errored"}, False),
        ("a", {"a": "Omitted"}, False),
        ("a", {}, False),
        ("!a", {"a": "Failed"}, True),
    ],
)
def test_evaluate_depends(expression: str, outcomes: dict[str, str], expected: bool) -> None:
    assert evaluate_depends(expression, outcomes) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "a.Bogus",
        "a.AnySucceeded",
        "a.AllFailed",
        "a.succeeded",
        "(a.Succeeded",
        "a.Succeeded)",
        "a.Succeeded ||",
        "&& a.Succeeded",
        "a.Succeeded b.Succeeded",
        "!",
        "()",
        "a.Succeeded | a.Failed",
        "a.Succeeded $ a.Failed",
        "a.Succeeded.Failed",
    ],
)
def test_evaluate_depends_refuses_what_it_cannot_read(expression: str) -> None:
    with pytest.raises(ValueError):
        evaluate_depends(expression, {"a": "Succeeded", "b": "Succeeded"})


A = DagTask("a", "a-template", "")
B = DagTask("b", "b-template", "a.Succeeded")
C = DagTask("c", "c-template", " || ".join(f"b.{state}" for state in END_STATES))
D = DagTask("d", "d-template", "a.Succeeded && c.Succeeded")


def _names(result: tuple[list[DagTask], list[DagTask]]) -> tuple[list[str], list[str]]:
    ready, omitted = result
    return [t.name for t in ready], [t.name for t in omitted]


def test_tasks_without_depends_start_first_and_others_wait() -> None:
    assert _names(next_tasks([A, B, C, D], {})) == (["a"], [])


def test_tasks_wait_for_every_upstream_task_to_end() -> None:
    # d can no longer hold once a failed, but, as in Argo, it waits for c to end too.
    assert _names(next_tasks([A, B, C, D], {"a": "Failed"})) == ([], ["b"])
    assert _names(next_tasks([A, D], {"a": "Succeeded"})) == ([], [])


def test_a_task_whose_expression_cannot_hold_is_omitted() -> None:
    assert _names(next_tasks([A, B, C], {"a": "Failed"})) == ([], ["b"])
    assert _names(next_tasks([A, B, C], {"a": "Failed", "b": "Omitted"})) == (["c"], [])


def test_finished_tasks_are_not_offered_again() -> None:
    outcomes = {"a": "Succeeded", "b": "Succeeded", "c": "Failed", "d": "Omitted"}
    assert _names(next_tasks([A, B, C, D], outcomes)) == ([], [])
    assert _names(next_tasks([A, B, C, D], {"a": "Succeeded"})) == (["b"], [])


def test_independent_tasks_are_ready_together() -> None:
    tasks = [A, DagTask("x", "x", ""), DagTask("y", "y", "a && x")]
    assert _names(next_tasks(tasks, {})) == (["a", "x"], [])
    assert _names(next_tasks(tasks, {"a": "Skipped", "x": "Succeeded"})) == (["y"], [])


def test_read_dag_reads_the_entrypoint_dag_only() -> None:
    workflow = {
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "other", "dag": {"tasks": [{"name": "z", "template": "t"}]}},
                {"name": "t", "container": {"image": "x"}},
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": "one", "template": "t"},
                            {"name": "two", "template": "t", "depends": "one"},
                        ]
                    },
                },
            ],
        }
    }
    assert read_dag(workflow) == [DagTask("one", "t", ""), DagTask("two", "t", "one")]


# --- the real DAG ------------------------------------------------------------------------------


@pytest.fixture
def tasks() -> list[DagTask]:
    return read_dag(workflow_dict(raw_spec()))


def test_real_dag_shape(tasks: list[DagTask]) -> None:
    assert [(t.name, t.template) for t in tasks] == [
        ("configure", "configure"),
        ("algorithm", "algorithm"),
        ("publish", "publish"),
    ]


def test_real_dag_happy_path(tasks: list[DagTask]) -> None:
    assert _names(next_tasks(tasks, {})) == (["configure"], [])
    assert _names(next_tasks(tasks, {"configure": "Succeeded"})) == (["algorithm"], [])
    outcomes = {"configure": "Succeeded", "algorithm": "Succeeded"}
    assert _names(next_tasks(tasks, outcomes)) == (["publish"], [])
    assert _names(next_tasks(tasks, {**outcomes, "publish": "Succeeded"})) == ([], [])


def test_real_dag_after_configure_failed(tasks: list[DagTask]) -> None:
    assert _names(next_tasks(tasks, {"configure": "Failed"})) == ([], ["algorithm"])
    outcomes = {"configure": "Failed", "algorithm": "Omitted"}
    assert _names(next_tasks(tasks, outcomes)) == (["publish"], [])


@pytest.mark.parametrize("state", END_STATES)
def test_real_dag_publishes_after_any_algorithm_end(tasks: list[DagTask], state: str) -> None:
    outcomes = {"configure": "Succeeded", "algorithm": state}
    assert _names(next_tasks(tasks, outcomes)) == (["publish"], [])


@pytest.mark.parametrize("expression", ["||", ")", "a.Succeeded || )", "a.Succeeded || &&"])
def test_an_operator_is_never_a_task_name(expression: str) -> None:
    with pytest.raises(ValueError):
        evaluate_depends(expression, {"a": "Succeeded"})


# --- the exit handler and the publisher's preprocess step ----------------------------------


def test_exit_handler_tasks_follow_the_whole_dag() -> None:
    workflow = {
        "spec": {
            "entrypoint": "main",
            "onExit": "bye",
            "templates": [
                {"name": "t", "container": {"image": "x"}},
                {"name": "bye", "dag": {"tasks": [{"name": "z", "template": "t"}]}},
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": "one", "template": "t"},
                            {"name": "two", "template": "t", "depends": "one.Succeeded"},
                        ]
                    },
                },
            ],
        }
    }
    tasks = read_dag(workflow)
    assert tasks[-1] == DagTask("z", "t", "", on_exit=True)
    # No depends of its own, yet it waits for every DAG task, including an omitted one.
    assert _names(next_tasks(tasks, {})) == (["one"], [])
    assert _names(next_tasks(tasks, {"one": "Failed"})) == ([], ["two"])
    assert _names(next_tasks(tasks, {"one": "Failed", "two": "Omitted"})) == (["z"], [])
    # A stopped job: the algorithm Skipped, publish still runs.
    assert _names(next_tasks(tasks, {"one": "Succeeded", "two": "Skipped"})) == (["z"], [])


def test_exit_handler_must_be_a_dag_with_its_own_task_names() -> None:
    workflow = workflow_dict(raw_spec())
    workflow["spec"]["onExit"] = "algorithm"
    with pytest.raises(ValueError, match="DAG templates only"):
        read_dag(workflow)
    workflow = workflow_dict(raw_spec())
    exit_handler = next(t for t in workflow["spec"]["templates"] if t["name"] == "exit-handler")
    exit_handler["dag"]["tasks"][0]["name"] = "configure"
    with pytest.raises(ValueError, match="share a task name"):
        read_dag(workflow)


def test_real_dag_with_a_preprocess_step() -> None:
    tasks = read_dag(workflow_dict(preprocess_spec()))
    assert [(t.name, t.template, t.on_exit) for t in tasks] == [
        ("configure", "configure", False),
        ("preprocess", "preprocess", False),
        ("algorithm", "algorithm", False),
        ("publish", "publish", True),
    ]
    assert _names(next_tasks(tasks, {"configure": "Succeeded"})) == (["preprocess"], [])
    failed = {"configure": "Succeeded", "preprocess": "Failed"}
    assert _names(next_tasks(tasks, failed)) == ([], ["algorithm"])
    assert _names(next_tasks(tasks, {**failed, "algorithm": "Omitted"})) == (["publish"], [])
