"""Golden file of the YAML that ``build_workflow`` emits for one fixed spec.

A change to the DAG shows up as a diff of ``golden/raw_job.yaml`` in review. After an intended
change, regenerate the file and review the diff:

    C2D_UPDATE_GOLDEN=1 .venv/bin/pytest tests/workflows/test_dag_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.workflows.support import raw_spec
from workflows.dag import StepImages, build_workflow

GOLDEN = Path(__file__).parent / "golden" / "raw_job.yaml"


def test_raw_job_matches_the_golden_file() -> None:
    text = build_workflow(raw_spec(), StepImages()).to_yaml()
    if os.environ.get("C2D_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
        return
    assert GOLDEN.is_file(), "no golden file yet: run with C2D_UPDATE_GOLDEN=1"
    assert text == GOLDEN.read_text(), "the Workflow changed: see the module docstring"
