"""A raw-code job spec and a local engine on a temporary home, for tests driving the engine."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from workflows.engines.local.engine import LocalEngine
from workflows.engines.local.runtime import Runtime
from workflows.spec import AlgorithmSpec, Container, JobSpec, Limits

__all__ = ["local_engine", "sandboxed_spec"]


def sandboxed_spec(
    code: str, *, wait: int = 0, created_at: int | None = None, max_job_duration: int = 300
) -> JobSpec:
    """A job running ``code`` with python3 on the "free" environment, small limits."""
    return JobSpec(
        job_id=uuid.uuid4().hex,
        owner="0x" + "ab" * 20,
        environment="free",
        created_at=int(time.time()) if created_at is None else created_at,
        inputs=(),
        algorithm=AlgorithmSpec(
            container=Container(entrypoint="python3 $ALGO", image="python", tag="3.11"),
            rawcode=code,
        ),
        limits=Limits(
            cpus=1,
            memory_bytes=256 * 2**20,
            disk_bytes=64 * 2**20,
            max_job_duration=max_job_duration,
            max_download_bytes=64 * 2**20,
        ),
        queue_max_wait_time=wait,
    )


def local_engine(home: Path, **options: Any) -> LocalEngine:
    """A local engine keeping everything under ``home``, python:3.11 on "free"."""
    return LocalEngine(
        jobs_dir=home / "jobs",
        results_dir=home / "results",
        db_path=home / "state" / "jobs.sqlite",
        runtimes={"free": {"python:3.11": Runtime()}},
        **options,
    )
