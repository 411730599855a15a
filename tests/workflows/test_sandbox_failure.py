"""The sandbox's own error line, read from a job's folder: its last tool line, capped, never
through a link."""

from __future__ import annotations

import os
from pathlib import Path

from workflows.engines.local.sandbox_failure import SANDBOX_STDERR, sandbox_failure


def test_the_last_line_of_the_sandboxs_tools_is_the_reason(tmp_path: Path) -> None:
    (tmp_path / SANDBOX_STDERR).write_text(
        "bwrap: first problem\nsome other noise\nbwrap: Can't find source path /opt/x\n"
    )
    assert sandbox_failure(tmp_path) == "bwrap: Can't find source path /opt/x"


def test_nothing_from_the_tools_no_file_or_a_link_is_no_reason(tmp_path: Path) -> None:
    assert sandbox_failure(tmp_path) == ""
    (tmp_path / SANDBOX_STDERR).write_text("Traceback...\nValueError: x\n")
    assert sandbox_failure(tmp_path) == ""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("bwrap: from a file the job does not own\n")
    (tmp_path / SANDBOX_STDERR).unlink()
    os.symlink(elsewhere, tmp_path / SANDBOX_STDERR)
    assert sandbox_failure(tmp_path) == ""


def test_a_huge_file_is_read_from_its_end_and_the_reason_is_capped(tmp_path: Path) -> None:
    with (tmp_path / SANDBOX_STDERR).open("w") as out:
        out.write("bwrap: old\n" * 100_000)
        out.write("bwrap: " + "x" * 1000 + "\n")
    reason = sandbox_failure(tmp_path)
    assert reason.startswith("bwrap: xxx") and len(reason) == 300
