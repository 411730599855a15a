"""The local engine's submit: a job whose spec cannot be stored is refused without a trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_core import PydanticSerializationError

from tests.workflows.engine_support import local_engine, sandboxed_spec
from workflows.engines.base import JobNotFound


def test_a_spec_that_cannot_be_written_is_refused_and_leaves_no_folder(tmp_path: Path) -> None:
    engine = local_engine(tmp_path)
    try:
        # A lone surrogate cannot be encoded as UTF-8: the spec file cannot be written.
        spec = sandboxed_spec("print(1)").model_copy(update={"metadata": {"note": "\ud800"}})
        with pytest.raises(PydanticSerializationError):
            engine.submit(spec)
        assert not (tmp_path / "jobs" / spec.job_id).exists()
        with pytest.raises(JobNotFound):
            engine.get(spec.job_id)
    finally:
        engine.close()
