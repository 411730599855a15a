"""``start_server``: a Ctrl-C while the provider starts never leaves it running."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devkit import launch


def _interrupt_once_started(started: list[subprocess.Popen[bytes]]) -> type:
    class InterruptedPopen(subprocess.Popen[bytes]):
        """The Ctrl-C lands just after the fork, before Popen has returned the handle."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)
            os.kill(os.getpid(), signal.SIGINT)
            signal.getsignal(signal.SIGINT)  # a Python call: a pending handler runs here

    return InterruptedPopen


def test_ctrl_c_just_after_the_fork_stops_the_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[subprocess.Popen[bytes]] = []
    monkeypatch.setattr(launch.subprocess, "Popen", _interrupt_once_started(started))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            launch.start_server(tmp_path / "home")
    finally:
        signal.signal(signal.SIGINT, previous)
    [provider] = started
    # Stopped and waited for, not left to run on a home its caller is about to remove.
    assert provider.returncode is not None
    # The Ctrl-C handler the caller had is back.
    assert signal.getsignal(signal.SIGINT) is previous
