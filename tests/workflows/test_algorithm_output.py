"""The algorithm Pod's command run by a real shell: the log file, live stdout, the exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.workflows.support import algorithm_pod, raw_spec, workflow_dict
from workflows import contract


def _run(tmp_path: Path, code: str) -> tuple[subprocess.CompletedProcess[str], str]:
    (container,) = algorithm_pod(workflow_dict(raw_spec()))["spec"]["containers"]
    shell, flag, script, name = container["command"][:4]
    log = tmp_path / "algorithm.log"
    script = script.replace(contract.ALGORITHM_LOG, str(log))
    done = subprocess.run(
        [shell, flag, script, name, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    return done, log.read_text()


def test_output_goes_to_the_log_file_and_the_exit_code_is_the_algorithms(
    tmp_path: Path,
) -> None:
    done, log = _run(tmp_path, "import sys; print('to out'); print('to err', file=sys.stderr)")
    assert done.returncode == 0
    assert "to out" in log and "to err" in log
    failed, log = _run(tmp_path, "import sys; print('failing', flush=True); sys.exit(7)")
    assert failed.returncode == 7 and "failing" in log


def test_output_is_echoed_to_stdout_while_the_algorithm_runs(tmp_path: Path) -> None:
    done, _ = _run(tmp_path, "import time; print('tick', flush=True); time.sleep(1.5)")
    assert "tick" in done.stdout


def test_the_log_exists_before_tail_follows_it(tmp_path: Path) -> None:
    # A tail started before the log exists ends at once and echoes nothing: a `tail` first on
    # PATH records whether the log was there when it started.
    log = tmp_path / "algorithm.log"
    seen = tmp_path / "seen"
    (shell, flag, script, name), env = _with_fake_tail(
        tmp_path, log, f'[ -e "{log}" ] && echo yes >>"{seen}" || echo no >>"{seen}"'
    )
    # The algorithm's own open of the log is made slow by a busy parent: run it several times.
    for _ in range(10):
        log.unlink(missing_ok=True)
        subprocess.run(
            [shell, flag, script, name, sys.executable, "-c", "pass"],
            env=env,
            stdout=subprocess.PIPE,  # someone reads stdout: tail is started
            timeout=60,
        )
    assert seen.read_text().split() == ["yes"] * 10


def test_no_tail_when_nothing_reads_stdout(tmp_path: Path) -> None:
    """The local sandbox points the shell's stdout at /dev/null: no tail is started there (it
    would echo into nothing); a pipe, as a pod's container runtime reads, gets one."""
    log = tmp_path / "algorithm.log"
    started = tmp_path / "started"
    (pod_shell, flag, script, name), env = _with_fake_tail(
        tmp_path, log, f'echo tail >>"{started}"'
    )
    code = "import sys; print('out'); sys.exit(5)"
    for shell_path in (pod_shell, "/bin/bash", "/bin/dash"):
        if not Path(shell_path).exists():
            continue
        argv = [shell_path, flag, script, name, sys.executable, "-c", code]
        quiet = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, timeout=60)
        assert quiet.returncode == 5 and "out" in log.read_text()
        assert not started.exists(), shell_path
        read = subprocess.run(argv, env=env, stdout=subprocess.PIPE, timeout=60)
        assert read.returncode == 5
        assert started.read_text() == "tail\n", shell_path
        started.unlink()


def test_a_child_left_behind_does_not_keep_the_step_alive(tmp_path: Path) -> None:
    (container,) = algorithm_pod(workflow_dict(raw_spec()))["spec"]["containers"]
    shell, flag, script, name = container["command"][:4]
    script = script.replace(contract.ALGORITHM_LOG, str(tmp_path / "algorithm.log"))
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(300)\nprint('parent done')"
    step = subprocess.Popen(
        [shell, flag, script, name, sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The shell ends with the algorithm; in a pod (or the sandbox) the child dies with it.
        assert step.wait(timeout=60) == 0
    finally:
        os.killpg(step.pid, signal.SIGKILL)
    assert "parent done" in (tmp_path / "algorithm.log").read_text()


def _with_fake_tail(
    tmp_path: Path, log: Path, tail_script: str
) -> tuple[tuple[str, str, str, str], dict[str, str]]:
    """The pod's shell, flag, script (its log at ``log``) and name; an environment whose PATH
    finds a ``tail`` that runs ``tail_script`` first."""
    (container,) = algorithm_pod(workflow_dict(raw_spec()))["spec"]["containers"]
    shell, flag, script, name = container["command"][:4]
    wrappers = tmp_path / "bin"
    wrappers.mkdir()
    tail = wrappers / "tail"
    tail.write_text(f"#!/bin/sh\n{tail_script}\n")
    tail.chmod(0o755)
    env = {**os.environ, "PATH": f"{wrappers}:{os.environ['PATH']}"}
    return (shell, flag, script.replace(contract.ALGORITHM_LOG, str(log)), name), env
