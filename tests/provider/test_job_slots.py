"""Without a config file or C2D_MAX_CONCURRENT_JOBS, an environment runs three jobs per CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provider.api.routes.environments import render_environment
from provider.engine_factory import _slots
from provider.environments import default_config
from provider.settings import load_settings


def test_the_default_environment_runs_three_jobs_per_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("C2D_MAX_CONCURRENT_JOBS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    (free,) = default_config(tmp_path).environments
    settings = load_settings()
    assert _slots(free, settings) == 15
    # What clients are told matches what runs: one more free job than this gets 409.
    body = render_environment(free, "0x" + "ab" * 20)
    assert body["maxJobs"] == 15 and body["free"]["maxJobs"] == 15


def test_the_setting_still_caps_the_default_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2D_MAX_CONCURRENT_JOBS", "2")
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    (free,) = default_config(tmp_path).environments
    assert _slots(free, load_settings()) == 2
