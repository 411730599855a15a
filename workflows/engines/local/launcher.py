"""Start one planned step as a process, wait for it under a deadline, kill its whole tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workflows import contract
from workflows.engines.local.cgroups import CgroupLimits, Cgroups, JobCgroup
from workflows.engines.local.dispatcher import StepPlan
from workflows.engines.local.drain import StderrDrain
from workflows.engines.local.quota import DiskQuotas, QuotaMount
from workflows.engines.local.runtime import Runtime
from workflows.engines.local.sandbox import (
    SandboxLimits,
    algorithm_command,
    cpu_seconds,
    trusted_step_command,
)
from workflows.engines.local.sandbox_failure import SANDBOX_STDERR
from workflows.engines.local.seccomp import SeccompUnavailable, filter_bpf
from workflows.engines.local.stepserver import ForkedStep, StepServer, open_for_append, step_module
from workflows.spec import Limits

__all__ = ["Launcher", "RunningStep", "StepExit"]

# Trusted steps bound their own network waits; this only catches a step that hangs anyway.
_TRUSTED_STEP_DEADLINE = 6 * 3600
# Once the step's processes are dead its stderr pipe closes at once; this only bounds the wait.
_DRAIN_WAIT = 10.0


@dataclass(frozen=True)
class StepExit:
    exit_code: int
    timed_out: bool = False
    stopped: bool = False
    oom_killed: bool = False
    disk_full: bool = False

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.stopped)


class RunningStep:
    def __init__(
        self,
        process: subprocess.Popen[bytes] | ForkedStep,
        cgroup: JobCgroup | None,
        quota: QuotaMount | None = None,
        stderr: StderrDrain | None = None,
    ) -> None:
        self._process = process
        self._cgroup = cgroup
        self._quota = quota
        self._stderr = stderr
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Kill the step and everything it started; wait() then reports ``stopped``."""
        self._stopped.set()
        self._kill()

    def _kill(self) -> None:
        if isinstance(self._process, ForkedStep):
            self._process.kill()
        else:
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
        if self._stderr is not None:
            self._stderr.join(_DRAIN_WAIT)
        # A negative code is a signal to our direct child; report it the way a shell would.
        exit_code = code if code >= 0 else 128 - code
        disk_full = self._quota.full() if self._quota is not None else False
        return StepExit(exit_code, timed_out, self._stopped.is_set(), oom, disk_full)


class Launcher:
    def __init__(
        self,
        *,
        tools: Mapping[str, str],
        cgroups: Cgroups | None,
        python: str,
        log_dir: Path,
        quotas: DiskQuotas | None = None,
        seccomp: bool = True,
        step_env: Mapping[str, str] | None = None,
        step_server: StepServer | None = None,
        stage_server: StepServer | None = None,
    ) -> None:
        """``step_env``: operator settings for the trusted steps (e.g. ``C2D_SOURCE_NETWORKS``);
        ``step_server``: forks the trusted steps from a pre-started helper (else one process
        each); ``stage_server``: the same for the algorithm's stage layer (``stage.py``)."""
        self._step_env = dict(step_env or {})
        self._step_server = step_server
        self._stage_server = stage_server
        self._tools = tools
        self._cgroups = cgroups
        self._python = python
        self._log_dir = log_dir
        self._quotas = quotas
        self._seccomp = seccomp and _seccomp_available()

    def describe(self) -> str:
        """The active mechanisms, one line (logged when the provider starts)."""
        limits = self._cgroups.describe() if self._cgroups else "rlimits only (no cgroups)"
        disk = self._quotas.describe() if self._quotas else "per-file rlimit only (no loop devices)"
        syscalls = "seccomp filter" if self._seccomp else "no seccomp filter (libseccomp missing)"
        return (
            f"bubblewrap, no network, uid {contract.ALGORITHM_UID}, {syscalls},"
            f" limits: {limits} + rlimits, disk: {disk}"
        )

    def release(self, work_dir: Path) -> None:
        """Free what a job's algorithm held on the host (its disk quota mounts)."""
        if self._quotas is not None:
            self._quotas.release(work_dir)

    def close(self) -> None:
        """Delete the spare quota images and stop the step server."""
        if self._quotas is not None:
            self._quotas.close()
        for server in (self._step_server, self._stage_server):
            if server is not None:
                server.close()

    @property
    def deadline_for_trusted_steps(self) -> int:
        return _TRUSTED_STEP_DEADLINE

    def start_trusted(self, plan: StepPlan, stderr: Path) -> RunningStep:
        argv, env = trusted_step_command(plan, self._python, self._step_env)
        fd = open_for_append(stderr)
        try:
            return RunningStep(_spawn(self._step_server, plan.argv, argv, env, fd), None)
        finally:
            os.close(fd)

    def start_algorithm(
        self,
        plan: StepPlan,
        runtime: Runtime,
        limits: Limits,
        group_name: str,
        work_dir: Path | None = None,
    ) -> RunningStep:
        quota = self._attach_quota(plan, limits, work_dir)
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
            plan,
            runtime,
            sandbox_limits,
            cgroup.procs_files if cgroup else [],
            self._tools,
            self._python,
            seccomp=self._seccomp,
        )
        # The stage layer sends its stdout (the sandbox's) to /dev/null before it executes bwrap;
        # its stderr, bwrap's and so the sandbox's pid 1's and shell's is a pipe (see drain.py).
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        # The job's own folder: the runner reads the file for a sandbox that did not start.
        job_dir = work_dir if work_dir is not None else self._job_dir(plan)
        drain = StderrDrain(job_dir / SANDBOX_STDERR if job_dir else None, group_name)
        try:
            process = _spawn(self._stage_server, argv, argv, env, drain.write_fd)
        finally:
            drain.close_write_end()
        return RunningStep(process, cgroup, quota, drain)

    def _job_dir(self, plan: StepPlan) -> Path | None:
        """The job's own folder under the engine's (its volumes live there), if any."""
        for mount in plan.mounts:
            if mount.source is not None and mount.source.is_relative_to(self._log_dir):
                relative = mount.source.relative_to(self._log_dir)
                if relative.parts:
                    return self._log_dir / relative.parts[0]
        return None

    def _attach_quota(
        self, plan: StepPlan, limits: Limits, work_dir: Path | None
    ) -> QuotaMount | None:
        if self._quotas is None or work_dir is None:
            return None
        sources = {m.target: m.source for m in plan.mounts if m.source is not None}
        outputs, logs = sources.get(contract.OUTPUTS), sources.get(contract.LOGS)
        if outputs is None or logs is None:
            return None
        return self._quotas.attach(work_dir, outputs, logs, limits.disk_bytes)


def _spawn(
    server: StepServer | None,
    module_argv: Sequence[str],
    argv: list[str],
    env: dict[str, str],
    stderr: int,
) -> subprocess.Popen[bytes] | ForkedStep:
    """Start ``argv``: forked from ``server`` when ``module_argv`` is ``python -m`` of a module
    it has preloaded (no Python start-up), else as a new process; either way in a session of
    its own, with exactly ``env``, stdout and stderr on the descriptor ``stderr`` (the caller
    still owns it), nothing else inherited."""
    module = step_module(module_argv, server.modules) if server is not None else None
    if server is not None and module is not None:
        return server.start(module[0], module[1], env, stderr)
    return subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stderr,
        stderr=stderr,
        start_new_session=True,
        cwd="/",
    )


def _seccomp_available() -> bool:
    try:
        filter_bpf()
    except SeccompUnavailable:
        return False
    return True
