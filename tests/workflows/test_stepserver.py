"""The step server: steps forked from a pre-started helper behave as ``python -m steps.X``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflows.contract import PATH_MAP_ENV
from workflows.engines.local.launcher import RunningStep
from workflows.engines.local.stepserver import StepServer, step_module

ROOT = str(Path(__file__).resolve().parents[2])
PROBE = "tests.workflows.stepserver_probe"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StepServer]:
    served = StepServer(
        log_file=tmp_path / "helper.stderr",
        modules=("steps.configure", "steps.publish", PROBE),
        python_path=ROOT,
    )
    yield served
    served.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(condition: object, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_only_python_dash_m_of_a_served_step_goes_to_the_server() -> None:
    assert step_module(["python", "-m", "steps.configure"]) == ("steps.configure", [])
    assert step_module(["/usr/bin/python3", "-m", "steps.publish", "x"]) == ("steps.publish", ["x"])
    assert step_module(["python", "-m", "os"]) is None
    assert step_module(["sh", "-c", "steps.configure"]) is None


@pytest.mark.parametrize(
    ("args", "code"), [(["exit", "0"], 0), (["exit", "42"], 42), (["raise"], 1)]
)
def test_exit_codes_are_the_interpreters(
    server: StepServer, tmp_path: Path, args: list[str], code: int
) -> None:
    step = server.start(PROBE, args, {"PATH": "/usr/bin:/bin"}, tmp_path / "err")
    assert step.wait(60) == code
    direct = subprocess.run(
        [sys.executable, "-m", PROBE, *args], env={"PYTHONPATH": ROOT}, capture_output=True
    )
    assert direct.returncode == code
    if args == ["raise"]:
        assert "RuntimeError: the probe fails" in (tmp_path / "err").read_text()


def test_a_real_step_fails_the_same_way_as_its_own_process(
    server: StepServer, tmp_path: Path
) -> None:
    env = {"PATH": "/usr/bin:/bin", PATH_MAP_ENV: "not json"}
    forked = server.start("steps.configure", [], env, tmp_path / "err").wait(60)
    direct = subprocess.run([sys.executable, "-m", "steps.configure"], env=env, check=False)
    assert forked == direct.returncode != 0


def test_a_step_sees_only_its_env_and_fds_in_its_own_process_group(
    server: StepServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2D_PROVIDER_PRIVATE_KEY", "0x" + "11" * 32)
    leak = os.open(tmp_path / "provider-secret", os.O_CREAT | os.O_RDWR)  # inheritable on purpose
    os.set_inheritable(leak, True)
    try:
        env = {"PATH": "/usr/bin:/bin", "ONLY": "this"}
        assert server.start(PROBE, ["report"], env, tmp_path / "out").wait(60) == 0
    finally:
        os.close(leak)
    report = json.loads((tmp_path / "out").read_text())
    assert report["env"] == env
    assert report["fds"] == [0, 1, 2]
    assert report["pgid"] == report["pid"]
    assert report["cwd"] == "/"
    helper_env = Path(f"/proc/{server.helper_pid}/environ").read_bytes()
    assert b"PRIVATE_KEY" not in helper_env


def test_stop_kills_the_step_and_reports_it_as_killed(server: StepServer, tmp_path: Path) -> None:
    running = RunningStep(server.start(PROBE, ["sleep"], {}, tmp_path / "err"), None)
    assert _wait_until(lambda: (tmp_path / "err").read_text().strip())
    pid = int((tmp_path / "err").read_text())
    running.stop()
    exit = running.wait(60)
    assert exit.stopped and exit.exit_code == 128 + signal.SIGKILL
    assert not _alive(pid)


def test_a_deadline_kills_the_step(server: StepServer, tmp_path: Path) -> None:
    exit = RunningStep(server.start(PROBE, ["sleep"], {}, tmp_path / "err"), None).wait(0.5)
    assert exit.timed_out and not exit.succeeded


def test_a_dead_helper_fails_its_steps_and_is_started_again(
    server: StepServer, tmp_path: Path
) -> None:
    step = server.start(PROBE, ["sleep"], {}, tmp_path / "err")
    assert _wait_until(lambda: (tmp_path / "err").read_text().strip())
    pid = int((tmp_path / "err").read_text())
    first_helper = server.helper_pid
    os.kill(first_helper, signal.SIGKILL)
    assert step.wait(60) == -signal.SIGKILL
    assert _wait_until(lambda: not _alive(pid))
    assert server.start(PROBE, ["exit", "3"], {}, tmp_path / "err2").wait(60) == 3
    assert server.helper_pid != first_helper


_OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from workflows.engines.local.stepserver import StepServer
    err = Path(sys.argv[1])
    server = StepServer(modules=("{probe}",), python_path="{root}")
    server.start("{probe}", ["sleep"], {{}}, err)
    while not err.exists() or not err.read_text().strip():
        time.sleep(0.02)
    print(server.helper_pid, err.read_text().strip(), flush=True)
    time.sleep(600)
    """
)


def test_steps_and_helper_die_with_the_provider(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER.format(probe=PROBE, root=ROOT), str(tmp_path / "err")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert owner.stdout is not None
        helper, step = (int(pid) for pid in owner.stdout.readline().split())
        assert _alive(helper) and _alive(step)
    finally:
        owner.kill()
        owner.wait()
    assert _wait_until(lambda: not _alive(helper) and not _alive(step))
