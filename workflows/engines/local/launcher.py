"""Start one planned step as a process, wait for it under a deadline, kill its whole tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workflows.engines.local.cgroups import CgroupLimits, Cgroups, JobCgroup
from workflows.engines.local.dispatcher import StepPlan
from workflows.engines.local.runtime import Runtime
from workflows.engines.local.sandbox import (
    SandboxLimits,
    algorithm_command,
    cpu_seconds,
    trusted_step_command,
)
from workflows.spec import Limits

__all__ = ["Launcher", "RunningStep", "StepExit"]

# Trusted steps bound their own network waits; this only catches a step that hangs anyway.
_TRUSTED_STEP_DEADLINE = 6 * 3600


@dataclass(frozen=True)
class StepExit:
    exit_code: int
    timed_out: bool = False
    stopped: bool = False
    oom_killed: bool = False

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.stopped)


class RunningStep:
    def __init__(self, process: subprocess.Popen[bytes], cgroup: JobCgroup | None) -> None:
        self._process = process
        self._cgroup = cgroup
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Kill the step and everything it started; wait() then reports ``stopped``."""
        self._stopped.set()
        self._kill()

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        if self._cgroup is not None:
            self._cgroup.kill_all()

    def wait(self, deadline_seconds: float | None) -> StepExit:
        timed_out = False
        try:
            code = self._process.wait(timeout=deadline_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill()
            code = self._process.wait()
        if self._cgroup is not None:
            # Whatever the algorithm left behind (daemonised children) dies with it.
            self._cgroup.kill_all()
        oom = self._cgroup.oom_killed() if self._cgroup is not None else False
        if self._cgroup is not None:
            self._cgroup.remove()
        # A negative code is a signal to our direct child; report it the way a shell would.
        exit_code = code if code >= 0 else 128 - code
        return StepExit(exit_code, timed_out, self._stopped.is_set(), oom)


class Launcher:
    def __init__(
        self, *, tools: Mapping[str, str], cgroups: Cgroups | None, python: str, log_dir: Path
    ) -> None:
        self._tools = tools
        self._cgroups = cgroups
        self._python = python
        self._log_dir = log_dir

    @property
    def deadline_for_trusted_steps(self) -> int:
        return _TRUSTED_STEP_DEADLINE

    def start_trusted(self, plan: StepPlan, stderr: Path) -> RunningStep:
        argv, env = trusted_step_command(plan, self._python)
        with stderr.open("ab") as err:
            process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
                cwd="/",
            )
        return RunningStep(process, None)

    def start_algorithm(
        self, plan: StepPlan, runtime: Runtime, limits: Limits, group_name: str
    ) -> RunningStep:
        cgroup = None
        if self._cgroups is not None:
            cgroup = self._cgroups.create(
                group_name,
                CgroupLimits(
                    memory_bytes=plan.memory_bytes or limits.memory_bytes,
                    max_processes=limits.max_processes,
                    cpus=plan.cpus or limits.cpus,
                ),
            )
        sandbox_limits = SandboxLimits(
            cpu_seconds=cpu_seconds(limits.max_job_duration, limits.cpus),
            file_size_bytes=limits.disk_bytes,
            address_space_bytes=None if cgroup else limits.memory_bytes + 2**30,
        )
        argv = algorithm_command(
            plan, runtime, sandbox_limits, cgroup.procs_files if cgroup else [], self._tools
        )
        process = subprocess.Popen(
            argv,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self._log_dir / "sandbox.stderr").open("ab"),
            start_new_session=True,
            cwd="/",
        )
        return RunningStep(process, cgroup)
