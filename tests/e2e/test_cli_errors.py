"""CLI errors a newcomer meets are one line that says what to do, never a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import processes_with_home

_REPO = Path(__file__).resolve().parents[2]


# While its provider starts (seconds long), and once the provider answers and the job is under
# way (the demo then stops its provider itself).
@pytest.mark.parametrize("interrupt_at", ["[1/6]", "[4/6]"])
def test_ctrl_c_in_the_demo_is_one_line_and_cleans_up(interrupt_at: str) -> None:
    # A suite started in the background (a non-interactive shell's `&`) has SIGINT ignored,
    # and an ignored signal stays ignored across exec: the demo would never see the Ctrl-C. A
    # handler is reset to the default by exec, so the demo starts as from a terminal.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        demo = subprocess.Popen(
            [sys.executable, "-m", "provider.cli", "demo"],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=_REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a process group of its own, as a shell's foreground job
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert demo.stdout is not None and demo.stderr is not None
    workdir = None
    lines = []
    for line in demo.stdout:
        lines.append(line)
        found = re.search(r"C2D_HOME=(\S+)/home\)", line)
        if found:
            workdir = Path(found[1])
        if line.startswith(interrupt_at):
            break
    assert workdir is not None and workdir.exists(), lines
    # Ctrl-C at a terminal signals the whole foreground group: the demo and its provider.
    os.killpg(demo.pid, signal.SIGINT)
    rest, errors = demo.communicate(timeout=120)
    assert demo.returncode == 130, (lines, rest, errors)
    assert "Traceback" not in errors
    assert errors.strip() == "c2d: demo interrupted (Ctrl-C)"
    # Its provider was stopped and its temporary home removed on the way out.
    assert not workdir.exists()
    # Nothing of its provider is left running: the helper too had stopped when the demo ended
    # (``c2d serve`` ended at uvicorn's re-raised SIGTERM while its helper still shut down).
    assert not processes_with_home(workdir / "home")
