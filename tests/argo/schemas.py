"""Argo kinds against a closed copy of Argo's schema, the rest by kubernetes-validate."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

# Argo's own schema and Argo Server OpenAPI document, kept in the repository (reference/SOURCE.md).
REFERENCE = Path(__file__).resolve().parent / "reference"
SCHEMA_FILE = REFERENCE / "workflow.schema.json"
SERVER_OPENAPI_FILE = REFERENCE / "argo-server.swagger.json"
KUBERNETES_VERSION = "1.37.0"
ARGO_KINDS = {"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"}


@cache
def _strict(kind: str) -> Any:
    schema = json.loads(SCHEMA_FILE.read_text())
    definitions = copy.deepcopy(schema["definitions"])
    for definition in definitions.values():
        if "properties" in definition:
            definition["additionalProperties"] = False
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
    root = f"io.argoproj.workflow.v1alpha1.{kind}"
    return Draft202012Validator(
        {"$schema": schema["$schema"], "definitions": definitions, "$ref": f"#/definitions/{root}"}
    )


def errors(document: dict[str, Any]) -> list[str]:
    """Why ``document`` is not a valid object of its kind ([] when it is)."""
    if document.get("apiVersion") == "argoproj.io/v1alpha1":
        assert document["kind"] in ARGO_KINDS, document["kind"]
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _strict(document["kind"]).iter_errors(document)
        ]
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    return []
