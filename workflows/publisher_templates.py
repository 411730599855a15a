"""Publisher-defined steps: WorkflowTemplates a dataset's compute service may name (preprocess).

A dataset's compute block may name one WorkflowTemplate (``preprocessTemplate``) whose
``preprocess`` template runs between ``configure`` and the algorithm. The provider never runs an
arbitrary template a DDO names: the environment's operator allow-list decides (admission), and
on a cluster the operator installs the template. The local engine has no cluster to look
templates up in: it runs only the templates registered here, by name, as Python definitions; the
YAML an operator installs (``argo/examples/``) is generated from the same definitions, so both
engines run the same container. A preprocess step sees ``/data/inputs`` (read-write) and the
DDOs (read-only), never the algorithm, its outputs or the trusted steps' files, and runs with
the steps' network policy (no data sources), never the algorithm's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from hera.workflows import models as m
from hera.workflows.container import Container
from hera.workflows.workflow_template import WorkflowTemplate

from workflows import contract
from workflows.annotations import LABEL_PREFIX, STEP_LABEL
from workflows.templates import (
    executor_pod_spec_patch,
    restricted_security_context,
    step_template_dicts,
)

__all__ = [
    "PREPROCESS_STEP",
    "PUBLISHER_TEMPLATE_LABEL",
    "REGISTERED",
    "local_template_library",
    "preprocess_csv_template",
    "publisher_template_dicts",
    "publisher_template_image",
]

# The task name in the DAG, the template name inside the WorkflowTemplate, and its step label.
PREPROCESS_STEP = "preprocess"
PUBLISHER_TEMPLATE_LABEL = f"{LABEL_PREFIX}/publisher-template"

_DROP_CSV_HEADERS = """\
import pathlib
for path in sorted(pathlib.Path("/data/inputs").rglob("*")):
    if path.is_file() and path.name != "algoCustomData.json":
        lines = path.read_text().splitlines()
        if lines and any(char.isalpha() for char in lines[0]):
            path.write_text("".join(line + "\\n" for line in lines[1:]))
        print(f"preprocessed {path.relative_to('/data/inputs')}: {len(lines)} lines")
"""


def preprocess_csv_template() -> WorkflowTemplate:
    """``publisher-preprocess-csv``: drop the header row (a first line with letters) of every
    input file; the example of docs/deploy.md §9."""
    return _publisher_template(
        "publisher-preprocess-csv",
        Container(
            name=PREPROCESS_STEP,
            image="python:3.11-slim",
            command=["python", "-c", _DROP_CSV_HEADERS],
            volume_mounts=[
                m.VolumeMount(
                    name=contract.VOLUME_DATA,
                    mount_path=contract.INPUTS,
                    sub_path=contract.data_sub_path(contract.INPUTS),
                ),
                m.VolumeMount(
                    name=contract.VOLUME_DATA,
                    mount_path=contract.DDOS,
                    sub_path=contract.data_sub_path(contract.DDOS),
                    read_only=True,
                ),
            ],
            security_context=restricted_security_context(),
            labels={STEP_LABEL: PREPROCESS_STEP},
            active_deadline_seconds=600,
            pod_spec_patch=executor_pod_spec_patch(),
        ),
    )


def _publisher_template(name: str, container: Container) -> WorkflowTemplate:
    labels = {"app.kubernetes.io/part-of": "c2d", PUBLISHER_TEMPLATE_LABEL: "true"}
    with WorkflowTemplate(name=name, labels=labels) as template:
        template.templates.append(container)
    return template


# Templates the local engine can run, by WorkflowTemplate name. Adding one: a function above
# and an entry here (and its YAML, generated, beside the example in argo/examples/).
REGISTERED: Mapping[str, Callable[[], WorkflowTemplate]] = {
    "publisher-preprocess-csv": preprocess_csv_template,
}


def publisher_template_dicts() -> dict[str, dict[str, Any]]:
    """The registered templates as JSON objects, by WorkflowTemplate name."""
    return {name: build().to_dict() for name, build in REGISTERED.items()}


def publisher_template_image(name: str) -> str | None:
    """The image of a registered template's ``preprocess`` container; None when not registered."""
    build = REGISTERED.get(name)
    if build is None:
        return None
    for template in build().to_dict()["spec"]["templates"]:
        if template["name"] == PREPROCESS_STEP and "container" in template:
            return str(template["container"]["image"])
    return None


@functools.cache
def local_template_library() -> Mapping[str, Mapping[str, Any]]:
    """What the local engine resolves ``templateRef``s against: the trusted steps' templates and
    the registered publisher templates (a name in both would be a bug, hence the check).

    Built once per process (hera takes milliseconds per template, and every step of every job
    resolves against it); shared, so never changed: ``inline_template_refs`` copies from it."""
    trusted = step_template_dicts(contract.STEPS_IMAGE)
    publisher = publisher_template_dicts()
    clash = set(trusted) & set(publisher)
    if clash:
        raise ValueError(f"publisher templates reuse trusted names: {sorted(clash)}")
    return {**trusted, **publisher}
