"""The local engine's hardening pieces without a sandbox: seccomp filter and argv, the disk quota
outcome, and the mount table reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.workflows.support import raw_spec
from workflows.engines.local import outcomes, quota, seccomp
from workflows.engines.local.launcher import StepExit
from workflows.engines.local.store import JobRecord
from workflows.status import JobStatus


def _after(exit: StepExit) -> dict[str, Any]:
    return outcomes.after("algorithm", exit, JobRecord(spec=raw_spec(), status=40), "", 0)


def test_a_failing_algorithm_on_a_full_disk_is_42() -> None:
    changes = _after(StepExit(1, disk_full=True))
    assert changes["failure"] == JobStatus.DISK_QUOTA_EXCEEDED
    assert "disk quota exceeded" in changes["reason"]


def test_a_full_disk_does_not_hide_a_deadline_or_an_oom_or_a_success() -> None:
    assert _after(StepExit(137, timed_out=True, disk_full=True))["failure"] == 41
    assert _after(StepExit(137, oom_killed=True, disk_full=True))["oom_killed"] is True
    assert "failure" not in _after(StepExit(0, disk_full=True))


def test_the_filter_compiles_and_lists_the_dangerous_calls() -> None:
    program = seccomp.filter_bpf()
    # BPF instructions are 8 bytes; a real filter has many.
    assert len(program) % 8 == 0 and len(program) > 400
    for name in ("ptrace", "mount", "unshare", "setns", "keyctl", "bpf", "perf_event_open"):
        assert name in seccomp.BLOCKED_SYSCALLS
    with open(seccomp.filter_fd(), "rb") as handle:
        assert handle.read() == program


def test_mount_table_paths_are_unescaped_and_deepest_first(tmp_path: Path) -> None:
    assert quota._unescape(r"/a\040b/c") == "/a b/c"
    assert quota.mounts_under(tmp_path / "nothing-mounted") == []
