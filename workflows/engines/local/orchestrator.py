"""Pure DAG walk: which tasks of a Workflow's DAG are ready, given the outcomes so far.

Argo's ``depends`` expressions (``task.Succeeded || task.Failed && !other.Skipped``) are
evaluated here the way Argo does, so the local engine follows the very DAG it would submit. The
tasks of the exit handler (``spec.onExit``, a DAG template) follow once every task of the
entrypoint DAG has ended, whatever its outcome, as Argo runs ``onExit`` after the DAG.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workflows.engines.local.dispatcher import local_workflow

__all__ = ["DagTask", "Outcome", "evaluate_depends", "next_tasks", "read_dag"]

Outcome = Literal["Succeeded", "Failed", "Errored", "Skipped", "Omitted"]
_OUTCOMES = frozenset({"Succeeded", "Failed", "Errored", "Skipped", "Omitted"})
_OPERATORS = frozenset({"||", "&&", "!", "(", ")"})
_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?)")


@dataclass(frozen=True)
class DagTask:
    name: str
    template: str
    depends: str
    # A task of the exit handler: runs after every task of the entrypoint DAG has ended.
    on_exit: bool = False


def read_dag(workflow: Mapping[str, Any]) -> list[DagTask]:
    """The tasks of the entrypoint DAG, then those of the ``onExit`` DAG, of a Workflow in its
    JSON form (``templateRef``s inlined from the local engine's template library)."""
    spec = local_workflow(workflow)["spec"]
    tasks = _dag_tasks(spec, spec["entrypoint"], on_exit=False)
    if spec.get("onExit"):
        tasks += _dag_tasks(spec, spec["onExit"], on_exit=True)
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise ValueError("the entrypoint and exit handler DAGs share a task name")
    return tasks


def _dag_tasks(spec: Mapping[str, Any], template: str, *, on_exit: bool) -> list[DagTask]:
    found = next((t for t in spec["templates"] if t["name"] == template), None)
    if found is None or "dag" not in found:
        raise ValueError(f"template {template!r}: the local engine runs DAG templates only here")
    return [
        DagTask(t["name"], t["template"], t.get("depends", ""), on_exit)
        for t in found["dag"]["tasks"]
    ]


def next_tasks(
    tasks: list[DagTask], outcomes: Mapping[str, str]
) -> tuple[list[DagTask], list[DagTask]]:
    """(tasks to run now, tasks that can never run and are Omitted) among those not yet done.

    Exit handler tasks wait until every entrypoint task has an outcome.
    """
    ready: list[DagTask] = []
    omitted: list[DagTask] = []
    dag_ended = all(task.name in outcomes for task in tasks if not task.on_exit)
    for task in tasks:
        if task.name in outcomes or (task.on_exit and not dag_ended):
            continue
        upstream = _referenced_tasks(task.depends)
        if not upstream.issubset(outcomes):
            continue
        if evaluate_depends(task.depends, outcomes):
            ready.append(task)
        else:
            omitted.append(task)
    return ready, omitted


def _referenced_tasks(expression: str) -> set[str]:
    return {part.split(".")[0] for part in _tokens(expression) if part not in _OPERATORS}


def _tokens(expression: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot parse depends expression {expression!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def evaluate_depends(expression: str, outcomes: Mapping[str, str]) -> bool:
    """True when the expression holds; an empty expression always holds.

    ``task`` alone means ``task.Succeeded || task.Skipped`` (Argo's default), ``task.AnySucceeded``
    and friends are not used by c2d's DAG and are refused rather than guessed.
    """
    tokens = _tokens(expression)
    if not tokens:
        return True
    parser = _Parser(tokens, outcomes)
    value = parser.disjunction()
    if parser.position != len(tokens):
        raise ValueError(f"unexpected {tokens[parser.position]!r} in {expression!r}")
    return value


class _Parser:
    def __init__(self, tokens: list[str], outcomes: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.outcomes = outcomes

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("depends expression ends too early")
        self.position += 1
        return token

    def disjunction(self) -> bool:
        value = self.conjunction()
        while self._peek() == "||":
            self._take()
            value = self.conjunction() or value
        return value

    def conjunction(self) -> bool:
        value = self.negation()
        while self._peek() == "&&":
            self._take()
            value = self.negation() and value
        return value

    def negation(self) -> bool:
        if self._peek() == "!":
            self._take()
            return not self.negation()
        return self.atom()

    def atom(self) -> bool:
        part = self._take()
        if part in _OPERATORS - {"(", "!"}:
            raise ValueError(f"expected a task where {part!r} stands in a depends expression")
        if part == "(":
            value = self.disjunction()
            if self._take() != ")":
                raise ValueError("missing ')' in depends expression")
            return value
        task, _, result = part.partition(".")
        outcome = self.outcomes.get(task)
        if not result:
            return outcome in ("Succeeded", "Skipped")
        if result not in _OUTCOMES:
            raise ValueError(f"unsupported task result {result!r} in depends expression")
        return outcome == result
