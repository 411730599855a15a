"""The local engine driven directly (real bubblewrap, real steps): listeners and restarts."""

from __future__ import annotations

import asyncio
import io
import tarfile
import threading
from pathlib import Path

import pytest

from tests.workflows.engine_support import local_engine, sandboxed_spec
from workflows.engines.base import JobState, Unsupported
from workflows.engines.local import mounts
from workflows.engines.local.engine import LocalEngine
from workflows.engines.local.quota import DiskQuotas
from workflows.spec import JobSpec
from workflows.status import JobStatus


def _spec(code: str) -> JobSpec:
    return sandboxed_spec(code, max_job_duration=30)


def test_finish_listeners_get_the_final_state(tmp_path: Path) -> None:
    engine = local_engine(tmp_path)
    finished: list[JobState] = []
    done = threading.Event()

    def listener(state: JobState) -> None:
        finished.append(state)
        done.set()

    def broken_listener(state: JobState) -> None:
        raise RuntimeError("a listener bug must not break the job")

    engine.on_finished(broken_listener)
    engine.on_finished(listener)
    try:
        spec = _spec("print('hello')")
        engine.submit(spec)
        assert done.wait(30)
        (state,) = finished
        assert state.spec.job_id == spec.job_id
        assert state.status == JobStatus.FINISHED
        assert {r.type for r in state.results} >= {"algorithmLog", "output"}
        assert engine.get(spec.job_id).status == JobStatus.FINISHED
    finally:
        engine.close()


def test_network_access_is_refused_at_submit_not_silently_dropped(tmp_path: Path) -> None:
    engine = local_engine(tmp_path)
    try:
        engine.check(_spec("print(1)"))
        spec = _spec("print(1)").model_copy(update={"network": True})
        with pytest.raises(Unsupported, match="network"):
            engine.check(spec)
        with pytest.raises(Unsupported, match="network"):
            engine.submit(spec)
        assert engine.list_for_owner(spec.owner) == []
    finally:
        engine.close()


def _mount_points_under(folder: Path) -> list[str]:
    """What the host's mount table (this process's view) has at or below ``folder``."""
    base = str(folder.resolve())
    points = [line.split(" ")[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [p for p in points if p == base or p.startswith(base + "/")]


def _result(engine: LocalEngine, state: JobState, kind: str) -> bytes:
    (file,) = [f for f in state.results if f.type == kind]
    return engine.result(state.spec.job_id, file.index).path.read_bytes()


async def _first_chunk(engine: LocalEngine, job_id: str) -> bytes:
    async for chunk in engine.algorithm_log(job_id):
        return chunk
    return b""


@pytest.mark.skipif(DiskQuotas.detect() is None, reason="no loop devices: no disk quota mounts")
def test_a_stop_mid_algorithm_leaves_no_mount_and_the_restart_publishes_its_disk(
    tmp_path: Path,
) -> None:
    code = (
        "import os, time\n"
        "open(os.path.join(os.environ['OUTPUTS'], 'partial'), 'w').write('kept')\n"
        "print('ready', flush=True)\n"
        "time.sleep(300)\n"
    )
    spec = sandboxed_spec(code)
    job_dir = tmp_path / "jobs" / spec.job_id
    try:
        _stop_then_restart(tmp_path, spec, job_dir)
    finally:
        # Should the test fail, the mounts it found do not outlive it.
        for point in _mount_points_under(job_dir)[::-1]:
            mounts.umount(point, detach=True)


def _stop_then_restart(tmp_path: Path, spec: JobSpec, job_dir: Path) -> None:
    first = local_engine(tmp_path)
    try:
        first.submit(spec)
        assert b"ready" in asyncio.run(_first_chunk(first, spec.job_id))
        assert _mount_points_under(job_dir)  # the algorithm writes on its own disk
    finally:
        first.close()  # the provider stops with the algorithm running
    # Stopped, and maybe never started again: nothing of the job stays mounted on the host.
    assert _mount_points_under(job_dir) == []

    finished = threading.Event()
    second = local_engine(tmp_path)
    second.on_finished(lambda state: finished.set())
    try:
        assert finished.wait(60)
        state = second.get(spec.job_id)
        assert state.status == JobStatus.ALGORITHM_FAILED
        assert "restart" in state.reason
        # What the algorithm wrote before the stop is what the restarted provider published.
        assert b"ready" in _result(second, state, "algorithmLog")
        with tarfile.open(fileobj=io.BytesIO(_result(second, state, "output"))) as tar:
            member = tar.extractfile("partial")
            assert member is not None and member.read() == b"kept"
        assert _mount_points_under(job_dir) == []
    finally:
        second.close()


def test_a_restart_removes_the_working_folder_a_finished_job_left(tmp_path: Path) -> None:
    """The end is saved before the folder goes: a provider killed in between leaves the folder
    (maybe with its disk mounted) of a finished job, which the next start removes."""
    done = threading.Event()
    first = local_engine(tmp_path)
    first.on_finished(lambda state: done.set())
    try:
        spec = _spec("print('hello')")
        first.submit(spec)
        assert done.wait(30)
    finally:
        first.close()
    job_dir = tmp_path / "jobs" / spec.job_id
    assert not job_dir.exists()
    # What a kill between "saved finished" and "folder removed" leaves behind.
    (job_dir / "disk").mkdir(parents=True)
    (job_dir / "left").write_text("data of the job")
    mounts.mount(str(tmp_path / "results"), job_dir / "disk", None, mounts.MS_BIND)
    unrelated = tmp_path / "jobs" / "not-a-known-job"
    unrelated.mkdir()
    try:
        second = local_engine(tmp_path)
        second.close()
        assert _mount_points_under(job_dir) == []
        assert not job_dir.exists()
        assert unrelated.is_dir()  # only folders of jobs the store knows as finished go
        assert (tmp_path / "results" / spec.job_id).is_dir()  # the results are kept
    finally:
        for point in _mount_points_under(job_dir)[::-1]:
            mounts.umount(point, detach=True)
