"""The sandbox's stderr pipe: drained into the job's own file, capped, never blocking a writer."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from workflows.engines.local.drain import StderrDrain


def _write_through(drain: StderrDrain, data: bytes) -> None:
    # A child process writes, as the stage layer and bwrap do; then every writer has gone.
    child = subprocess.Popen(
        ["python3", "-c", "import sys; sys.stderr.buffer.write(sys.stdin.buffer.read())"],
        stdin=subprocess.PIPE,
        stderr=drain.write_fd,
    )
    drain.close_write_end()
    child.communicate(data)
    drain.join(30)


def test_messages_land_in_the_jobs_file(tmp_path: Path) -> None:
    dest = tmp_path / "sandbox.stderr"
    drain = StderrDrain(dest, "job-1")
    _write_through(drain, b"bwrap: Can't mount proc on /newroot/proc\n")
    assert dest.read_bytes() == b"bwrap: Can't mount proc on /newroot/proc\n"
    assert dest.stat().st_mode & 0o777 == 0o600


def test_more_than_the_cap_is_read_and_dropped(tmp_path: Path) -> None:
    dest = tmp_path / "sandbox.stderr"
    drain = StderrDrain(dest, "job-1", cap=1000)
    # Far more than a pipe holds: the writer ends only because the drain keeps reading.
    _write_through(drain, b"x" * 1_000_000)
    kept = dest.read_bytes()
    assert kept.startswith(b"x" * 1000) and b"[truncated: more than 1000 bytes]" in kept
    assert len(kept) < 1100


def test_a_link_planted_at_the_file_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"")
    (tmp_path / "sandbox.stderr").symlink_to(target)
    drain = StderrDrain(tmp_path / "sandbox.stderr", "job-1")
    _write_through(drain, b"message\n")
    assert target.read_bytes() == b""


def test_without_a_job_folder_the_engine_log_gets_it(caplog: pytest.LogCaptureFixture) -> None:
    drain = StderrDrain(None, "job-2")
    with caplog.at_level(logging.WARNING, "c2d.engine"):
        _write_through(drain, b"stage: no command\n")
    assert "sandbox stderr of job-2: stage: no command" in caplog.text
